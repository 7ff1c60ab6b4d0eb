"""The interpreter: runs plan nodes against a Restate context and rolls back on terminal failure."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar, assert_never

import restate
from pydantic import ValidationError
from restate import TerminalError

from ._attempts import attempt, intercepted_attempt
from ._cause import is_cancellation
from ._chain import is_replaying
from ._codec import adapter_for, check_size, type_name
from ._context import PendingCompensation, PendingGroup, PendingRemote, SagaContext
from ._current import StepCall
from ._encryption import EncryptionCodec, JournalUnreadableError
from ._errors import SagaCompensatedError, StepDataChangedError, StepFailedError, StepTimeoutError, ValueLimitError
from ._futures import Deadline, settle, settle_within
from ._interceptors import SagaInterceptor
from ._nodes import Fallback, Handler, Leaf, MapNode, Mode, Nested, Node, Parallel, Remote, Then, Timeout
from ._options import DEFAULT_COMPENSATION_POLICY, CompensationPolicy
from ._rollback import REMOTE_RUN, Rollback, RollbackIncomplete, compensate, compensate_entries, left_undone
from ._sealing import open_remote_output, open_step, seal_remote_input
from ._validation import describe_validation_error, validate_input

I = TypeVar("I")
O = TypeVar("O")


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
    position = saga.next_position()
    slot = -1
    if leaf.compensation is not None and leaf.mode is Mode.HYBRID:
        slot = saga.reserve(PendingCompensation(leaf, value, True, position))
    call = StepCall(leaf.name, saga.invocation_id, position, False)
    chain = saga.chain.attempts
    if chain is None:
        future = saga.ctx.run_typed(leaf.name, attempt, leaf.run_options, leaf, value, call, saga.codec)
    else:
        future = saga.ctx.run_typed(
            leaf.name, intercepted_attempt, leaf.run_options, leaf, value, call, chain, saga.codec
        )
    return _Started(leaf, position, slot, future)


async def _finish_leaf(saga: SagaContext, started: _Started) -> object:
    """Read a settled step's result, register its compensation, and return its output."""
    leaf = started.leaf
    try:
        raw = await started.future
    except TerminalError as error:
        failure = StepFailedError(leaf.name, error.message, error.status_code)
        saga.chain.step_failed(leaf.name, started.position, failure)
        raise failure from error
    if saga.codec is None:
        result = leaf.codec.decode(raw)
    else:
        result = open_step(saga, saga.codec, leaf, started.position, started.slot, raw)
    if leaf.compensation is not None:
        entry = (
            PendingCompensation(leaf, result.data, result.failure is not None, started.position)
            if result.has_data
            else None
        )
        if started.slot >= 0:
            saga.fill(started.slot, entry)
        elif entry is not None and result.failure is None:
            saga.push(entry)
    if result.mismatch is not None:
        mismatch = result.mismatch
        if is_replaying(saga.ctx):  # later entries are journaled: wait for an upgrade (retryable)
            raise StepDataChangedError(leaf.name, mismatch.what, mismatch.type_name, mismatch.problems)
        saga.chain.step_failed(leaf.name, started.position, mismatch)
        raise mismatch  # roll back; data that cannot be read was registered as `Unreadable`: recorded, not run
    if result.failure is not None:
        failure = StepFailedError(leaf.name, result.failure, result.status_code)
        saga.chain.step_failed(leaf.name, started.position, failure)
        raise failure
    if saga.chain.hooks.step_done:
        saga.chain.step_done(leaf.name, started.position)
    return result.output


async def run_leaf(saga: SagaContext, leaf: Leaf, value: object) -> object:
    """Run one step: one `ctx.run_typed` entry; registers its compensation by its mode."""
    started = _start_leaf(saga, leaf, value)
    cancellation = await settle([started.future])
    if cancellation is not None:
        await _finish_quietly(saga, [started])
        raise cancellation
    return await _finish_leaf(saga, started)


async def _finish_quietly(saga: SagaContext, started: Sequence[_Started]) -> list[TerminalError]:
    """Finish settled steps (registering their compensations); collect their failures."""
    errors: list[TerminalError] = []
    for each in started:
        try:
            await _finish_leaf(saga, each)
        except TerminalError as error:
            errors.append(error)
    return errors


# --- groups, fallbacks, deadlines, remote sagas ------------------------------------------------


async def _run_parallel(saga: SagaContext, group: Parallel, value: object, seconds: float | None) -> object:
    base = saga.mark()
    deadline = Deadline(saga.ctx.sleep(timedelta(seconds=seconds)), seconds) if seconds is not None else None
    window = group.max_concurrency or len(group.branches)
    outputs: list[object] = []
    failure: TerminalError | None = None
    for start in range(0, len(group.branches), window):
        started = [_start_leaf(saga, leaf, value) for leaf in group.branches[start : start + window]]
        interruption = await settle_within([s.future for s in started], deadline, group.name)
        for each in started:
            try:
                outputs.append(await _finish_leaf(saga, each))
            except TerminalError as error:
                failure = failure or error
        if isinstance(interruption, StepTimeoutError):
            saga.chain.step_failed(group.name, None, interruption)
        failure = interruption or failure
        if failure is not None:
            break
    # branch order, whatever order the branches registered in (hybrid ones register at start)
    branch_entries = sorted(
        (e for e in saga.take(base) if isinstance(e, PendingCompensation)), key=lambda e: e.position
    )
    if group.parallel_compensation and branch_entries:
        saga.push(PendingGroup(tuple(branch_entries)))
    else:
        for entry in branch_entries:
            saga.push(entry)
    if failure is not None:
        raise failure
    return tuple(outputs)


async def _run_timeout(saga: SagaContext, node: Timeout, value: object) -> object:
    body = node.body
    if isinstance(body, Parallel):
        return await _run_parallel(saga, body, value, node.seconds)
    started = _start_leaf(saga, body, value)
    deadline = Deadline(saga.ctx.sleep(timedelta(seconds=node.seconds)), node.seconds)
    interruption = await settle_within([started.future], deadline, body.name)
    if interruption is not None:
        await _finish_quietly(saga, [started])
        if isinstance(interruption, StepTimeoutError):
            saga.chain.step_failed(body.name, started.position, interruption)
        raise interruption
    return await _finish_leaf(saga, started)


async def _run_fallback(saga: SagaContext, node: Fallback, value: object) -> object:
    mark = saga.mark()
    try:
        return await execute(node.primary, saga, value)
    except TerminalError as error:
        if is_cancellation(error) or isinstance(error, JournalUnreadableError):
            raise
        rollback = await compensate_entries(saga, saga.take(mark), error)
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
        if saga.codec is None:
            payload = adapter_for(node.input_type).dump_json(value, warnings="error")
        else:
            adapter = adapter_for(node.input_type)
            payload = seal_remote_input(saga, saga.codec, node, key, lambda: adapter.dump_json(value, warnings="error"))
        check_size(payload, "input")
    except ValueLimitError as error:  # before ValueError: the limit names itself
        raise StepFailedError(node.name, error.message) from error
    except ValueError as error:
        raise StepFailedError(node.name, f"its input cannot be serialized: {error}") from error
    future = saga.ctx.generic_call(node.service, REMOTE_RUN, payload, key=key, idempotency_key=key)
    cancellation = await settle([future])
    try:
        raw = await future
    except TerminalError as error:
        if cancellation is not None:
            raise cancellation from error
        failure = StepFailedError(node.name, error.message, error.status_code)
        saga.chain.step_failed(node.name, position, failure)
        raise failure from error
    saga.push(PendingRemote(node.name, node.service, key, position))
    saga.chain.step_done(node.name, position)
    if cancellation is not None:
        raise cancellation

    def read(plain: bytes) -> object:
        try:
            return adapter_for(node.output_type).validate_json(plain or b"null")
        except ValidationError as error:
            problems = describe_validation_error(error)
            if is_replaying(saga.ctx):  # later entries are journaled: a rollback now would not match them
                raise StepDataChangedError(node.name, "result", type_name(node.output_type), problems) from None
            # registered above: the remote saga is undone with the rest
            raise StepFailedError(node.name, f"its result does not match the declared type: {problems}") from None

    if saga.codec is not None:
        return open_remote_output(saga, saga.codec, node, key, raw, read)
    return read(raw)


async def execute(node: Node, saga: SagaContext, value: object) -> object:
    """Run a plan node; long `then` chains run in a loop, not by recursion."""
    todo: list[Node] = [node]
    while todo:
        match current := todo.pop():
            case Leaf() as leaf:
                value = await run_leaf(saga, leaf, value)
            case Then(first, second):
                todo.append(second)
                todo.append(first)
            case MapNode(fn=fn):
                value = fn(value)
            case Nested(body=body):
                value = await execute(body, saga, value)
            case Parallel() as group:
                value = await _run_parallel(saga, group, value, None)
            case Timeout() as timeout:
                value = await _run_timeout(saga, timeout, value)
            case Fallback() as fallback:
                value = await _run_fallback(saga, fallback, value)
            case Remote() as remote:
                value = await _run_remote(saga, remote, value)
            case Handler(fn=fn):
                value = await fn(saga, value)
            case _:
                assert_never(current)
    return value


# --- a whole saga ----------------------------------------------------------------------------------


async def run_saga(
    ctx: restate.Context,
    body: Callable[[SagaContext, I], Awaitable[O]],
    value: I,
    policy: CompensationPolicy = DEFAULT_COMPENSATION_POLICY,
    *,
    interceptors: Sequence[SagaInterceptor] = (),
    name: str | None = None,
    codec: EncryptionCodec | None = None,
) -> O:
    """Run `body` as one saga: on a terminal failure, roll back and raise `SagaCompensatedError`.

    For saga code inside a Restate handler of your own; `body(saga, value)` gets a fresh `SagaContext`.
    `interceptors` are told what happens (after the globally registered ones); `name` names the
    saga in what they are told (default: `"Service.handler"` of the Restate handler). `codec`
    encrypts the journal values of its steps (see `EncryptionCodec`).
    """
    saga = SagaContext(ctx, policy, interceptors=interceptors, name=name, codec=codec)
    saga.chain.saga_started()
    try:
        result = await body(saga, value)
    except TerminalError as error:
        rollback = Rollback()
        if isinstance(error, RollbackIncomplete):
            rollback, error = error.rollback, error.original
        if rollback.not_compensated or isinstance(error, JournalUnreadableError):
            # a stopped rollback stays stopped; after an unreadable journal value none may start
            rollback = rollback.then(Rollback((), left_undone(list(reversed(saga.take())))))
        else:
            rollback = rollback.then(await compensate(saga, error))
        failed_step = error.step if isinstance(error, StepFailedError) else None
        final = SagaCompensatedError(
            error.message, error.status_code, failed_step, rollback.failures, rollback.not_compensated
        )
        saga.chain.saga_finished(final, error)
        raise final from error
    saga.chain.saga_finished(None, None)
    return result
