"""The example app: FastAPI, with every example saga's Restate endpoint mounted at /restate/v1.

    hypercorn examples.app:app --bind 0.0.0.0:9080
    restate deployments register http://localhost:9080/restate/v1

GET /ledger lists the side effects the simulated services applied, in order, as JSON;
GET /ledger?invocation=<id> only those caused by one saga invocation (its steps and compensations).
RESTATE_IDENTITY_KEYS=publickeyv1_... makes the Restate endpoint refuse requests not signed by
restate-server. FastAPI comes with the `examples` extra; restate_saga itself never imports it.
"""

from __future__ import annotations

import logging
import os
from dataclasses import asdict
from typing import Annotated

import restate
from fastapi import FastAPI, Query

from examples import external
from examples.approval import purchase_approval
from examples.cart import shopping_cart
from examples.checkout import checkout_workflow
from examples.checkout_pipeline import CheckoutPipeline
from examples.fulfilment import Fulfilment
from examples.inventory import inventory
from examples.orders import order_workflow, payment_workflow
from examples.travel import TravelBooking

PREFIX = "/restate/v1"

# The Restate SDK logs every failed attempt of a step with its traceback, including the transient
# failures that Restate then retries as designed. EXAMPLES_QUIET=1 (the demo sets it) hides them.
if os.environ.get("EXAMPLES_QUIET") == "1":
    logging.getLogger("restate").setLevel(logging.CRITICAL)

# Restate request identity: with RESTATE_IDENTITY_KEYS=publickeyv1_... (comma-separated), the app
# only serves requests signed by a restate-server holding the matching private key.
IDENTITY_KEYS = [key for key in os.environ.get("RESTATE_IDENTITY_KEYS", "").split(",") if key]

restate_app = restate.app(
    services=[
        checkout_workflow,
        CheckoutPipeline,
        TravelBooking,
        purchase_approval,
        shopping_cart,
        payment_workflow,
        order_workflow,
        Fulfilment,
        inventory,
    ],
    identity_keys=IDENTITY_KEYS or None,
)

app = FastAPI(title="restate_saga examples", description="The example sagas (at /restate/v1) and their ledger.")
app.mount(PREFIX, restate_app)


@app.get("/ledger")
def ledger(invocation: Annotated[list[str] | None, Query()] = None) -> list[dict[str, str | bool]]:
    """The side effects applied so far; with `invocation=<id>` (repeatable), only those invocations'."""
    wanted = invocation or []
    # An idempotency key starts with the invocation id (see restate_saga.StepCall.idempotency_key).
    return [
        asdict(event)
        for event in external.events()
        if not wanted or any(event.idempotency_key.startswith(f"{inv}:") for inv in wanted)
    ]
