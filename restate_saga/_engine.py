"""The interpreter: runs plan nodes against a Restate context and rolls back on terminal failure."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

import restate
from restate import RestateDurableFuture, TerminalError

from ._cause import FailureCause, cause_of, is_cancellation
from ._codec import adapter_for
from ._context import Pending, PendingCompensation, PendingGroup, PendingRemote, SagaContext, SagaEvent
from ._current import StepCall
from ._errors import CompensationFailure, SagaCompensatedError, StepFailedError, StepTimeoutError
from ._options import DEFAULT_COMPENSATION_POLICY, CompensationPolicy
from ._plan import Fallback, Leaf, MapNode, Mode, Nested, Node, Parallel, Remote, Then, Timeout
from ._validation import validate_input

__all__ = ["compensate", "execute", "run_leaf", "run_saga"]

I = TypeVar("I")
O = TypeVar("O")

COMPENSATE_PREFIX = "compensate:"
REMOTE_RUN = "run"
REMOTE_COMPENSATE = "compensate"


# --- one step --------------------------------------------------------------------------------


@dataclass(slots=True)
class _Started:
    """A step whose durable action has been requested but not yet settled."""

    leaf: Leaf
    position: int
    slot: int
    future: Awaitable[bytes]


def _start_leaf(saga: SagaContext, leaf: Leaf, value: object) -> _Started:
    if leaf.input_validator is not None:
        value = validate_input(f"step {leaf.name!r}", leaf.input_validator, value)
    stack = saga._stack  # pyright: ignore[reportPrivateUsage]
    position = saga.next_position()
    slot = -1
    if leaf.compensation is not None and leaf.mode is Mode.HYBRID:
        slot = len(stack)
        stack.append(PendingCompensation(leaf, value, True, position))
    call = StepCall(leaf.name, saga.invocation_id, position, False)
    future = saga.ctx.run_typed(leaf.name, leaf.attempt, leaf.run_options, value, call)
    return _Started(leaf, position, slot, future)


async def _finish_leaf(saga: SagaContext, started: _Started) -> object:
    """Read a settled step's result, register its compensation, and return its output."""
    leaf = started.leaf
    try:
        raw = await started.future
    except TerminalError as error:
        raise StepFailedError(leaf.name, error.message, error.status_code) from error
    result = leaf.codec.decode(raw)
    if leaf.compensation is not None:
        stack = saga._stack  # pyright: ignore[reportPrivateUsage]
        entry = (
            PendingCompensation(leaf, result.data, result.failure is not None, started.position)
            if result.has_data
            else None
        )
        if started.slot >= 0:
            stack[started.slot] = entry
        elif entry is not None and result.failure is None:
            stack.append(entry)
    if result.failure is not None:
        raise StepFailedError(leaf.name, result.failure, result.status_code)
    saga.notify("step_done", leaf.name)
    return result.output


async def run_leaf(saga: SagaContext, leaf: Leaf, value: object) -> object:
    """Run one step: one `ctx.run_typed` entry; registers its compensation by its mode."""
    started = _start_leaf(saga, leaf, value)
    cancellation = await settle([started.future])
    if cancellation is not None:
        await _finish_quietly(saga, [started])
        raise cancellation
    return await _finish_leaf(saga, started)


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


async def _finish_quietly(saga: SagaContext, started: Sequence[_Started]) -> list[TerminalError]:
    """Finish settled steps (registering their compensations); collect their failures."""
    errors: list[TerminalError] = []
    for each in started:
        try:
            await _finish_leaf(saga, each)
        except TerminalError as error:
            errors.append(error)
    return errors


# --- groups, fallbacks, deadlines ---------------------------------------------------------------


async def _run_parallel(saga: SagaContext, group: Parallel, value: object, seconds: float | None) -> object:
    stack = saga._stack  # pyright: ignore[reportPrivateUsage]
    base = len(stack)
    deadline = _Deadline(saga.ctx.sleep(timedelta(seconds=seconds)), seconds) if seconds is not None else None
    window = group.max_concurrency or len(group.branches)
    outputs: list[object] = []
    failure: TerminalError | None = None
    for start in range(0, len(group.branches), window):
        started = [_start_leaf(saga, leaf, value) for leaf in group.branches[start : start + window]]
        interruption = await _wait(saga, [s.future for s in started], deadline, group.name)
        for each in started:
            try:
                outputs.append(await _finish_leaf(saga, each))
            except TerminalError as error:
                failure = failure or error
        failure = interruption or failure
        if failure is not None:
            break
    # branch order, whatever order the branches registered in (hybrid ones register at start)
    members = sorted((e for e in stack[base:] if isinstance(e, PendingCompensation)), key=lambda e: e.position)
    del stack[base:]
    if group.parallel_compensation and members:
        stack.append(PendingGroup(tuple(members)))
    else:
        stack.extend(members)
    if failure is not None:
        raise failure
    return tuple(outputs)


@dataclass(frozen=True, slots=True)
class _Deadline:
    """One durable timer for a step or a whole group."""

    timer: restate.RestateDurableSleepFuture
    seconds: float


async def _wait(
    saga: SagaContext, futures: Sequence[Awaitable[Any]], deadline: _Deadline | None, step: str
) -> TerminalError | None:
    """Settle `futures`, racing the deadline's timer if any; the interruption (timeout, cancellation), if any."""
    durable = [f for f in futures if isinstance(f, RestateDurableFuture)]
    if deadline is None or not durable:
        return await settle(futures)
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


async def _run_timeout(saga: SagaContext, node: Timeout, value: object) -> object:
    body = node.body
    if isinstance(body, Parallel):
        return await _run_parallel(saga, body, value, node.seconds)
    started = _start_leaf(saga, body, value)
    deadline = _Deadline(saga.ctx.sleep(timedelta(seconds=node.seconds)), node.seconds)
    interruption = await _wait(saga, [started.future], deadline, body.name)
    if interruption is not None:
        await _finish_quietly(saga, [started])
        raise interruption
    return await _finish_leaf(saga, started)


async def _run_fallback(saga: SagaContext, node: Fallback, value: object) -> object:
    stack = saga._stack  # pyright: ignore[reportPrivateUsage]
    mark = len(stack)
    try:
        return await execute(node.primary, saga, value)
    except TerminalError as error:
        if is_cancellation(error):
            raise
        entries = stack[mark:]
        del stack[mark:]  # taken off the stack first: whatever happens, they are not undone twice
        rollback = await _compensate_entries(saga, entries, error)
        if rollback.cancellation is not None:
            raise rollback.cancellation from error
        if rollback.failures or rollback.not_compensated:
            # the first branch could not be fully undone: no fallback; the saga rolls back as a whole
            raise RollbackIncomplete(error, rollback) from error
    return await execute(node.alternative, saga, value)


async def _run_remote(saga: SagaContext, node: Remote, value: object) -> object:
    position = saga.next_position()
    key = f"{saga.invocation_id}:{position}:{node.name}"
    try:
        payload = adapter_for(node.input_type).dump_json(value, warnings="error")
    except ValueError as error:
        raise StepFailedError(node.name, f"its input cannot be serialized: {error}") from error
    future = saga.ctx.generic_call(node.service, REMOTE_RUN, payload, key=key, idempotency_key=key)
    cancellation = await settle([future])
    try:
        raw = await future
    except TerminalError as error:
        if cancellation is not None:
            raise cancellation from error
        raise StepFailedError(node.name, error.message, error.status_code) from error
    saga._stack.append(PendingRemote(node.name, node.service, key, position))  # pyright: ignore[reportPrivateUsage]
    if cancellation is not None:
        raise cancellation
    try:
        return adapter_for(node.output_type).validate_json(raw or b"null")
    except ValueError as error:  # registered above: the remote saga is undone with the rest
        raise StepFailedError(node.name, f"its result does not match the declared type: {error}") from error


async def execute(node: Node, saga: SagaContext, value: object) -> object:
    """Run a plan node; long `then` chains run in a loop, not by recursion."""
    todo: list[Node] = [node]
    while todo:
        current = todo.pop()
        if isinstance(current, Leaf):
            value = await run_leaf(saga, current, value)
        elif isinstance(current, Then):
            todo.append(current.second)
            todo.append(current.first)
        elif isinstance(current, MapNode):
            value = current.fn(value)
        elif isinstance(current, Nested):
            value = await execute(current.body, saga, value)
        elif isinstance(current, Parallel):
            value = await _run_parallel(saga, current, value, None)
        elif isinstance(current, Timeout):
            value = await _run_timeout(saga, current, value)
        elif isinstance(current, Fallback):
            value = await _run_fallback(saga, current, value)
        elif isinstance(current, Remote):
            value = await _run_remote(saga, current, value)
        else:
            value = await current.fn(saga, value)
    return value


# --- rolling back ---------------------------------------------------------------------------------


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
    return saga.ctx.run_typed(
        COMPENSATE_PREFIX + leaf.name, leaf.undo, options, entry.data, entry.failed, call, cause_of(error, leaf.name)
    )


def cause_payload(cause: FailureCause) -> dict[str, object]:
    """A `FailureCause` as JSON data (sent to a remote saga's `compensate` handler)."""
    return {
        "kind": cause.kind,
        "message": cause.message,
        "status_code": cause.status_code,
        "failed_step": cause.failed_step,
    }


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
                failures.append(CompensationFailure(entry.step, failure.message))
                continue
            outcome = await _escalate(saga, entry, failure.message, error)
            failures.extend(outcome.failures)
            cancellation = cancellation or outcome.cancellation
        else:
            saga.notify("compensated", entry.step)
    return Rollback(tuple(failures), (), cancellation)


ESCALATION_CHOICES = ("retry", "skip")


async def _escalate(
    saga: SagaContext, entry: PendingCompensation | PendingRemote, reason: str, error: TerminalError
) -> Rollback:
    """Park on a durable awakeable until an operator answers "retry" or "skip".

    A cancellation while parked leaves this compensation undone (reported) and lets the rollback go on.
    """
    attempt = 0
    while True:
        awakeable_id, decision = saga.ctx.awakeable(type_hint=str)
        saga.notify("parked", entry.step, f"{awakeable_id} {reason}")
        logging.getLogger("restate_saga").warning(
            "saga compensation %r failed (%s); parked on awakeable %s: resolve it with one of %s",
            entry.step,
            reason,
            awakeable_id,
            ESCALATION_CHOICES,
        )
        cancelled = await _interrupted(decision)
        if cancelled is not None:
            saga.notify("resumed", entry.step, "cancelled")
            left = CompensationFailure(entry.step, f"{reason} (left undone: cancelled while parked)")
            return Rollback((left,), (), cancelled)
        choice = await decision
        saga.notify("resumed", entry.step, str(choice))
        if choice == "skip":
            return Rollback((CompensationFailure(entry.step, f"{reason} (skipped by an operator)"),))
        if choice != "retry":
            reason = f"{reason}; an operator answered {choice!r}, expected one of {ESCALATION_CHOICES}"
            continue
        attempt += 1
        retry = _undo_future(saga, entry, error, attempt)
        cancellation = await settle([retry])
        try:
            await retry
        except TerminalError as again:
            if cancellation is not None:
                return Rollback((CompensationFailure(entry.step, again.message),), (), cancellation)
            reason = again.message
            continue
        saga.notify("compensated", entry.step)
        return Rollback((), (), cancellation)


async def _interrupted(future: Awaitable[Any]) -> TerminalError | None:
    """Wait for `future`; return the cancellation instead if one arrives first."""
    if not isinstance(future, RestateDurableFuture):
        return None
    try:
        await restate.gather(future)
    except TerminalError as cancellation:
        return cancellation
    return None


def _members(entry: Pending) -> tuple[PendingCompensation | PendingRemote, ...]:
    return entry.entries if isinstance(entry, PendingGroup) else (entry,)


async def _compensate_entries(saga: SagaContext, stack: Sequence[Pending | None], error: TerminalError) -> Rollback:
    pending = [entry for entry in reversed(stack) if entry is not None]
    if saga.policy.parallel:
        return await _run_concurrently(saga, [e for entry in pending for e in _members(entry)], error)
    rollback = Rollback()
    for index, entry in enumerate(pending):
        step_rollback = await _run_concurrently(saga, _members(entry), error)
        rollback = rollback.then(step_rollback)
        if step_rollback.failures and saga.policy.on_failure == "stop":
            left = tuple(e.step for later in pending[index + 1 :] for e in _members(later))
            return rollback.then(Rollback((), left))
    return rollback


async def compensate(saga: SagaContext, error: TerminalError) -> Rollback:
    """Run the registered compensations newest first, each once, by the saga's policy."""
    stack = saga._stack  # pyright: ignore[reportPrivateUsage]
    entries = list(stack)
    stack.clear()
    return await _compensate_entries(saga, entries, error)


async def run_saga(
    ctx: restate.Context,
    body: Callable[[SagaContext, I], Awaitable[O]],
    value: I,
    policy: CompensationPolicy = DEFAULT_COMPENSATION_POLICY,
    observer: Callable[[SagaEvent], None] | None = None,
) -> O:
    """Run `body` as one saga: on a terminal failure, roll back and raise `SagaCompensatedError`."""
    saga = SagaContext(ctx, policy)
    saga.observer = observer
    try:
        return await body(saga, value)
    except TerminalError as error:
        rollback = Rollback()
        if isinstance(error, RollbackIncomplete):
            rollback, error = error.rollback, error.original
        if rollback.not_compensated:  # a stopped rollback stays stopped
            stack = saga._stack  # pyright: ignore[reportPrivateUsage]
            left = tuple(e.step for entry in reversed(stack) if entry is not None for e in _members(entry))
            stack.clear()
            rollback = rollback.then(Rollback((), left))
        else:
            rollback = rollback.then(await compensate(saga, error))
        failed_step = error.step if isinstance(error, StepFailedError) else None
        raise SagaCompensatedError(
            error.message, error.status_code, failed_step, rollback.failures, rollback.not_compensated
        ) from error
