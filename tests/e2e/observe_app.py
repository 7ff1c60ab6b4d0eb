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

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from restate import TerminalError

from restate_saga import (
    CompensationAttempt,
    Proceed,
    SagaInterceptor,
    SagaStepOptions,
    SagaWorkflowOptions,
    StepAttempt,
    StepDone,
    StepRetryPolicy,
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
    hotel_retry = StepRetryPolicy(max_retry_attempts=2, initial_retry_interval=timedelta(milliseconds=50))
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

services = [Trip, TripReplayed, TripBroken]
