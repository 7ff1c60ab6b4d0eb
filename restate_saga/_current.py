"""`current_step()`: which action or compensation is running, and its stable idempotency key."""

from __future__ import annotations

from contextvars import ContextVar, Token
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class StepCall:
    """The running action or compensation of one step in one saga invocation."""

    step: str
    invocation_id: str
    position: int
    """The step's place in the saga (0 for the first step that ran), the same on every replay."""
    compensating: bool

    @property
    def idempotency_key(self) -> str:
        """A key that is identical across retries, replays and crashes of this action (or undo),
        and different for every other one: pass it to external services to deduplicate calls."""
        suffix = ":undo" if self.compensating else ""
        return f"{self.invocation_id}:{self.position}:{self.step}{suffix}"


_current: ContextVar[StepCall | None] = ContextVar("restate_saga_current_step", default=None)


def current_step() -> StepCall:
    """The action or compensation running now; raises `LookupError` outside of one."""
    call = _current.get()
    if call is None:
        raise LookupError("current_step() is only available inside a step's action or compensation")
    return call


def enter(call: StepCall) -> Token[StepCall | None]:
    """Mark `call` as running (returns a token for `leave`)."""
    return _current.set(call)


def leave(token: Token[StepCall | None]) -> None:
    """Undo `enter`."""
    _current.reset(token)
