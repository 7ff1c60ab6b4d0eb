"""Sagas observed by OpenTelemetry (the SDK's in-memory span exporter and metric reader).

`Trip` runs Flight -> Hotel -> Car. The input chooses what goes wrong: `fail_at` (a step fails
for good), `undo_fails` (that step's compensation fails for good), `flaky` (Hotel fails
transiently that many times; it has 3 attempts). `TripReplayed` is the same saga with an
inactivity timeout of 0: the handler suspends, and is replayed, at every await. `TripBroken`
has an interceptor that raises in every hook, before the OpenTelemetry one.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import restate
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from restate import TerminalError

from restate_saga import (
    CompensationAttempt,
    CompensationDone,
    CompensationFailed,
    CompensationPolicy,
    EscalationParked,
    EscalationResumed,
    Proceed,
    RollbackStarted,
    SagaContext,
    SagaFinished,
    SagaInterceptor,
    SagaStarted,
    SagaStepOptions,
    SagaWorkflowOptions,
    StepAttempt,
    StepDone,
    StepFailed,
    StepRetryPolicy,
    create_saga_restate_workflow,
    create_saga_workflow,
    step,
)
from restate_saga.ext.otel import OpenTelemetryInterceptor
from tests.ledger import record

Data = dict[str, Any]

spans = InMemorySpanExporter()
tracer_provider = TracerProvider()
tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
metric_reader = InMemoryMetricReader()
meter_provider = MeterProvider(metric_readers=[metric_reader])
otel = OpenTelemetryInterceptor(tracer_provider=tracer_provider, meter_provider=meter_provider)

_flaky_left: dict[str, int] = {}


def _step(name: str, **options: Any) -> Any:
    async def action(data: Data) -> Data:
        record(data["run"], name)
        if data.get("fail_at") == name:
            raise TerminalError(f"{name} refused", 409)
        if name == "Hotel" and data.get("flaky"):
            left = _flaky_left.setdefault(data["run"], int(data["flaky"]))
            if left > 0:
                _flaky_left[data["run"]] = left - 1
                raise RuntimeError(f"{name} is busy")
        return data

    async def undo(data: Data) -> None:
        record(data["run"], f"undo {name}")
        if data.get("undo_fails") == name:
            raise TerminalError(f"undo {name} refused")

    return step(name, action, undo, options=SagaStepOptions(**options))


def trip() -> Any:
    hotel_retry = StepRetryPolicy(max_retry_attempts=3, initial_retry_interval=timedelta(milliseconds=50))
    return _step("Flight").then(_step("Hotel", retry=hotel_retry)).then(_step("Car"))


class Broken(SagaInterceptor):
    """Raises everywhere (it must change nothing)."""

    async def step_attempt(self, attempt: StepAttempt, proceed: Proceed) -> None:
        raise RuntimeError("broken step hook")

    async def compensation_attempt(self, attempt: CompensationAttempt, proceed: Proceed) -> None:
        await proceed()
        raise RuntimeError("broken compensation hook")

    def _raise(self, *_: object) -> None:
        raise ValueError("broken event hook")

    saga_started = step_done = step_failed = rollback_started = _raise  # type: ignore[assignment]
    compensation_done = compensation_failed = saga_finished = _raise  # type: ignore[assignment]


replays: list[tuple[str, str]] = []
"""(invocation id, step) of every `step_done` a replay-observing interceptor saw, replays included."""


class ReplayCounter(SagaInterceptor):
    observes_replays = True

    def step_done(self, event: StepDone) -> None:
        replays.append((event.saga.invocation_id, event.step))


Trip = create_saga_workflow("Trip", trip(), SagaWorkflowOptions(interceptors=[otel]))
TripReplayed = create_saga_workflow(
    "TripReplayed",
    trip(),
    SagaWorkflowOptions(interceptors=[otel, ReplayCounter()], inactivity_timeout=timedelta(0)),
)
TripBroken = create_saga_workflow("TripBroken", trip(), SagaWorkflowOptions(interceptors=[Broken(), otel]))

# --- escalation under replays: a compensation fails once, parks, an operator answers "retry" ------

seen: list[tuple[str, str, str]] = []
"""(invocation id, hook, step or detail) of every event reported (not replayed ones)."""


class Seen(SagaInterceptor):
    def saga_started(self, event: SagaStarted) -> None:
        seen.append((event.saga.invocation_id, "saga_started", ""))

    def step_done(self, event: StepDone) -> None:
        seen.append((event.saga.invocation_id, "step_done", event.step))

    def step_failed(self, event: StepFailed) -> None:
        seen.append((event.saga.invocation_id, "step_failed", event.step))

    def rollback_started(self, event: RollbackStarted) -> None:
        seen.append((event.saga.invocation_id, "rollback_started", ",".join(event.steps)))

    def compensation_done(self, event: CompensationDone) -> None:
        seen.append((event.saga.invocation_id, "compensation_done", event.step))

    def compensation_failed(self, event: CompensationFailed) -> None:
        seen.append((event.saga.invocation_id, "compensation_failed", event.step))

    def escalation_parked(self, event: EscalationParked) -> None:
        seen.append((event.saga.invocation_id, "escalation_parked", event.awakeable_id))

    def escalation_resumed(self, event: EscalationResumed) -> None:
        seen.append((event.saga.invocation_id, "escalation_resumed", event.decision))

    def saga_finished(self, event: SagaFinished) -> None:
        seen.append((event.saga.invocation_id, "saga_finished", event.outcome))


_undo_attempts: dict[str, int] = {}


async def _fragile_undo(data: Data) -> None:
    run = data["run"]
    _undo_attempts[run] = _undo_attempts.get(run, 0) + 1
    record(run, f"undo Fragile attempt {_undo_attempts[run]}")
    if _undo_attempts[run] == 1:
        raise TerminalError("ledger locked")


async def _pass(data: Data) -> Data:
    return data


async def _undo(data: Data) -> None: ...


def escalating() -> Any:
    return step("Start", _pass, _undo).then(step("Fragile", _pass, _fragile_undo)).then(_step("Doomed"))


_escalate = SagaWorkflowOptions(
    compensation=CompensationPolicy(on_failure="escalate"),
    interceptors=[otel, Seen()],
    inactivity_timeout=timedelta(0),
)
EscalatingReplayed = create_saga_workflow("EscalatingReplayed", escalating(), _escalate)
EscalatingWorkflow = create_saga_restate_workflow("EscalatingWorkflow", _escalate)


@EscalatingWorkflow.main("run")
async def escalating_workflow(saga: SagaContext, ctx: restate.WorkflowContext, data: Data) -> Data:
    return await escalating()(saga, data)


services = [Trip, TripReplayed, TripBroken, EscalatingReplayed, EscalatingWorkflow]
