"""The benchmark sagas written with restate_saga (this repo).

The checkout uses the seed-compatible decorators (`@saga_step_strict`, `@saga_workflow`), exactly
as the reference is used; the long chains are typed pipelines built with `Step.then`.
Served by this repo's virtualenv: `hypercorn benchmarks.apps.ours:app`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import restate
from restate import TerminalError

from benchmarks import workloads as w
from benchmarks.workloads import Payload
from restate_saga import (
    SagaContext,
    SagaWorkflowService,
    Step,
    StepResponse,
    create_saga_workflow,
    saga_step_strict,
    saga_workflow,
    step,
)

IMPLEMENTATION = next(impl for impl in w.IMPLEMENTATIONS if impl.key == "restate_saga")


async def cancel_order(order: Payload) -> None:
    w.cancel_order(order)


async def refund_payment(payment: Payload) -> None:
    w.refund_payment(payment)


async def cancel_shipment(shipment: Payload) -> None:
    w.cancel_shipment(shipment)


async def undo_long_step(data: Payload) -> None:
    w.undo_long_step(data)


def checkout_service(workload: w.Workload) -> SagaWorkflowService[Payload, Payload]:
    fail = workload.fail

    @saga_step_strict("CreateOrder", compensate=cancel_order)
    async def create_order(ctx: restate.Context, value: Payload) -> StepResponse[Payload, Payload]:
        return StepResponse(w.create_order(value))

    @saga_step_strict("ProcessPayment", compensate=refund_payment)
    async def process_payment(ctx: restate.Context, order: Payload) -> StepResponse[Payload, Payload]:
        return StepResponse(w.process_payment(order))

    @saga_step_strict("CreateShipment", compensate=cancel_shipment)
    async def create_shipment(ctx: restate.Context, payment: Payload) -> StepResponse[Payload, Payload]:
        if fail:
            raise TerminalError(w.FAIL_MESSAGE, w.FAIL_STATUS)
        return StepResponse(w.create_shipment(payment))

    @saga_workflow(IMPLEMENTATION.service(workload))
    async def checkout(saga: SagaContext, value: Payload) -> Payload:
        order = await create_order(saga, value)
        payment = await process_payment(saga, order)
        return await create_shipment(saga, payment)

    return checkout


def long_action(index: int, fail: bool) -> Callable[[Payload], Awaitable[Payload]]:
    async def action(value: Payload) -> Payload:
        if fail:
            raise TerminalError(w.FAIL_MESSAGE, w.FAIL_STATUS)
        return w.long_step(index, value)

    return action


def chain_pipeline(steps: int, fail: bool) -> Step[Payload, Payload, object]:
    """`Step1.then(Step2)...then(StepN)`; with `fail`, the last step fails for good."""
    pipeline: Step[Payload, Payload, object] = step(w.step_name(1), long_action(1, fail and steps == 1), undo_long_step)
    for i in range(2, steps + 1):
        pipeline = pipeline.then(step(w.step_name(i), long_action(i, fail and i == steps), undo_long_step))
    return pipeline


def chain_service(workload: w.Workload) -> SagaWorkflowService[Payload, Payload]:
    return create_saga_workflow(IMPLEMENTATION.service(workload), chain_pipeline(workload.steps, workload.fail))


def services() -> list[restate.Service]:
    return [
        checkout_service(workload) if workload.kind == "checkout" else chain_service(workload)
        for workload in w.WORKLOADS
    ]


app: Any = restate.app(services=services())
