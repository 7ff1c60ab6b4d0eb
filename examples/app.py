"""The ASGI app serving every example saga at /restate/v1.

hypercorn examples.app:app --bind 0.0.0.0:9080
restate deployments register http://localhost:9080/restate/v1
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import restate

from examples.checkout import checkout_workflow
from examples.travel import TravelBooking

PREFIX = "/restate/v1"

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

restate_app: Any = restate.app(services=[checkout_workflow, TravelBooking])


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """Route /restate/v1/... to the Restate endpoint; answer 404 elsewhere."""
    path = str(scope.get("path", ""))
    if scope["type"] == "http" and (path == PREFIX or path.startswith(PREFIX + "/")):
        inner = dict(
            scope, path=path[len(PREFIX) :] or "/", root_path=str(scope.get("root_path", "")) + PREFIX
        )
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
    await send({"type": "http.response.start", "status": 404, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"restate_saga examples live under /restate/v1\n"})
