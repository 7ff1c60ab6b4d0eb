"""Retry policies and options for steps and saga services, mapped onto the SDK's own types."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

import restate
from restate import InvocationRetryPolicy, RunOptions
from restate.serde import Serde

from ._encryption import EncryptionCodec
from ._interceptors import SagaInterceptor, check_interceptors


class PassThroughBytes(Serde[bytes]):
    """Journal values are encoded by restate_saga itself; the SDK stores the bytes unchanged."""

    def deserialize(self, buf: bytes) -> bytes | None:
        return buf

    def serialize(self, obj: bytes | None) -> bytes:
        return b"" if obj is None else obj


PASS_THROUGH = PassThroughBytes()
DEFAULT_RUN_OPTIONS: RunOptions[bytes] = RunOptions(serde=PASS_THROUGH)

ErrorMapper = Callable[[Exception], restate.TerminalError | None]
"""Turns an exception into a `TerminalError` (compensate now) or returns None (let Restate retry)."""

ErrorClass = type[Exception]
"""An exception class that `register_terminal_errors` accepts."""


class FiniteCompensationRetryWarning(UserWarning):
    """A compensation may give up after a bounded number of retries: a rollback could stop halfway."""


def warn_finite_compensation_retry(where: str) -> None:
    """Warn that a finite compensation retry policy can leave a saga half rolled back."""
    warnings.warn(
        f"{where} is finite: when its attempts run out the compensation is recorded as failed and the step "
        "stays done (a data-loss hazard). Prefer the default (retry until it succeeds), or pass "
        "allow_compensation_to_give_up=True to acknowledge it.",
        FiniteCompensationRetryWarning,
        stacklevel=4,
    )


@dataclass(frozen=True, slots=True)
class StepRetryPolicy:
    """How Restate retries one durable action (a step's forward action or its compensation).

    `max_retry_attempts` is the SDK's `max_attempts`, as in restate-saga 0.1.0: it counts every
    attempt, the first one included (3 means at most 3 runs; 0 and 1 both mean a single run, as
    in the SDK). When the attempts or
    `max_retry_duration` run out the action fails terminally. Unset fields fall back to the
    invocation's retry policy (by default: retry until it succeeds). The fields come in 0.1.0's
    order; `max_duration` is another name of `max_retry_duration` (either may be given; both
    read the same).
    """

    max_retry_attempts: int | None = None
    max_retry_duration: timedelta | None = None
    initial_retry_interval: timedelta | None = None
    retry_interval_factor: float | None = None
    max_retry_interval: timedelta | None = None
    max_duration: timedelta | None = None

    def __post_init__(self) -> None:
        if self.max_retry_attempts is not None and self.max_retry_attempts < 0:
            raise ValueError(
                "StepRetryPolicy.max_retry_attempts counts every attempt, the first one included, and must be "
                f">= 0, got {self.max_retry_attempts}"
            )
        if self.max_retry_duration is not None:
            if self.max_duration is not None and self.max_duration != self.max_retry_duration:
                raise ValueError(
                    "StepRetryPolicy: max_duration and max_retry_duration (its 0.1.0 name) disagree: "
                    f"{self.max_duration} != {self.max_retry_duration}; give one of them"
                )
            object.__setattr__(self, "max_duration", self.max_retry_duration)
        object.__setattr__(self, "max_retry_duration", self.max_duration)
        if self.retry_interval_factor is not None and self.retry_interval_factor < 1.0:
            raise ValueError(f"StepRetryPolicy.retry_interval_factor must be >= 1.0, got {self.retry_interval_factor}")
        for field_name in ("initial_retry_interval", "max_retry_interval", "max_duration"):
            value: timedelta | None = getattr(self, field_name)
            if value is not None and value < timedelta(0):
                raise ValueError(f"StepRetryPolicy.{field_name} must not be negative, got {value}")

    @property
    def is_finite(self) -> bool:
        """True when this policy can give up (a bounded number of attempts or a deadline)."""
        return self.max_retry_attempts is not None or self.max_duration is not None

    def to_run_options(self) -> RunOptions[bytes]:
        """The SDK's `RunOptions` for this policy (values travel as encoded bytes)."""
        return RunOptions(
            serde=PASS_THROUGH,
            max_attempts=self.max_retry_attempts,
            max_duration=self.max_duration,
            initial_retry_interval=self.initial_retry_interval,
            max_retry_interval=self.max_retry_interval,
            retry_interval_factor=self.retry_interval_factor,
        )


@dataclass(frozen=True, slots=True)
class SagaStepOptions:
    """Per-step options.

    - `retry`: retry policy of the forward action;
    - `compensation_retry`: retry policy of the compensation (default: retry until it succeeds);
    - `as_terminal_error`: this step's own error mapper, consulted before the global registry.
    """

    retry: StepRetryPolicy | None = None
    compensation_retry: StepRetryPolicy | None = None
    as_terminal_error: ErrorMapper | None = None
    allow_compensation_to_give_up: bool = False
    """Acknowledge that a finite `compensation_retry` may leave this step undone (silences the warning)."""

    def __post_init__(self) -> None:
        if self.compensation_retry is not None and self.compensation_retry.is_finite:
            if not self.allow_compensation_to_give_up:
                warn_finite_compensation_retry("SagaStepOptions.compensation_retry")


@dataclass(frozen=True, slots=True)
class CompensationPolicy:
    """How a saga rolls back.

    - `on_failure="continue"` (default): a compensation that fails for good is recorded and the
      others still run; the final error lists every failure. `"stop"` ends the rollback at the
      first failed compensation (Temporal's default) and names the ones left undone.
      `"escalate"` parks the saga on a durable awakeable until an operator resolves it with
      `"retry"` (run the compensation again) or `"skip"` (record it as failed and go on); saga
      workflows and objects then expose a shared `status` handler that shows what is parked.
    - `parallel=True`: start every registered compensation at once (one durable entry each,
      awaited together). Faster; only for compensations that do not depend on each other's order.
    - `retry`: retry policy for compensations whose step sets no `compensation_retry`
      (default: retry until it succeeds).
    """

    on_failure: Literal["continue", "stop", "escalate"] = "continue"
    parallel: bool = False
    retry: StepRetryPolicy | None = None
    allow_compensation_to_give_up: bool = False
    """Acknowledge that a finite `retry` may leave compensations undone (silences the warning)."""
    retry_run_options: RunOptions[bytes] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.retry is not None and self.retry.is_finite and not self.allow_compensation_to_give_up:
            warn_finite_compensation_retry("CompensationPolicy.retry")
        options = self.retry.to_run_options() if self.retry is not None else DEFAULT_RUN_OPTIONS
        object.__setattr__(self, "retry_run_options", options)
        if self.on_failure not in ("continue", "stop", "escalate"):
            raise ValueError(
                f"CompensationPolicy.on_failure must be 'continue', 'stop' or 'escalate', got {self.on_failure!r}"
            )


DEFAULT_COMPENSATION_POLICY = CompensationPolicy()


@dataclass(frozen=True, slots=True)
class WorkflowRetryPolicy:
    """Invocation-level retry policy of a saga service, mapped onto `restate.InvocationRetryPolicy`.

    `max_attempts` counts the first attempt. `on_max_attempts` is what Restate does when they run
    out: "pause" (an operator may resume) or "kill".
    """

    max_attempts: int | None = None
    on_max_attempts: Literal["pause", "kill"] | None = None
    initial_interval: timedelta | None = None
    exponentiation_factor: float | None = None
    max_interval: timedelta | None = None

    def __post_init__(self) -> None:
        if self.max_attempts is not None and self.max_attempts < 1:
            raise ValueError(f"WorkflowRetryPolicy.max_attempts must be >= 1, got {self.max_attempts}")

    def to_invocation_retry_policy(self) -> InvocationRetryPolicy:
        """The SDK's `InvocationRetryPolicy` for this policy."""
        return InvocationRetryPolicy(
            initial_interval=self.initial_interval,
            exponentiation_factor=self.exponentiation_factor,
            max_interval=self.max_interval,
            max_attempts=self.max_attempts,
            on_max_attempts=self.on_max_attempts,
        )


@dataclass(frozen=True, slots=True)
class SagaWorkflowOptions:
    """Service-level options of a saga service.

    Each of the first seven maps onto the SDK's service option of the same name (`retry_policy`
    onto `invocation_retry_policy`); `compensation` is the saga's rollback policy.
    """

    retry_policy: WorkflowRetryPolicy | None = None
    idempotency_retention: timedelta | None = None
    journal_retention: timedelta | None = None
    inactivity_timeout: timedelta | None = None
    abort_timeout: timedelta | None = None
    ingress_private: bool | None = None
    description: str | None = None
    compensation: CompensationPolicy = DEFAULT_COMPENSATION_POLICY
    record_plan_fingerprint: bool = False
    """Journal the plan's fingerprint as each invocation starts (one extra entry) and refuse, with a
    clear retryable error, to replay an invocation under a deployment whose plan has changed."""
    codec: EncryptionCodec | None = None
    """Encrypt the values this service journals (`EncryptionCodec`); None journals them as they are."""
    interceptors: Sequence[SagaInterceptor] = ()
    """Interceptors of this service's sagas, called in order after the globally registered ones."""

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "interceptors", check_interceptors(self.interceptors, "SagaWorkflowOptions.interceptors")
        )


def service_options(options: SagaWorkflowOptions | None) -> dict[str, Any]:
    """`SagaWorkflowOptions` as keyword arguments of `restate.Service`/`VirtualObject`/`Workflow`."""
    if options is None:
        return {}
    kwargs: dict[str, Any] = {
        "description": options.description,
        "inactivity_timeout": options.inactivity_timeout,
        "abort_timeout": options.abort_timeout,
        "journal_retention": options.journal_retention,
        "idempotency_retention": options.idempotency_retention,
        "ingress_private": options.ingress_private,
    }
    if options.retry_policy is not None:
        kwargs["invocation_retry_policy"] = options.retry_policy.to_invocation_retry_policy()
    return {key: value for key, value in kwargs.items() if value is not None}
