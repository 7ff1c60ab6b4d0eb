"""Services for the operator tests: one saga per status, a keyed object and workflow, a remote saga,
a plain service, and the buggy first deployment of the paused path (`ops_fixed_app` is the fix)."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import restate
from restate import TerminalError

from restate_saga import (
    CompensationPolicy,
    SagaContext,
    SagaWorkflowOptions,
    WorkflowRetryPolicy,
    create_remote_saga,
    create_saga_restate_workflow,
    create_saga_virtual_object,
    create_saga_workflow,
    remote_step,
    step,
)
from tests import ledger
from tests.ledger import events

Data = dict[str, Any]
GATES: dict[str, threading.Event] = {}
"""Compensations of runs listed here wait until their event is set (to watch a saga compensating)."""


def ledger_file() -> Path | None:
    """Where a deployment in another process (`ops_fixed_app`) records its side effects."""
    path = os.environ.get("OPS_LEDGER")
    return Path(path) if path else None


def record(run: str, event: str) -> None:
    """Note a side effect: in memory (this process is the test's), or in `$OPS_LEDGER`'s file."""
    path = ledger_file()
    if path is None:
        ledger.record(run, event)
    else:
        with path.open("a") as lines:
            lines.write(f"{run} {event}\n")


def gate(run: str) -> threading.Event:
    """The event that releases the held compensations of `run`."""
    return GATES.setdefault(run, threading.Event())


def action(name: str) -> Callable[[Data], Awaitable[Data]]:
    """A step that records itself and fails for good when the input lists it in `fail`."""

    async def run(data: Data) -> Data:
        if name in data.get("fail", []):
            record(data["run"], f"{name} refused")
            raise TerminalError(f"{name} refused by the test", 402)
        record(data["run"], name)
        return data

    run.__name__ = name.lower()
    return run


def undo(name: str) -> Callable[[Data], Awaitable[None]]:
    """A compensation that records itself; it fails for good while the input's `undo_fails[name]`
    has not been used up, and waits on the run's gate when the input says `hold_undo`."""

    async def run(data: Data) -> None:
        if data.get("hold_undo"):
            while not gate(data["run"]).is_set():
                await asyncio.sleep(0.02)
        failures = int(data.get("undo_fails", {}).get(name, 0))
        if len([e for e in events(data["run"]) if e == f"undo {name} refused"]) < failures:
            record(data["run"], f"undo {name} refused")
            raise TerminalError(f"undo of {name} refused by the test")
        record(data["run"], f"undo {name}")

    run.__name__ = f"undo_{name.lower()}"
    return run


def saga_step(name: str) -> Any:
    """A strict step of this app: `action(name)` undone by `undo(name)`."""
    return step(name, action(name), undo(name))


checkout = saga_step("Reserve").then(saga_step("Charge")).then(saga_step("Ship"))
OpsCheckout = create_saga_workflow("OpsCheckout", checkout)
OpsStopping = create_saga_workflow(
    "OpsStopping", checkout, SagaWorkflowOptions(compensation=CompensationPolicy(on_failure="stop"))
)
OpsEscalating = create_saga_workflow(
    "OpsEscalating", checkout, SagaWorkflowOptions(compensation=CompensationPolicy(on_failure="escalate"))
)


async def waiting(saga: SagaContext, data: Data) -> Data:
    """Saga code: holds stock, then waits an hour on a durable timer (until cancelled)."""
    data = await saga_step("Hold")(saga, data)
    await saga.ctx.sleep(timedelta(hours=1))
    return await saga_step("Never")(saga, data)


OpsWaiting = create_saga_workflow("OpsWaiting", waiting)

PayLater = create_remote_saga("OpsPayment", saga_step("Authorize").then(saga_step("Capture")))
OpsWithRemote = create_saga_workflow(
    "OpsWithRemote", saga_step("Order").then(remote_step(PayLater, "Payment")).then(saga_step("Deliver"))
)

cart = create_saga_virtual_object("OpsCart")


@cart.handler()
async def add(saga: SagaContext, ctx: restate.ObjectContext, data: Data) -> Data:
    """An exclusive saga handler of a virtual object."""
    return await saga_step("Reserve")(saga, data)


@cart.handler(kind="shared")
async def peek(ctx: restate.ObjectSharedContext) -> str:
    """A shared handler: not a saga."""
    return ctx.key()


approval = create_saga_restate_workflow("OpsApproval")


@approval.main("run")
async def approve(saga: SagaContext, ctx: restate.WorkflowContext, data: Data) -> Data:
    """A Restate workflow's main saga handler."""
    return await saga_step("Budget")(saga, data)


plain = restate.Service("OpsPlain")


@plain.handler()
async def hello(ctx: restate.Context, name: str) -> str:
    """A plain Restate handler: no saga."""
    return f"hello {name}"


# --- the paused path: a step with a bug, retried by Restate until it pauses ----------------------

PAUSE_AFTER_THREE = SagaWorkflowOptions(
    retry_policy=WorkflowRetryPolicy(
        max_attempts=3, initial_interval=timedelta(milliseconds=50), on_max_attempts="pause"
    )
)


def shipping(pack: Callable[[Data], Awaitable[Data]]) -> restate.Service:
    """The paused-path saga: Reserve -> Pack (its action given) -> Ship, paused after 3 attempts."""
    return create_saga_workflow(
        "OpsShipping",
        saga_step("Reserve").then(step("Pack", pack, undo("Pack"))).then(saga_step("Ship")),
        PAUSE_AFTER_THREE,
    )


async def buggy_pack(data: Data) -> Data:
    """Version 1: a bug that no retry fixes."""
    record(data["run"], "Pack attempt")
    raise ZeroDivisionError("a bug in Pack: division by zero")


OpsShipping = shipping(buggy_pack)

services: list[Any] = [
    OpsCheckout,
    OpsStopping,
    OpsEscalating,
    OpsWaiting,
    PayLater,
    OpsWithRemote,
    cart,
    approval,
    plain,
    OpsShipping,
]
