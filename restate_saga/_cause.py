"""`FailureCause`: why a saga is rolling back, as a typed value a compensation may accept."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from restate import TerminalError

from ._errors import StepFailedError, StepTimeoutError

CauseKind = Literal["own_failure", "later_failure", "cancelled", "timeout", "aborted"]
"""The kinds of failure that start a rollback, as `FailureCause.kind` names them."""


@dataclass(frozen=True, slots=True)
class FailureCause:
    """Why this compensation runs.

    - `own_failure`: this very step failed (a hybrid step undoing a partial action, or a
      permanent failure carrying data);
    - `later_failure`: a later step failed;
    - `cancelled`: the invocation was cancelled;
    - `timeout`: a step's deadline expired;
    - `aborted`: saga code raised a terminal error outside any step.
    """

    kind: CauseKind
    message: str
    status_code: int
    failed_step: str | None

    @property
    def is_cancellation(self) -> bool:
        """True when the saga was cancelled (e.g. void instead of refund)."""
        return self.kind == "cancelled"


def is_cancellation(error: TerminalError) -> bool:
    """Whether a terminal error is Restate's cancellation signal."""
    return type(error) is TerminalError and error.status_code == 409 and error.message == "cancelled"


def cause_of(error: TerminalError, step: str) -> FailureCause:
    """The cause, as seen by the compensation of `step`, of a rollback triggered by `error`."""
    if is_cancellation(error):
        return FailureCause("cancelled", error.message, error.status_code, None)
    if isinstance(error, StepTimeoutError):
        kind: CauseKind = "timeout"
        return FailureCause(kind, error.message, error.status_code, error.step)
    if isinstance(error, StepFailedError):
        kind = "own_failure" if error.step == step else "later_failure"
        return FailureCause(kind, error.message, error.status_code, error.step)
    return FailureCause("aborted", error.message, error.status_code, None)
