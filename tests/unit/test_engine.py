"""The engine on the in-process double: order, exactly-once, replay, composition costs nothing."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from pydantic import BaseModel
from restate import TerminalError

from restate_saga import (
    SagaCompensatedError,
    SagaContext,
    StepResponse,
    as_step,
    hybrid_step,
    nested,
    step,
)
from restate_saga.testing import FakeContext, JournalMismatch

calls: list[str] = []


@pytest.fixture(autouse=True)
def _clear() -> None:
    calls.clear()


async def inc(n: int) -> int:
    calls.append(f"inc {n}")
    return n + 1


async def undo_inc(n: int) -> None:
    calls.append(f"undo {n}")


async def fail(n: int) -> int:
    calls.append(f"fail {n}")
    raise TerminalError("nope", 422)


def numbered(i: int):
    return step(f"inc{i}", inc, undo_inc)


async def test_sequence_runs_in_order_and_returns_typed_output() -> None:
    ctx = FakeContext()
    pipeline = numbered(1).then(numbered(2)).then(numbered(3))
    assert await pipeline.run(ctx.as_context(), 0) == 3
    assert [e.name for e in ctx.journal] == ["inc1", "inc2", "inc3"]


async def test_failure_compensates_in_reverse_once_each() -> None:
    ctx = FakeContext()
    pipeline = numbered(1).then(numbered(2)).then(step("fail", fail))
    with pytest.raises(SagaCompensatedError) as raised:
        await pipeline.run(ctx.as_context(), 0)
    assert raised.value.status_code == 422
    assert raised.value.failed_step == "fail"
    assert raised.value.message == "step 'fail' failed: nope"
    assert calls == ["inc 0", "inc 1", "fail 2", "undo 2", "undo 1"]
    assert [e.name for e in ctx.journal] == ["inc1", "inc2", "fail", "compensate:inc2", "compensate:inc1"]


async def test_replaying_the_journal_runs_no_action_or_compensation_again() -> None:
    first = FakeContext()
    pipeline = numbered(1).then(numbered(2)).then(step("fail", fail))
    with pytest.raises(SagaCompensatedError):
        await pipeline.run(first.as_context(), 0)
    calls.clear()
    replay = FakeContext(replay_from=first.journal)
    with pytest.raises(SagaCompensatedError):
        await pipeline.run(replay.as_context(), 0)
    assert calls == []
    assert replay.executed == []
    assert replay.journal == first.journal


async def test_replaying_a_changed_saga_is_reported() -> None:
    first = FakeContext()
    await numbered(1).then(numbered(2)).run(first.as_context(), 0)
    replay = FakeContext(replay_from=first.journal)
    with pytest.raises(JournalMismatch):
        await numbered(1).then(numbered(9)).run(replay.as_context(), 0)


async def test_composition_adds_no_journal_entries() -> None:
    async def sub_saga(saga: SagaContext, n: int) -> int:
        return await numbered(3)(saga, n)

    ctx = FakeContext()
    pipeline = (
        numbered(1)
        .map(lambda n: n * 10)
        .then(nested("scope", numbered(2).then(as_step(sub_saga))))
        .then(nested("inline", sub_saga).map(str))
    )
    assert await pipeline.run(ctx.as_context(), 1) == "23"
    assert [e.name for e in ctx.journal] == ["inc1", "inc2", "inc3", "inc3"]


async def test_a_chain_longer_than_the_recursion_limit_runs() -> None:
    pipeline = numbered(0)
    for i in range(1, 3000):
        pipeline = pipeline.then(numbered(i))
    ctx = FakeContext()
    assert await pipeline.run(ctx.as_context(), 0) == 3000
    assert len(ctx.journal) == 3000


async def test_steps_are_immutable_values() -> None:
    a = numbered(1)
    b = a.then(numbered(2))
    assert a is not b
    with pytest.raises(AttributeError):
        a.name = "x"  # type: ignore[misc]
    ctx = FakeContext()
    assert await a.run(ctx.as_context(), 0) == 1  # `a` still runs one step


async def test_hybrid_compensation_gets_input_and_failed_flag_when_action_fails() -> None:
    seen: list[tuple[object, bool]] = []

    async def undo(data: int | str, failed: bool = False) -> None:
        seen.append((data, failed))

    async def explode(text: str) -> int:
        raise TerminalError("exploded")

    with pytest.raises(SagaCompensatedError):
        await hybrid_step("H", explode, undo).run(FakeContext().as_context(), "in")
    assert seen == [("in", True)]


async def test_hybrid_compensation_taking_only_data_works() -> None:
    seen: list[object] = []

    async def undo(data: int | str) -> None:
        seen.append(data)

    async def ok(text: str) -> int:
        return 7

    pipeline = hybrid_step("H", ok, undo).then(step("fail", fail))
    with pytest.raises(SagaCompensatedError):
        await pipeline.run(FakeContext().as_context(), "in")
    assert seen == [7]


@dataclass(frozen=True)
class Box:
    value: int


class Model(BaseModel):
    value: int


async def test_outputs_come_back_as_their_declared_types() -> None:
    async def make_box(n: int) -> Box:
        return Box(n)

    async def make_model(box: Box) -> Model:
        return Model(value=box.value)

    async def check(model: Model) -> str:
        return type(model).__name__

    ctx = FakeContext()
    pipeline = step("box", make_box).then(step("model", make_model)).then(step("check", check))
    assert await pipeline.run(ctx.as_context(), 3) == "Model"
    replay = FakeContext(replay_from=ctx.journal[:2])
    assert await pipeline.run(replay.as_context(), 3) == "Model"
    assert replay.executed == ["check"]


async def test_journal_value_is_just_the_output_when_data_is_the_output() -> None:
    async def make(n: int) -> StepResponse[dict[str, int], dict[str, int]]:
        return StepResponse({"n": n})

    async def make_same(d: dict[str, int]) -> StepResponse[dict[str, int], dict[str, int]]:
        return StepResponse({"n": d["n"]}, compensation_data={"n": d["n"]})

    async def make_other(n: int) -> StepResponse[dict[str, int], str]:
        return StepResponse({"n": n}, compensation_data="x")

    async def nothing(data: object) -> None:
        return None

    ctx = FakeContext()
    pipeline = step("a", make, nothing).then(step("b", make_same, nothing))
    await pipeline.run(ctx.as_context(), 1)
    assert [e.value for e in ctx.journal] == [b'{"n":1}', b'{"n":1}']
    ctx = FakeContext()
    await step("c", make_other, nothing).run(ctx.as_context(), 1)
    assert ctx.journal[0].value == b'@[{"n":1},"x"]'


async def test_nested_saga_failure_rolls_back_outer_steps_too() -> None:
    inner = nested("inner", numbered(2).then(step("fail", fail)))
    with pytest.raises(SagaCompensatedError):
        await numbered(1).then(inner).run(FakeContext().as_context(), 0)
    assert calls == ["inc 0", "inc 1", "fail 2", "undo 2", "undo 1"]


async def test_user_terminal_error_in_handler_code_compensates() -> None:
    async def body(saga: SagaContext, n: int) -> int:
        await numbered(1)(saga, n)
        raise TerminalError("rejected by operator", 403)

    ctx = FakeContext()
    with pytest.raises(SagaCompensatedError) as raised:
        await as_step(body).run(ctx.as_context(), 0)
    assert raised.value.status_code == 403
    assert raised.value.failed_step is None
    assert calls == ["inc 0", "undo 1"]


async def test_transient_errors_are_not_compensated() -> None:
    async def flaky(n: int) -> int:
        raise RuntimeError("network blip")

    with pytest.raises(RuntimeError):
        await numbered(1).then(step("flaky", flaky)).run(FakeContext().as_context(), 0)
    assert calls == ["inc 0"]  # no compensation: Restate would retry the invocation


async def test_idempotency_keys_are_stable_across_replays_and_distinct_per_step() -> None:
    from restate_saga import current_step

    keys: list[str] = []

    async def keyed(n: int) -> int:
        keys.append(current_step().idempotency_key)
        return n + 1

    async def undo_keyed(n: int) -> None:
        keys.append(current_step().idempotency_key)

    pipeline = step("a", keyed, undo_keyed).then(step("a2", keyed, undo_keyed)).then(step("fail", fail))
    first = FakeContext(invocation_id="inv_1")
    with pytest.raises(SagaCompensatedError):
        await pipeline.run(first.as_context(), 0)
    assert keys == ["inv_1:0:a", "inv_1:1:a2", "inv_1:1:a2:undo", "inv_1:0:a:undo"]
    keys.clear()
    replay = FakeContext(invocation_id="inv_1", replay_from=first.journal[:1])
    with pytest.raises(SagaCompensatedError):
        await pipeline.run(replay.as_context(), 0)
    assert keys == ["inv_1:1:a2", "inv_1:1:a2:undo", "inv_1:0:a:undo"]
    with pytest.raises(LookupError):
        current_step()
