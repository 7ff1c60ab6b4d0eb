"""Regressions found in review: keys across sagas, fallbacks under `stop`, codec types, injection on groups."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from restate import TerminalError

from restate_saga import (
    CompensationPolicy,
    SagaCompensatedError,
    SagaContext,
    SagaWorkflowOptions,
    StepDefinitionError,
    StepResponse,
    create_saga_workflow,
    current_step,
    parallel,
    step,
)
from restate_saga.testing import FakeContext, check_compensations

keys: list[str] = []


async def keyed(n: int) -> int:
    keys.append(current_step().idempotency_key)
    return n


async def test_two_sagas_in_one_invocation_never_share_an_idempotency_key() -> None:
    keys.clear()
    ctx = FakeContext(invocation_id="inv_2").as_context()
    booking = step("Book", keyed)
    await booking.run(ctx, 1)
    await booking.run(ctx, 2)
    assert keys == ["inv_2:0:Book", "inv_2:1:Book"]


async def test_a_fallback_under_the_stop_policy_stops_the_whole_rollback() -> None:
    done: list[str] = []

    def named(name: str, *, broken: bool = False, fails: bool = False):
        async def action(n: int) -> int:
            if fails:
                raise TerminalError(f"{name} failed")
            return n

        async def undo(n: int) -> None:
            done.append(f"undo {name}")
            if broken:
                raise TerminalError(f"{name} cannot be undone")

        return step(name, action, undo)

    primary = named("P0").then(named("P1", broken=True)).then(named("P2", fails=True))
    saga = named("Z").then(primary.or_else(named("Alt")))
    ctx = FakeContext()
    with pytest.raises(SagaCompensatedError) as raised:
        await saga.run(ctx.as_context(), 0, CompensationPolicy(on_failure="stop"))
    assert done == ["undo P1"]
    assert raised.value.failed_step == "P2"
    assert [f.step for f in raised.value.compensation_failures] == ["P1"]
    assert raised.value.not_compensated == ("P0", "Z")
    assert "Alt" not in [e.name for e in ctx.journal]


@dataclass(frozen=True)
class Order:
    order_id: str


@dataclass(frozen=True)
class OrderRef:
    order_id: str


async def test_compensation_data_of_another_type_comes_back_as_that_type() -> None:
    received: list[object] = []

    async def create(n: int) -> StepResponse[Order, OrderRef]:
        return StepResponse(Order("o-1"), compensation_data=OrderRef("o-1"))  # the same JSON

    async def cancel(ref: OrderRef) -> None:
        received.append(ref)

    async def boom(order: Order) -> None:
        raise TerminalError("boom")

    with pytest.raises(SagaCompensatedError):
        await step("Create", create, cancel).then(step("Boom", boom)).run(FakeContext().as_context(), 0)
    assert received == [OrderRef("o-1")]
    assert type(received[0]) is OrderRef


async def test_failure_injection_understands_parallel_groups() -> None:
    async def act(n: int) -> int:
        return n

    async def undo(n: int) -> None:
        return None

    async def first(results: tuple[int, int, int]) -> int:
        return results[0]

    saga = step("Z", act, undo).then(parallel(step("A", act, undo), step("B", act, undo), step("C", act, undo)))
    report = await check_compensations(saga.then(step("First", first)), 0, cancellation=True)
    assert report.ok, str(report)
    at_a = next(o for o in report.outcomes if o.kind == "failure" and o.step == "A")
    assert at_a.actual == ("compensate:C", "compensate:B", "compensate:Z")  # siblings that completed


def test_plan_fingerprints_need_a_pipeline() -> None:
    async def code(saga: SagaContext, n: int) -> int:
        return n

    with pytest.raises(StepDefinitionError, match="record_plan_fingerprint needs a pipeline"):
        create_saga_workflow("Code", code, SagaWorkflowOptions(record_plan_fingerprint=True))
