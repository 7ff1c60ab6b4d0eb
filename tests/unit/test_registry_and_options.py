"""The error registry's resolution order, and how options map onto the SDK's types."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from restate import InvocationRetryPolicy, TerminalError

from restate_saga import (
    SagaWorkflowOptions,
    StepRetryPolicy,
    WorkflowRetryPolicy,
    clear_terminal_errors,
    create_saga_workflow,
    register_terminal_errors,
    resolve_terminal_error,
    set_global_error_mapper,
    unregister_terminal_errors,
)
from restate_saga import _registry as registry


class Registered(Exception):
    pass


class Mapped(Exception):
    pass


@pytest.fixture(autouse=True)
def _isolated_registry() -> Iterator[None]:
    saved_classes, saved_mapper = registry.registered_terminal_errors(), registry._global_mapper
    clear_terminal_errors()
    set_global_error_mapper(None)
    yield
    clear_terminal_errors()
    register_terminal_errors(saved_classes)
    set_global_error_mapper(saved_mapper)


def test_terminal_errors_stay_as_they_are() -> None:
    error = TerminalError("x", 418)
    assert resolve_terminal_error(error) is error


def test_unknown_errors_are_retried() -> None:
    assert resolve_terminal_error(RuntimeError("blip")) is None


def test_registered_classes_and_subclasses_are_terminal_until_unregistered() -> None:
    class Sub(Registered):
        pass

    register_terminal_errors([Registered])
    resolved = resolve_terminal_error(Sub("bad"))
    assert resolved is not None and resolved.message == "Sub: bad"
    unregister_terminal_errors([Registered])
    assert resolve_terminal_error(Sub("bad")) is None


def test_registering_a_non_exception_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="Exception subclasses"):
        register_terminal_errors([int])  # type: ignore[list-item]


def test_resolution_order_step_mapper_then_registry_then_global_mapper() -> None:
    register_terminal_errors([Registered])
    set_global_error_mapper(lambda e: TerminalError(f"global {e}", 422))

    def step_mapper(error: Exception) -> TerminalError | None:
        return TerminalError(f"step {error}", 409) if isinstance(error, Registered) else None

    by_step = resolve_terminal_error(Registered("r"), step_mapper)
    assert by_step is not None and (by_step.message, by_step.status_code) == ("step r", 409)
    by_registry = resolve_terminal_error(Registered("r"))
    assert by_registry is not None and by_registry.message == "Registered: r"
    by_global = resolve_terminal_error(Mapped("m"), step_mapper)
    assert by_global is not None and (by_global.message, by_global.status_code) == ("global m", 422)


def test_step_retry_policy_counts_every_attempt_as_the_seed_does() -> None:
    options = StepRetryPolicy(
        max_retry_attempts=3,
        initial_retry_interval=timedelta(seconds=1),
        retry_interval_factor=2.0,
        max_retry_interval=timedelta(seconds=30),
        max_duration=timedelta(minutes=5),
    ).to_run_options()
    assert options.max_attempts == 3  # restate-saga 0.1.0 passes it on as the SDK's max_attempts
    assert options.initial_retry_interval == timedelta(seconds=1)
    assert options.retry_interval_factor == 2.0
    assert options.max_retry_interval == timedelta(seconds=30)
    assert options.max_duration == timedelta(minutes=5)
    assert StepRetryPolicy().to_run_options().max_attempts is None


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"max_retry_attempts": -1}, "max_retry_attempts"),
        ({"max_duration": timedelta(seconds=1), "max_retry_duration": timedelta(seconds=2)}, "disagree"),
        ({"retry_interval_factor": 0.5}, "retry_interval_factor"),
        ({"initial_retry_interval": timedelta(seconds=-1)}, "initial_retry_interval"),
    ],
)
def test_bad_step_retry_policy_names_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        StepRetryPolicy(**kwargs)  # type: ignore[arg-type]


def test_workflow_options_map_onto_the_sdk_service() -> None:
    async def handler(saga: object, value: int) -> int:
        return value

    options = SagaWorkflowOptions(
        retry_policy=WorkflowRetryPolicy(max_attempts=3, on_max_attempts="pause"),
        idempotency_retention=timedelta(days=1),
        journal_retention=timedelta(hours=1),
        inactivity_timeout=timedelta(seconds=5),
        abort_timeout=timedelta(seconds=6),
        ingress_private=True,
    )
    service = create_saga_workflow("Mapped", handler, options)  # type: ignore[arg-type]
    assert service.invocation_retry_policy == InvocationRetryPolicy(max_attempts=3, on_max_attempts="pause")
    assert service.idempotency_retention == timedelta(days=1)
    assert service.journal_retention == timedelta(hours=1)
    assert service.inactivity_timeout == timedelta(seconds=5)
    assert service.abort_timeout == timedelta(seconds=6)
    assert service.ingress_private is True
    assert list(service.handlers) == ["run"]
    with pytest.raises(ValueError, match="max_attempts"):
        WorkflowRetryPolicy(max_attempts=0)


def test_step_retry_policy_takes_the_seed_field_names_and_order() -> None:
    seed_style = StepRetryPolicy(2, timedelta(seconds=9), timedelta(milliseconds=10), 3.0, timedelta(seconds=1))
    assert seed_style.max_retry_duration == seed_style.max_duration == timedelta(seconds=9)
    assert (seed_style.initial_retry_interval, seed_style.retry_interval_factor) == (timedelta(milliseconds=10), 3.0)
    assert seed_style.max_retry_interval == timedelta(seconds=1)
    options = seed_style.to_run_options()
    assert (options.max_attempts, options.max_duration) == (2, timedelta(seconds=9))
    assert StepRetryPolicy(max_duration=timedelta(seconds=4)).max_retry_duration == timedelta(seconds=4)
    four = timedelta(seconds=4)
    assert StepRetryPolicy(max_retry_duration=four) == StepRetryPolicy(max_duration=four)
    assert WorkflowRetryPolicy(3, "kill").on_max_attempts == "kill"
    assert StepRetryPolicy(max_retry_attempts=0).to_run_options().max_attempts == 0  # the SDK runs it once


@pytest.mark.parametrize(("limit", "runs"), [(0, 1), (1, 1), (2, 2), (3, 3)])
async def test_a_step_runs_at_most_max_retry_attempts_times(limit: int, runs: int) -> None:
    from restate_saga import SagaContext, SagaStepOptions, StepFailedError, step
    from restate_saga.testing import FakeContext

    calls: list[int] = []

    async def flaky(n: int) -> int:
        calls.append(n)
        raise RuntimeError("transient")

    limited = step("Flaky", flaky, options=SagaStepOptions(retry=StepRetryPolicy(max_retry_attempts=limit)))
    with pytest.raises(StepFailedError, match="'Flaky' failed"):
        await limited(SagaContext(FakeContext().as_context()), 1)
    assert len(calls) == runs
