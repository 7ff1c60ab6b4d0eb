# Rewritten from restate-saga 0.1.0 (its sdist on PyPI, tests/test_validation.py); MIT licence, see LICENSE here.
# The reference tests its private helpers `restate_saga._validation.get_input_model` and
# `validate_input(value, model, name)`, which restate_saga does not have. The same cases are checked
# here through the public API: a seed-style step whose input is annotated with a pydantic model
# (or not), run on the in-process FakeContext. Where 0.1.0 raised a TerminalError "Input validation
# failed for <name>", restate_saga raises InvalidInputError (a TerminalError, status 400) naming the
# step and each field.
"""Tests for pydantic input validation."""

from typing import Any

import pytest
import restate
from pydantic import BaseModel

from restate_saga import InvalidInputError, SagaContext, StepResponse, create_saga_step
from restate_saga.testing import FakeContext

# ---------------------------------------------------------------------------
# which annotations validate (the reference's get_input_model cases)
# ---------------------------------------------------------------------------


class MyInput(BaseModel):
    name: str
    count: int = 0


received: list[Any] = []


async def fn_with_model(ctx: restate.Context, input_val: MyInput) -> StepResponse[str, None]:
    received.append(input_val)
    return StepResponse("ok", compensation_data=None)


async def fn_without_annotation(ctx, input_val):
    received.append(input_val)
    return StepResponse("ok", compensation_data=None)


async def fn_with_plain_type(ctx: restate.Context, input_val: dict) -> StepResponse[str, None]:
    received.append(input_val)
    return StepResponse("ok", compensation_data=None)


async def run_step(fn: Any, value: object) -> Any:
    """Run `fn` as a step named TestStep on a FakeContext; return what its action received."""
    received.clear()
    saga = SagaContext(FakeContext().as_context())
    await create_saga_step("TestStep", fn)(saga, value)
    return received[0]


async def test_detects_pydantic_model():
    assert isinstance(await run_step(fn_with_model, {"name": "alice"}), MyInput)


async def test_returns_none_for_no_annotation():
    raw = {"name": "alice"}
    assert await run_step(fn_without_annotation, raw) == raw


async def test_returns_none_for_plain_type():
    raw = {"name": "alice"}
    assert await run_step(fn_with_plain_type, raw) == raw


# ---------------------------------------------------------------------------
# what validation does (the reference's validate_input cases)
# ---------------------------------------------------------------------------


async def test_validates_dict_to_model():
    result = await run_step(fn_with_model, {"name": "alice", "count": 3})
    assert isinstance(result, MyInput)
    assert result.name == "alice"
    assert result.count == 3


async def test_passes_through_model_instance():
    instance = MyInput(name="bob")
    result = await run_step(fn_with_model, instance)
    assert result is instance


async def test_applies_defaults():
    result = await run_step(fn_with_model, {"name": "carol"})
    assert result.count == 0


async def test_raises_terminal_error_on_invalid_input():
    with pytest.raises(restate.TerminalError, match="invalid input for step 'TestStep': field 'name'") as raised:
        await run_step(fn_with_model, {"count": "not_a_number"})
    assert isinstance(raised.value, InvalidInputError) and raised.value.status_code == 400
    assert "field 'count'" in raised.value.message


async def test_raises_terminal_error_on_missing_required():
    with pytest.raises(restate.TerminalError, match="invalid input for step 'TestStep': field 'name'"):
        await run_step(fn_with_model, {})


async def test_no_model_passes_through():
    raw = {"anything": True}
    result = await run_step(fn_without_annotation, raw)
    assert result is raw
