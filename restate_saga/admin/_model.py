"""The saga status model: frozen values read from Restate's admin API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from .._plans import Plan

SagaStatus = Literal[
    "running",
    "succeeded",
    "compensating",
    "compensated",
    "compensation_failed",
    "parked",
    "paused",
    "cancelled",
]
"""Where a saga invocation stands.

- `running`: steps are running (or waiting: a durable timer, a promise, a backing-off retry);
- `succeeded`: it completed successfully;
- `compensating`: a step failed for good (or it was cancelled) and the rollback is running;
- `compensated`: it failed for good and every compensation ran;
- `compensation_failed`: it failed for good and at least one compensation failed or was left
  undone (a stopped rollback, a cancellation while parked, a kill);
- `parked`: an escalated compensation waits for an operator (`resolve`);
- `paused`: Restate paused it (its retries ran out under `on_max_attempts="pause"`, or by hand);
  its caller keeps waiting until it is resumed (`resume`) or cancelled;
- `cancelled`: it was cancelled and rolled back.
"""

SAGA_STATUSES: tuple[SagaStatus, ...] = (
    "running",
    "succeeded",
    "compensating",
    "compensated",
    "compensation_failed",
    "parked",
    "paused",
    "cancelled",
)

SagaKind = Literal["service", "virtual_object", "workflow", "remote"]
"""Which saga service runs it: `create_saga_workflow`, a saga virtual object, a Restate workflow, a remote saga."""

Outcome = Literal["succeeded", "failed", "running"]
"""What became of one step or compensation: its journal entry completed, failed for good, or has no result yet."""


@dataclass(frozen=True, slots=True)
class SagaService:
    """A registered service that publishes saga metadata."""

    name: str
    kind: SagaKind
    saga_handlers: tuple[str, ...]
    """Its handlers that run a saga (a remote saga's `compensate` included)."""
    compensate_handlers: tuple[str, ...]
    """Its handlers that only undo an earlier run (a remote saga's `compensate`)."""
    on_failure: str
    library_version: str
    fingerprint: str | None
    plan: Plan | None
    """The saga's plan, when the service published it (pipelines: yes; saga code: an opaque code plan)."""
    deployment_id: str | None


@dataclass(frozen=True, slots=True)
class Activity:
    """One step or one compensation of a saga, as its journal recorded it."""

    name: str
    """The step's name (for a compensation: the name of the step it undoes)."""
    outcome: Outcome
    attempts: int
    """Attempts Restate recorded: 1 plus each distinct transient failure (a failure that repeats
    the previous one word for word is recorded once, so this is a lower bound)."""
    started_at: datetime | None
    duration: timedelta | None
    """From its journal entry to its result; None while it runs."""
    error: str | None
    """Why it failed for good (or, while it is retried, its last transient failure)."""
    remote_service: str | None = None
    """For a remote sub-saga: the service called."""
    remote_invocation_id: str | None = None
    """For a remote sub-saga: the invocation that ran it (or undid it)."""
    value: str | None = None
    """Its journaled result, decoded for display (None when empty or not read)."""


@dataclass(frozen=True, slots=True)
class Parked:
    """An escalated compensation that waits for an operator's answer (`retry` or `skip`)."""

    step: str
    awakeable_id: str
    reason: str
    since: datetime | None


@dataclass(frozen=True, slots=True)
class SagaSummary:
    """One saga invocation, as `SagaAdmin.list` sees it (one SQL pass for all of them)."""

    invocation_id: str
    service: str
    handler: str
    key: str | None
    kind: SagaKind
    status: SagaStatus
    failed_step: str | None
    current_step: str | None
    """The step or compensation that ran last (`undo X` for a compensation)."""
    started_at: datetime | None
    duration: timedelta | None
    """Until it completed, or until now while it runs."""
    restate_status: str
    """Restate's own status of the invocation (`running`, `suspended`, `backing-off`, `paused`, `completed`, ...)."""


@dataclass(frozen=True, slots=True)
class Saga:
    """One saga invocation in full: its steps, then its compensations, in the order they ran."""

    summary: SagaSummary
    error: str | None
    """The error that started the rollback (or that ended the saga), without its status code."""
    status_code: int | None
    steps: tuple[Activity, ...]
    compensations: tuple[Activity, ...]
    left_undone: tuple[str, ...]
    """Steps whose compensation did not run to the end: failed, stopped, skipped, killed."""
    parked: Parked | None
    paused_reason: str | None
    """Why Restate paused it: its last failure, when paused."""
    deployment_id: str | None
    """The deployment the invocation is pinned to."""
    plan: Plan | None
    input: str | None = None
    """Its input, decoded for display."""
    output: str | None = None
    """Its result, decoded for display (None unless it succeeded)."""

    @property
    def invocation_id(self) -> str:
        """The Restate invocation id."""
        return self.summary.invocation_id

    @property
    def status(self) -> SagaStatus:
        """Where the saga stands."""
        return self.summary.status

    @property
    def failed_step(self) -> str | None:
        """The step that failed for good, if one did."""
        return self.summary.failed_step
