"""The benchmark sagas hand-written with the raw Restate SDK: the baseline restate_saga must match.

What anyone would write without a library: one `ctx.run_typed` per step, a list of compensation
closures, and on a `TerminalError` the closures run newest first before the error is re-raised.
Served by this repo's virtualenv: `hypercorn benchmarks.apps.handwritten:app`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Protocol

import restate
from restate import TerminalError

from benchmarks import workloads as w
from benchmarks.workloads import Payload

Compensation = Callable[[], Awaitable[None]]

IMPLEMENTATION = next(impl for impl in w.IMPLEMENTATIONS if impl.key == "handwritten")


async def create_order(value: Payload) -> Payload:
    return w.create_order(value)


async def process_payment(order: Payload) -> Payload:
    return w.process_payment(order)


async def create_shipment(payment: Payload) -> Payload:
    return w.create_shipment(payment)


async def decline_shipment(payment: Payload) -> Payload:
    raise TerminalError(w.FAIL_MESSAGE, w.FAIL_STATUS)


async def cancel_order(order: Payload) -> None:
    w.cancel_order(order)


async def refund_payment(payment: Payload) -> None:
    w.refund_payment(payment)


async def cancel_shipment(shipment: Payload) -> None:
    w.cancel_shipment(shipment)


async def undo_long_step(data: Payload) -> None:
    w.undo_long_step(data)


def checkout_service(workload: w.Workload) -> restate.Service:
    service = restate.Service(IMPLEMENTATION.service(workload))
    ship = decline_shipment if workload.fail else create_shipment

    @service.handler()
    async def run(ctx: restate.Context, value: Payload) -> Payload:
        compensations: list[Compensation] = []
        try:
            order = await ctx.run_typed("CreateOrder", create_order, value=value)
            compensations.append(lambda: ctx.run_typed("compensate:CreateOrder", cancel_order, order=order))
            payment = await ctx.run_typed("ProcessPayment", process_payment, order=order)
            compensations.append(lambda: ctx.run_typed("compensate:ProcessPayment", refund_payment, payment=payment))
            shipment = await ctx.run_typed("CreateShipment", ship, payment=payment)
            compensations.append(lambda: ctx.run_typed("compensate:CreateShipment", cancel_shipment, shipment=shipment))
            return shipment
        except TerminalError:
            for compensate in reversed(compensations):
                await compensate()
            raise

    return service


class LongAction(Protocol):
    def __call__(self, value: Payload) -> Coroutine[Any, Any, Payload]: ...


def long_action(index: int, fail: bool) -> LongAction:
    async def action(value: Payload) -> Payload:
        if fail:
            raise TerminalError(w.FAIL_MESSAGE, w.FAIL_STATUS)
        return w.long_step(index, value)

    return action


def undo_closure(ctx: restate.Context, name: str, data: Payload) -> Compensation:
    return lambda: ctx.run_typed(f"compensate:{name}", undo_long_step, data=data)


LongStep = tuple[str, LongAction]


def long_steps(steps: int, fail: bool) -> list[LongStep]:
    """`Step1`..`StepN`; with `fail`, the last step fails for good."""
    return [(w.step_name(i), long_action(i, fail and i == steps)) for i in range(1, steps + 1)]


async def run_chain(ctx: restate.Context, steps: list[LongStep], value: Payload) -> Payload:
    """The saga itself: one `run_typed` per step, compensation closures run newest first on failure."""
    compensations: list[Compensation] = []
    try:
        for name, action in steps:
            value = await ctx.run_typed(name, action, value=value)
            compensations.append(undo_closure(ctx, name, value))
        return value
    except TerminalError:
        for compensate in reversed(compensations):
            await compensate()
        raise


def chain_service(workload: w.Workload) -> restate.Service:
    service = restate.Service(IMPLEMENTATION.service(workload))
    steps = long_steps(workload.steps, workload.fail)

    @service.handler()
    async def run(ctx: restate.Context, value: Payload) -> Payload:
        return await run_chain(ctx, steps, value)

    return service


def services() -> list[restate.Service]:
    return [
        checkout_service(workload) if workload.kind == "checkout" else chain_service(workload)
        for workload in w.WORKLOADS
    ]


app: Any = restate.app(services=services())
