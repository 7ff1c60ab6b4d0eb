"""Interceptors: the one extension point of restate_saga (tracing, metrics, logs, your own hooks).

An interceptor subclasses `SagaInterceptor` and overrides the hooks it needs. Each hook receives
one frozen value naming the saga, the invocation, the step and whatever else applies. Two hooks
wrap each *attempt* of an action or a compensation: they run inside its durable `ctx.run_typed`
entry, so they see every retry, and never a result replayed from the journal. The other hooks
report what the saga did; the interpreter calls them once per event, not again when a replay
re-executes the handler. Interceptors add no journal entry, and one that raises is logged and
ignored: it cannot change a saga's outcome.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import ClassVar, Literal

from restate import TerminalError

from ._cause import FailureCause
from ._errors import SagaCompensatedError

Proceed = Callable[[], Awaitable[None]]
"""Runs the rest of the chain and the attempt itself; raises the attempt's failure, if any."""

SagaOutcome = Literal["succeeded", "compensated", "compensation_failed", "cancelled"]
"""How a saga ended: it succeeded, or it was rolled back (fully, not fully, or on cancellation)."""


@dataclass(frozen=True, slots=True)
class SagaInfo:
    """The saga run that an event belongs to."""

    name: str
    """The saga: its service (`"TravelBooking"`), or `"Object.handler"` for keyed and remote sagas."""
    invocation_id: str
    """The Restate invocation running it."""
    index: int
    """0 for the first saga this invocation runs (a handler may run several, one after another)."""
    headers: Mapping[str, str]
    """The headers the invocation was started with (e.g. a caller's W3C `traceparent`)."""
    attempt_headers: Mapping[str, str]
    """The headers of the current invocation attempt (Restate's `traceparent` when it traces)."""


# --- attempts: inside the durable action --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StepAttempt:
    """One attempt of a step's action (input of `SagaInterceptor.step_attempt`)."""

    saga: SagaInfo
    step: str
    position: int
    """The step's place in the saga (0 for the first), the same on every attempt and replay."""
    attempt: int
    """1 for the first attempt seen by this process, 2 for its first retry, ... (restarts at 1 after
    the service process restarts: Restate does not tell the action its retry count)."""
    idempotency_key: str
    mode: Literal["strict", "hybrid"]
    compensable: bool
    """Whether the step has a compensation."""


@dataclass(frozen=True, slots=True)
class CompensationAttempt:
    """One attempt of a compensation (input of `SagaInterceptor.compensation_attempt`)."""

    saga: SagaInfo
    step: str
    position: int
    attempt: int
    idempotency_key: str
    cause: FailureCause
    """Why the saga rolls back."""
    failed: bool
    """True when the step's own action had failed (a hybrid step undoing a partial action)."""


# --- events: what the saga did --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SagaStarted:
    """A saga started (its first execution, not a replay)."""

    saga: SagaInfo


@dataclass(frozen=True, slots=True)
class StepDone:
    """A step's action succeeded and its result is journaled (a remote sub-saga's call included)."""

    saga: SagaInfo
    step: str
    position: int
    idempotency_key: str


@dataclass(frozen=True, slots=True)
class StepFailed:
    """A step failed for good: a terminal error, retries exhausted, a permanent failure or its deadline."""

    saga: SagaInfo
    step: str
    position: int | None
    """None for a parallel group's deadline (no single step)."""
    idempotency_key: str | None
    error: TerminalError


@dataclass(frozen=True, slots=True)
class RollbackStarted:
    """The saga (or, for `or_else`, its first branch) starts running compensations."""

    saga: SagaInfo
    error: TerminalError
    """The failure (or cancellation) that triggered the rollback."""
    cause: FailureCause
    steps: tuple[str, ...]
    """The steps about to be compensated, newest first."""


@dataclass(frozen=True, slots=True)
class CompensationDone:
    """A compensation succeeded and its result is journaled."""

    saga: SagaInfo
    step: str
    position: int
    idempotency_key: str
    cause: FailureCause


@dataclass(frozen=True, slots=True)
class CompensationFailed:
    """A compensation failed for good (its step stays done)."""

    saga: SagaInfo
    step: str
    position: int
    idempotency_key: str
    cause: FailureCause
    error: TerminalError


@dataclass(frozen=True, slots=True)
class EscalationParked:
    """A failed compensation parked the saga on an awakeable until an operator answers."""

    saga: SagaInfo
    step: str
    position: int
    idempotency_key: str
    cause: FailureCause
    awakeable_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class EscalationResumed:
    """An operator answered a parked compensation (or the invocation was cancelled while parked)."""

    saga: SagaInfo
    step: str
    position: int
    idempotency_key: str
    cause: FailureCause
    decision: str
    """`"retry"`, `"skip"`, `"cancelled"`, or an unexpected answer (the saga then parks again)."""


@dataclass(frozen=True, slots=True)
class SagaFinished:
    """A saga ended."""

    saga: SagaInfo
    outcome: SagaOutcome
    error: SagaCompensatedError | None
    """What the invocation fails with (None when it succeeded or a remote undo succeeded)."""
    cause: FailureCause | None
    """Why it rolled back (None when it succeeded)."""


# --- the protocol -------------------------------------------------------------------------------


class SagaInterceptor:
    """Base class of interceptors: override the hooks you need; the defaults do nothing.

    Attempt hooks wrap an attempt: call `await proceed()` once to run it (it raises the attempt's
    failure: the exception the action raised, a `TerminalError` when it fails for good, or a
    `StepFailedError` for a permanent failure). What a hook returns or swallows does not change
    the attempt; to fail it on purpose, raise `AttemptRejectedError` before proceeding. The
    other hooks are plain callbacks. Hooks run in the order interceptors are configured (global
    ones first); an exception in a hook is logged on the `restate_saga` logger and ignored.
    """

    observes_replays: ClassVar[bool] = False
    """True for an interceptor whose event hooks must run again whenever a replay re-executes
    the handler (one that writes Restate state, which must be deterministic). Leave it False."""

    async def step_attempt(self, attempt: StepAttempt, proceed: Proceed) -> None:
        """Around one attempt of a step's action (inside its durable entry)."""
        await proceed()

    async def compensation_attempt(self, attempt: CompensationAttempt, proceed: Proceed) -> None:
        """Around one attempt of a compensation (inside its durable entry)."""
        await proceed()

    def saga_started(self, event: SagaStarted) -> None:
        """A saga started."""

    def step_done(self, event: StepDone) -> None:
        """A step succeeded."""

    def step_failed(self, event: StepFailed) -> None:
        """A step failed for good."""

    def rollback_started(self, event: RollbackStarted) -> None:
        """Compensations are about to run."""

    def compensation_done(self, event: CompensationDone) -> None:
        """A compensation succeeded."""

    def compensation_failed(self, event: CompensationFailed) -> None:
        """A compensation failed for good."""

    def escalation_parked(self, event: EscalationParked) -> None:
        """A failed compensation is parked for an operator."""

    def escalation_resumed(self, event: EscalationResumed) -> None:
        """A parked compensation was answered (or cancelled)."""

    def saga_finished(self, event: SagaFinished) -> None:
        """A saga ended."""


# --- global registration --------------------------------------------------------------------------

_registered: tuple[SagaInterceptor, ...] = ()


def check_interceptors(interceptors: Iterable[object], where: str) -> tuple[SagaInterceptor, ...]:
    """`interceptors` as a tuple, refusing anything that is not a `SagaInterceptor` (naming `where`)."""
    checked: list[SagaInterceptor] = []
    for index, each in enumerate(interceptors):
        if not isinstance(each, SagaInterceptor):
            raise TypeError(f"{where}[{index}] must be a SagaInterceptor instance, got {each!r}")
        checked.append(each)
    return tuple(checked)


def register_interceptors(*interceptors: SagaInterceptor) -> None:
    """Add interceptors for every saga of this process (after those already registered)."""
    global _registered
    combined = list(_registered)
    for each in check_interceptors(interceptors, "register_interceptors"):
        if each not in combined:
            combined.append(each)
    _registered = tuple(combined)


def unregister_interceptors(*interceptors: SagaInterceptor) -> None:
    """Remove globally registered interceptors."""
    global _registered
    removed = check_interceptors(interceptors, "unregister_interceptors")
    _registered = tuple(each for each in _registered if each not in removed)


def clear_interceptors() -> None:
    """Remove every globally registered interceptor."""
    global _registered
    _registered = ()


def registered_interceptors() -> tuple[SagaInterceptor, ...]:
    """The globally registered interceptors, in call order."""
    return _registered
