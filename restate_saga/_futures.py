"""Waiting on durable futures so that no action ever lands after the compensations have started."""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import Any

import restate
from restate import RestateDurableFuture, TerminalError

from ._errors import StepTimeoutError


async def settle(futures: Sequence[Awaitable[Any]]) -> TerminalError | None:
    """Wait until durable actions have settled; return the cancellation that arrived meanwhile, if any.

    The SDK raises a cancellation at the next await while actions keep running. Waiting for their
    own completion afterwards makes sure no action finishes its side effect after the
    compensations (its own undo included) have started.
    """
    durable = [f for f in futures if isinstance(f, RestateDurableFuture)]
    if not durable:  # an in-process double: settled when awaited; it may simulate a cancellation
        signals = [getattr(f, "cancel_signal", None) for f in futures]
        return next((s for s in signals if isinstance(s, TerminalError)), None)
    try:
        await restate.gather(*durable)
    except TerminalError as cancellation:
        await restate.gather(*durable)
        return cancellation
    return None


@dataclass(frozen=True, slots=True)
class Deadline:
    """One durable timer for a step or a whole group."""

    timer: restate.RestateDurableSleepFuture
    seconds: float


async def settle_within(
    futures: Sequence[Awaitable[Any]], deadline: Deadline | None, step: str
) -> TerminalError | None:
    """Settle `futures`, racing the deadline's timer if any; the interruption (timeout, cancellation), if any."""
    durable = [f for f in futures if isinstance(f, RestateDurableFuture)]
    if deadline is None or not durable:
        interruption = await settle(futures)
        if interruption is None and deadline is not None and any(getattr(f, "deadline_passed", False) for f in futures):
            return StepTimeoutError(step, deadline.seconds)  # an in-process double let the deadline pass
        return interruption
    timer = deadline.timer
    pending: list[Any] = list(durable)
    try:
        while pending:
            done, pending = await restate.wait_completed(*pending, timer)
            if timer in done and pending:
                # a late action finishes before anything is undone; a cancellation meanwhile wins
                return await settle(pending) or StepTimeoutError(step, deadline.seconds)
            pending = [f for f in pending if f is not timer]
    except TerminalError as cancellation:
        await settle(pending)
        return cancellation
    return None


async def interrupted(future: Awaitable[Any]) -> TerminalError | None:
    """Wait for `future`; return the cancellation instead if one arrives first."""
    if not isinstance(future, RestateDurableFuture):
        return None
    try:
        await restate.gather(future)
    except TerminalError as cancellation:
        return cancellation
    return None
