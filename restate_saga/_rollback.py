"""Rolling a saga back: its registered compensations, newest first, each once, by its policy."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import Any

from restate import TerminalError

from ._attempts import intercepted_undo, undo
from ._cause import FailureCause, cause_of
from ._context import Pending, PendingCompensation, PendingRemote, SagaContext, members
from ._current import StepCall
from ._errors import CompensationFailure
from ._futures import interrupted, settle
from ._options import DEFAULT_RUN_OPTIONS

COMPENSATE_PREFIX = "compensate:"
"""Journal entries of compensations are named `compensate:<step>`."""
PARKED_PREFIX = "restate_saga:parked:"
"""Written only when an escalation parks: one entry `restate_saga:parked:<step>` holding the awakeable id."""
REMOTE_RUN = "run"
REMOTE_COMPENSATE = "compensate"
ESCALATION_CHOICES = ("retry", "skip")


@dataclass(frozen=True, slots=True)
class Rollback:
    """What a rollback did not manage: failed compensations, those left undone after a stop, and a
    cancellation that arrived while it ran."""

    failures: tuple[CompensationFailure, ...] = ()
    not_compensated: tuple[str, ...] = ()
    cancellation: TerminalError | None = None

    def then(self, later: Rollback) -> Rollback:
        """This rollback followed by `later`."""
        return Rollback(
            self.failures + later.failures,
            self.not_compensated + later.not_compensated,
            self.cancellation or later.cancellation,
        )


class RollbackIncomplete(TerminalError):
    """Internal: a partial rollback (of a fallback's first branch) failed or stopped; the saga ends."""

    def __init__(self, original: TerminalError, rollback: Rollback) -> None:
        super().__init__(original.message, original.status_code)
        self.original = original
        self.rollback = rollback


def cause_payload(cause: FailureCause) -> dict[str, object]:
    """A `FailureCause` as JSON data (sent to a remote saga's `compensate` handler)."""
    return {
        "kind": cause.kind,
        "message": cause.message,
        "status_code": cause.status_code,
        "failed_step": cause.failed_step,
    }


def _undo_future(
    saga: SagaContext, entry: PendingCompensation | PendingRemote, error: TerminalError, attempt: int = 0
) -> Awaitable[Any]:
    call = StepCall(entry.step, saga.invocation_id, entry.position, True)
    if isinstance(entry, PendingRemote):
        key = call.idempotency_key if attempt == 0 else f"{call.idempotency_key}:{attempt}"
        body = json.dumps(cause_payload(cause_of(error, entry.step))).encode()
        return saga.ctx.generic_call(entry.service, REMOTE_COMPENSATE, body, key=entry.key, idempotency_key=key)
    leaf = entry.leaf
    options = leaf.compensation_run_options
    if leaf.options.compensation_retry is None and saga.policy.retry is not None:
        options = saga.policy.retry_run_options
    name, cause, chain = COMPENSATE_PREFIX + leaf.name, cause_of(error, leaf.name), saga.chain.attempts
    if chain is None:
        return saga.ctx.run_typed(name, undo, options, leaf, entry.data, entry.failed, call, cause)
    return saga.ctx.run_typed(name, intercepted_undo, options, leaf, entry.data, entry.failed, call, cause, chain)


async def _run_concurrently(
    saga: SagaContext, entries: Sequence[PendingCompensation | PendingRemote], error: TerminalError
) -> Rollback:
    futures = [_undo_future(saga, entry, error) for entry in entries]
    cancellation = await settle(futures)
    failures: list[CompensationFailure] = []
    for entry, future in zip(entries, futures, strict=True):
        try:
            await future
        except TerminalError as failure:
            if saga.policy.on_failure != "escalate":
                saga.chain.compensation_failed(entry.step, entry.position, cause_of(error, entry.step), failure)
                failures.append(CompensationFailure(entry.step, failure.message))
                continue
            outcome = await _escalate(saga, entry, failure, error)
            failures.extend(outcome.failures)
            cancellation = cancellation or outcome.cancellation
        else:
            if saga.chain.hooks.compensation_done:
                saga.chain.compensation_done(entry.step, entry.position, cause_of(error, entry.step))
    return Rollback(tuple(failures), (), cancellation)


async def _escalate(
    saga: SagaContext, entry: PendingCompensation | PendingRemote, failure: TerminalError, error: TerminalError
) -> Rollback:
    """Park on a durable awakeable until an operator answers "retry" or "skip".

    A cancellation while parked leaves this compensation undone (reported) and lets the rollback go on.
    """
    chain, cause = saga.chain, cause_of(error, entry.step)
    reason, attempt = failure.message, 0
    failed: TerminalError | None = failure
    while True:
        awakeable_id, decision = saga.ctx.awakeable(type_hint=str)
        # decided before the park record: a replay still has that journal entry ahead of it
        fresh = chain.fresh()
        parked = _record_parked(saga, entry.step, awakeable_id)
        if failed is not None:
            chain.compensation_failed(entry.step, entry.position, cause, failed, fresh=fresh)
        chain.escalation_parked(entry.step, entry.position, cause, awakeable_id, reason, fresh)
        cancelled = await interrupted(parked) or await interrupted(decision)
        if cancelled is not None:
            chain.escalation_resumed(entry.step, entry.position, cause, "cancelled")
            left = CompensationFailure(entry.step, f"{reason} (left undone: cancelled while parked)")
            return Rollback((left,), (), cancelled)
        choice = await decision
        chain.escalation_resumed(entry.step, entry.position, cause, str(choice))
        if choice == "skip":
            return Rollback((CompensationFailure(entry.step, f"{reason} (skipped by an operator)"),))
        if choice != "retry":
            reason = f"{reason}; an operator answered {choice!r}, expected one of {ESCALATION_CHOICES}"
            failed = None
            continue
        attempt += 1
        retry = _undo_future(saga, entry, error, attempt)
        cancellation = await settle([retry])
        try:
            await retry
        except TerminalError as again:
            if cancellation is not None:
                chain.compensation_failed(entry.step, entry.position, cause, again)
                return Rollback((CompensationFailure(entry.step, again.message),), (), cancellation)
            reason, failed = again.message, again
            continue
        chain.compensation_done(entry.step, entry.position, cause)
        return Rollback((), (), cancellation)


def _record_parked(saga: SagaContext, step: str, awakeable_id: str) -> Awaitable[bytes]:
    """Journal the awakeable a parked compensation waits on, so that operators' tools can answer it."""

    async def record() -> bytes:
        return awakeable_id.encode()

    return saga.ctx.run_typed(PARKED_PREFIX + step, record, DEFAULT_RUN_OPTIONS)


async def compensate_entries(saga: SagaContext, entries: Sequence[Pending], error: TerminalError) -> Rollback:
    """Run the compensations of `entries` (oldest first as given) newest first, by the saga's policy."""
    pending = list(reversed(entries))
    if saga.chain.hooks.rollback_started:
        saga.chain.rollback_started(error, left_undone(pending))
    if saga.policy.parallel:
        return await _run_concurrently(saga, [member for entry in pending for member in members(entry)], error)
    rollback = Rollback()
    for index, entry in enumerate(pending):
        step_rollback = await _run_concurrently(saga, members(entry), error)
        rollback = rollback.then(step_rollback)
        if step_rollback.failures and saga.policy.on_failure == "stop":
            return rollback.then(Rollback((), left_undone(pending[index + 1 :])))
    return rollback


def left_undone(newest_first: Sequence[Pending]) -> tuple[str, ...]:
    """The step names of entries that will not be compensated, newest first."""
    return tuple(member.step for entry in newest_first for member in members(entry))


async def compensate(saga: SagaContext, error: TerminalError) -> Rollback:
    """Run every registered compensation newest first, each once, by the saga's policy."""
    return await compensate_entries(saga, saga.take(), error)
