"""The benchmark sagas written with the reference implementation, restate-saga 0.1.0 from PyPI.

Runs only in the reference virtualenv (`.tools/reference-venv`), served by that venv's hypercorn
from this folder: `hypercorn reference_app:app`. The reference has the same import name as this
repo's package, so this module checks that it really got the installed 0.1.0, not the repo.
The checkout uses the seed API (`@saga_step_strict`, `@saga_workflow`); the long chains loop
over a list of `create_saga_step_strict` steps, the natural way to write them with the reference.
"""

from __future__ import annotations

import importlib.metadata
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import restate
from restate import TerminalError

import restate_saga
from restate_saga import (
    SagaContext,
    StepResponse,
    create_saga_step_strict,
    create_saga_workflow,
    saga_step_strict,
    saga_workflow,
)

_REPO = Path(__file__).resolve().parents[2]
if Path(restate_saga.__file__ or "").resolve().is_relative_to(_REPO / "restate_saga"):
    raise RuntimeError("reference_app imported this repo's restate_saga instead of restate-saga 0.1.0")
REFERENCE_VERSION = importlib.metadata.version("restate-saga")
if REFERENCE_VERSION != "0.1.0":
    raise RuntimeError(f"expected restate-saga 0.1.0, found {REFERENCE_VERSION}")

# The shared workload definitions (standard library only); appended so the installed
# restate_saga keeps precedence over the repo's package of the same name.
sys.path.append(str(_REPO))
from benchmarks import workloads as w  # noqa: E402
from benchmarks.workloads import Payload  # noqa: E402

IMPLEMENTATION = next(impl for impl in w.IMPLEMENTATIONS if impl.key == "reference")


async def cancel_order(order: Payload) -> None:
    w.cancel_order(order)


async def refund_payment(payment: Payload) -> None:
    w.refund_payment(payment)


async def cancel_shipment(shipment: Payload) -> None:
    w.cancel_shipment(shipment)


async def undo_long_step(data: Payload) -> None:
    w.undo_long_step(data)


def checkout_service(workload: w.Workload) -> restate.Service:
    fail = workload.fail

    @saga_step_strict("CreateOrder", compensate=cancel_order)
    async def create_order(ctx: restate.Context, value: Payload) -> StepResponse[Payload, Payload]:
        return StepResponse(output=w.create_order(value))

    @saga_step_strict("ProcessPayment", compensate=refund_payment)
    async def process_payment(ctx: restate.Context, order: Payload) -> StepResponse[Payload, Payload]:
        return StepResponse(output=w.process_payment(order))

    @saga_step_strict("CreateShipment", compensate=cancel_shipment)
    async def create_shipment(ctx: restate.Context, payment: Payload) -> StepResponse[Payload, Payload]:
        if fail:
            raise TerminalError(w.FAIL_MESSAGE, w.FAIL_STATUS)
        return StepResponse(output=w.create_shipment(payment))

    @saga_workflow(IMPLEMENTATION.service(workload))
    async def checkout(saga: SagaContext, value: Payload) -> Payload:
        order = await create_order(saga, value)
        payment = await process_payment(saga, order)
        return await create_shipment(saga, payment)

    return checkout


def long_run(index: int, fail: bool) -> Callable[[restate.Context, Payload], Awaitable[StepResponse[Payload, Payload]]]:
    async def run(ctx: restate.Context, value: Payload) -> StepResponse[Payload, Payload]:
        if fail:
            raise TerminalError(w.FAIL_MESSAGE, w.FAIL_STATUS)
        return StepResponse(output=w.long_step(index, value))

    return run


def chain_service(workload: w.Workload) -> restate.Service:
    last = workload.steps
    steps = [
        create_saga_step_strict(w.step_name(i), long_run(i, workload.fail and i == last), undo_long_step)
        for i in range(1, workload.steps + 1)
    ]

    async def chain(saga: SagaContext, value: Payload) -> Payload:
        for saga_step in steps:
            value = await saga_step(saga, value)
        return value

    return create_saga_workflow(IMPLEMENTATION.service(workload), chain)


def services() -> list[restate.Service]:
    return [
        checkout_service(workload) if workload.kind == "checkout" else chain_service(workload)
        for workload in w.WORKLOADS
    ]


app: Any = restate.app(services=services())
