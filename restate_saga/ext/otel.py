"""OpenTelemetry traces and metrics for sagas, built on the interceptor protocol (extra `otel`).

```python
from restate_saga import register_interceptors
from restate_saga.ext.otel import OpenTelemetryInterceptor

register_interceptors(OpenTelemetryInterceptor())   # every saga of this process
```

Spans (all `INTERNAL`):

- `saga <name>`: one per saga run, from its start to its outcome; status ERROR unless it
  succeeded; events `restate_saga.step_failed`, `restate_saga.rollback`,
  `restate_saga.escalation.parked` and `restate_saga.escalation.resumed`. Its parent is the trace
  context Restate propagates to the attempt (`traceparent`, when restate-server traces), else the
  caller's `traceparent` header, else none (a new trace).
- `step <name>`: one per attempt of a step's action, a child of the saga span and the current
  span while the action runs (so the action's own spans nest under it); status ERROR when the
  step fails for good (a terminal error, its retries exhausted, a permanent failure). An attempt
  that Restate retries gets the exception as an event and a `restate_saga.retry` event.
- `compensate <name>`: the same for each attempt of a compensation; ERROR when it fails for good.

Metrics: counters `restate_saga.sagas` (by `restate_saga.outcome`), `restate_saga.compensations`
(by outcome `done`/`failed`) and `restate_saga.escalations`; histograms `restate_saga.saga.duration`
and `restate_saga.step.duration` (per attempt, by outcome `ok`/`error`), in seconds.

A replay adds nothing: journaled steps do not run again, and events are not reported twice.
Spans live in this process: when the service restarts mid-saga (a crash) or another replica
continues it, the rest of the saga gets a new saga span marked `restate_saga.saga.resumed`, whose
duration is not recorded; what the lost process had not exported yet is lost with it.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata

from opentelemetry import context as otel_context
from opentelemetry import metrics, propagate, trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from restate import TerminalError

from .._interceptors import (
    CompensationAttempt,
    CompensationDone,
    CompensationFailed,
    EscalationParked,
    EscalationResumed,
    Proceed,
    RollbackStarted,
    SagaFinished,
    SagaInfo,
    SagaInterceptor,
    SagaStarted,
    StepAttempt,
    StepFailed,
)

__all__ = ["OpenTelemetryInterceptor"]

Attributes = Mapping[str, str | bool | int | float]

_MAX_OPEN = 65_536
"""Saga spans kept open at most (the oldest is dropped when a saga never ends in this process)."""


def _version() -> str:
    try:
        return metadata.version("restate_saga")
    except metadata.PackageNotFoundError:
        return ""


def _saga_attributes(info: SagaInfo) -> dict[str, str | bool | int | float]:
    return {"restate_saga.saga": info.name, "restate.invocation.id": info.invocation_id}


def _parent_of(info: SagaInfo) -> Context:
    """The trace context Restate propagated to this attempt, else the caller's, else none."""
    carrier = info.attempt_headers if "traceparent" in info.attempt_headers else info.headers
    return propagate.extract(carrier)


@dataclass(slots=True)
class _OpenSaga:
    span: Span
    started: float | None
    """`time.monotonic()` when this process saw the saga start (None for a resumed saga span)."""


@dataclass(slots=True)
class _Pending:
    """A failed attempt's span, waiting to learn whether Restate retries it or the step failed for good."""

    span: Span
    ended_ns: int
    saga: tuple[str, int]


class OpenTelemetryInterceptor(SagaInterceptor):
    """Spans and metrics for every saga it is configured on (see the module docstring).

    `tracer_provider` and `meter_provider` default to the global ones (`opentelemetry.trace` and
    `opentelemetry.metrics`), which do nothing until an OpenTelemetry SDK is set up.
    """

    def __init__(
        self,
        *,
        tracer_provider: trace.TracerProvider | None = None,
        meter_provider: metrics.MeterProvider | None = None,
    ) -> None:
        version = _version()
        self._tracer = trace.get_tracer("restate_saga", version, tracer_provider=tracer_provider)
        meter = metrics.get_meter("restate_saga", version, meter_provider=meter_provider)
        self._sagas = meter.create_counter("restate_saga.sagas", "{saga}", "Sagas that ended, by outcome")
        self._compensations = meter.create_counter(
            "restate_saga.compensations", "{compensation}", "Compensations that ended, by outcome (done, failed)"
        )
        self._escalations = meter.create_counter(
            "restate_saga.escalations", "{escalation}", "Failed compensations parked for an operator"
        )
        self._saga_duration = meter.create_histogram(
            "restate_saga.saga.duration", "s", "Time from a saga's start to its outcome"
        )
        self._step_duration = meter.create_histogram(
            "restate_saga.step.duration", "s", "Time of one attempt of a step's action, by outcome (ok, error)"
        )
        self._lock = threading.Lock()
        self._open: OrderedDict[tuple[str, int], _OpenSaga] = OrderedDict()
        self._pending: dict[str, _Pending] = {}

    # -- saga spans --------------------------------------------------------------------------------

    def _start_saga(self, info: SagaInfo, resumed: bool) -> _OpenSaga:
        attributes = _saga_attributes(info)
        if resumed:
            attributes["restate_saga.saga.resumed"] = True
        span = self._tracer.start_span(
            f"saga {info.name}", context=_parent_of(info), kind=SpanKind.INTERNAL, attributes=attributes
        )
        opened = _OpenSaga(span, None if resumed else time.monotonic())
        with self._lock:
            self._open[(info.invocation_id, info.index)] = opened
            if len(self._open) > _MAX_OPEN:
                self._open.popitem(last=False)
        return opened

    def _saga(self, info: SagaInfo) -> _OpenSaga:
        """The open saga span of `info`, started anew (resumed) when this process has none."""
        with self._lock:
            opened = self._open.get((info.invocation_id, info.index))
        return opened if opened is not None else self._start_saga(info, resumed=True)

    def saga_started(self, event: SagaStarted) -> None:
        self._start_saga(event.saga, resumed=False)

    def saga_finished(self, event: SagaFinished) -> None:
        info = event.saga
        opened = self._saga(info)
        with self._lock:
            self._open.pop((info.invocation_id, info.index), None)
            leftovers = [
                key for key, pending in self._pending.items() if pending.saga == (info.invocation_id, info.index)
            ]
            pending = [self._pending.pop(key) for key in leftovers]
        for each in pending:  # no verdict came: they were retried by attempts this process did not see
            each.span.end(end_time=each.ended_ns)
        span = opened.span
        span.set_attribute("restate_saga.outcome", event.outcome)
        if event.cause is not None:
            span.set_attribute("restate_saga.cause", event.cause.kind)
            if event.cause.failed_step is not None:
                span.set_attribute("restate_saga.failed_step", event.cause.failed_step)
        if event.outcome != "succeeded":
            span.set_status(Status(StatusCode.ERROR, event.error.message if event.error else event.outcome))
        span.end()
        labels = {"restate_saga.saga": info.name, "restate_saga.outcome": event.outcome}
        self._sagas.add(1, labels)
        if opened.started is not None:
            self._saga_duration.record(time.monotonic() - opened.started, labels)

    def _saga_event(self, info: SagaInfo, name: str, attributes: Attributes) -> None:
        self._saga(info).span.add_event(name, attributes)

    def step_failed(self, event: StepFailed) -> None:
        attributes: dict[str, str | bool | int | float] = {
            "restate_saga.step": event.step,
            "error.message": event.error.message,
        }
        if event.position is not None:
            attributes["restate_saga.position"] = event.position
        self._saga_event(event.saga, "restate_saga.step_failed", attributes)
        if event.idempotency_key is not None:
            self._verdict(event.idempotency_key, event.error)

    def rollback_started(self, event: RollbackStarted) -> None:
        attributes: dict[str, str | bool | int | float] = {
            "restate_saga.cause": event.cause.kind,
            "restate_saga.compensations": ", ".join(event.steps),
            "error.message": event.error.message,
        }
        if event.cause.failed_step is not None:
            attributes["restate_saga.failed_step"] = event.cause.failed_step
        self._saga_event(event.saga, "restate_saga.rollback", attributes)

    def compensation_done(self, event: CompensationDone) -> None:
        self._compensations.add(
            1, {"restate_saga.saga": event.saga.name, "restate_saga.step": event.step, "restate_saga.outcome": "done"}
        )

    def compensation_failed(self, event: CompensationFailed) -> None:
        self._compensations.add(
            1, {"restate_saga.saga": event.saga.name, "restate_saga.step": event.step, "restate_saga.outcome": "failed"}
        )
        self._verdict(event.idempotency_key, event.error)

    def escalation_parked(self, event: EscalationParked) -> None:
        self._escalations.add(1, {"restate_saga.saga": event.saga.name, "restate_saga.step": event.step})
        attributes = {
            "restate_saga.step": event.step,
            "restate_saga.awakeable_id": event.awakeable_id,
            "error.message": event.reason,
        }
        self._saga_event(event.saga, "restate_saga.escalation.parked", attributes)

    def escalation_resumed(self, event: EscalationResumed) -> None:
        attributes = {"restate_saga.step": event.step, "restate_saga.decision": event.decision}
        self._saga_event(event.saga, "restate_saga.escalation.resumed", attributes)

    # -- attempt spans -----------------------------------------------------------------------------

    def _verdict(self, key: str, error: TerminalError | None) -> None:
        """A failed attempt of `key` was retried (`error` None) or was its last one."""
        with self._lock:
            pending = self._pending.pop(key, None)
        if pending is None:
            return
        span = pending.span
        if error is None:
            span.add_event("restate_saga.retry", timestamp=pending.ended_ns)
        else:
            span.set_status(Status(StatusCode.ERROR, error.message))
        span.end(end_time=pending.ended_ns)

    async def _attempt(self, name: str, info: SagaInfo, key: str, attributes: Attributes, proceed: Proceed) -> None:
        """Run an attempt inside its span (the current span while it runs)."""
        self._verdict(key, None)  # a previous attempt of the same key failed and is being retried
        parent = trace.set_span_in_context(self._saga(info).span)
        span = self._tracer.start_span(name, context=parent, kind=SpanKind.INTERNAL, attributes=attributes)
        token = otel_context.attach(trace.set_span_in_context(span))
        try:
            await proceed()
        except TerminalError as error:  # failed for good at this attempt
            span.record_exception(error)
            span.set_status(Status(StatusCode.ERROR, error.message))
            span.end()
            raise
        except Exception as error:  # Restate retries it, unless its retries run out
            span.record_exception(error)
            with self._lock:
                self._pending[key] = _Pending(span, time.time_ns(), (info.invocation_id, info.index))
            raise
        finally:
            otel_context.detach(token)
        span.end()

    async def step_attempt(self, attempt: StepAttempt, proceed: Proceed) -> None:
        attributes: dict[str, str | bool | int | float] = {
            **_saga_attributes(attempt.saga),
            "restate_saga.step": attempt.step,
            "restate_saga.position": attempt.position,
            "restate_saga.attempt": attempt.attempt,
            "restate_saga.idempotency_key": attempt.idempotency_key,
            "restate_saga.mode": attempt.mode,
        }
        started = time.monotonic()
        outcome = "error"
        try:
            await self._attempt(f"step {attempt.step}", attempt.saga, attempt.idempotency_key, attributes, proceed)
            outcome = "ok"
        finally:
            labels = {"restate_saga.saga": attempt.saga.name, "restate_saga.step": attempt.step}
            self._step_duration.record(time.monotonic() - started, {**labels, "restate_saga.outcome": outcome})

    async def compensation_attempt(self, attempt: CompensationAttempt, proceed: Proceed) -> None:
        attributes: dict[str, str | bool | int | float] = {
            **_saga_attributes(attempt.saga),
            "restate_saga.step": attempt.step,
            "restate_saga.position": attempt.position,
            "restate_saga.attempt": attempt.attempt,
            "restate_saga.idempotency_key": attempt.idempotency_key,
            "restate_saga.cause": attempt.cause.kind,
            "restate_saga.failed": attempt.failed,
        }
        if attempt.cause.failed_step is not None:
            attributes["restate_saga.failed_step"] = attempt.cause.failed_step
        await self._attempt(f"compensate {attempt.step}", attempt.saga, attempt.idempotency_key, attributes, proceed)
