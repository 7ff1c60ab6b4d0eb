"""The ASGI app serving every example saga at /restate/v1, and the simulated services' ledger.

    hypercorn examples.app:app --bind 0.0.0.0:9080
    restate deployments register http://localhost:9080/restate/v1

GET /ledger lists the side effects the simulated services applied, in order, as JSON;
GET /ledger?invocation=<id> only those caused by one saga invocation (its steps and compensations).
RESTATE_IDENTITY_KEYS=publickeyv1_... makes the app refuse requests not signed by restate-server.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import asdict
from typing import Any
from urllib.parse import parse_qs

import restate

from examples import external
from examples.approval import purchase_approval
from examples.cart import shopping_cart
from examples.checkout import checkout_workflow
from examples.checkout_pipeline import CheckoutPipeline
from examples.orders import order_workflow, payment_workflow
from examples.travel import TravelBooking

PREFIX = "/restate/v1"

# The Restate SDK logs every failed attempt of a step with its traceback, including the transient
# failures that Restate then retries as designed. EXAMPLES_QUIET=1 (the demo sets it) hides them.
if os.environ.get("EXAMPLES_QUIET") == "1":
    logging.getLogger("restate").setLevel(logging.CRITICAL)

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

# Restate request identity: with RESTATE_IDENTITY_KEYS=publickeyv1_... (comma-separated), the app
# only serves requests signed by a restate-server holding the matching private key.
IDENTITY_KEYS = [key for key in os.environ.get("RESTATE_IDENTITY_KEYS", "").split(",") if key]

restate_app: Any = restate.app(
    services=[
        checkout_workflow,
        CheckoutPipeline,
        TravelBooking,
        purchase_approval,
        shopping_cart,
        payment_workflow,
        order_workflow,
    ],
    identity_keys=IDENTITY_KEYS or None,
)


def ledger(query_string: bytes) -> list[dict[str, str]]:
    """The side effects applied so far; with `invocation=<id>`, only that invocation's."""
    wanted = parse_qs(query_string.decode()).get("invocation", [])
    # An idempotency key starts with the invocation id (see restate_saga.StepCall.idempotency_key).
    return [
        asdict(event)
        for event in external.events()
        if not wanted or any(event.idempotency_key.startswith(f"{inv}:") for inv in wanted)
    ]


async def _respond(send: Send, status: int, content_type: bytes, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", content_type)]})
    await send({"type": "http.response.body", "body": body})


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """Route /restate/v1/... to the Restate endpoint, serve GET /ledger, answer 404 elsewhere."""
    path = str(scope.get("path", ""))
    if scope["type"] == "http" and (path == PREFIX or path.startswith(PREFIX + "/")):
        inner = dict(scope, path=path[len(PREFIX) :] or "/", root_path=str(scope.get("root_path", "")) + PREFIX)
        await restate_app(inner, receive, send)
        return
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    if path == "/ledger" and scope.get("method") == "GET":
        body = json.dumps(ledger(bytes(scope.get("query_string", b"")))).encode()
        await _respond(send, 200, b"application/json", body)
        return
    await _respond(send, 404, b"text/plain", b"restate_saga examples live under /restate/v1 (and GET /ledger)\n")
