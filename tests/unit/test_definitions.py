"""Bad definitions are rejected when the step is built, with errors that name the step."""

from __future__ import annotations

from typing import Any, cast

import pytest

from restate_saga import StepDefinitionError, StepResponse, step


async def action(n: int) -> int:
    return n


class Opaque:
    pass


def test_non_async_action_is_rejected() -> None:
    def sync_action(n: int) -> int:
        return n

    with pytest.raises(StepDefinitionError, match="step 'Sync': the action must be an async function"):
        step("Sync", cast(Any, sync_action))


def test_non_async_compensation_is_rejected() -> None:
    def undo(n: int) -> None:
        return None

    with pytest.raises(StepDefinitionError, match="step 'S': the compensation must be an async function"):
        step("S", action, cast(Any, undo))


def test_compensation_that_cannot_take_its_data_is_rejected() -> None:
    async def undo(a: int, b: int) -> None:
        return None

    async def undo_nothing() -> None:
        return None

    with pytest.raises(StepDefinitionError, match="step 'S': the compensation 'undo' must accept"):
        step("S", action, cast(Any, undo))
    with pytest.raises(StepDefinitionError, match="'undo_nothing' must accept"):
        step("S", action, cast(Any, undo_nothing))


def test_empty_name_is_rejected() -> None:
    with pytest.raises(StepDefinitionError, match="non-empty name"):
        step("  ", action)


def test_output_type_that_cannot_be_journaled_is_rejected_at_build_time() -> None:
    async def make(n: int) -> Opaque:
        return Opaque()

    expected = r"step 'Make': its output type .*Opaque.* cannot be stored"
    with pytest.raises(StepDefinitionError, match=expected):
        step("Make", make)


def test_step_response_defaults_and_failures() -> None:
    plain = StepResponse({"id": 1})
    assert plain.compensation_data == {"id": 1} and plain.data_is_output
    explicit = StepResponse({"id": 1}, compensation_data=None)
    assert explicit.compensation_data is None and not explicit.data_is_output
    failure = StepResponse.permanent_failure("declined", {"auth": "a"}, status_code=402)
    assert failure.is_failure and failure.failure == "declined" and failure.status_code == 402
    with pytest.raises(ValueError, match="non-empty message"):
        StepResponse.permanent_failure("", None)
    with pytest.raises(ValueError, match="4xx or 5xx"):
        StepResponse.permanent_failure("x", None, status_code=200)
