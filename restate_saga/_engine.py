"""The interpreter: runs plan nodes against a Restate context and rolls back on terminal failure."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import restate
from restate import TerminalError
from restate.server_context import ServerDurableFuture

from ._context import PendingCompensation, SagaContext
from ._current import StepCall
from ._errors import CompensationFailure, SagaCompensatedError, StepFailedError
from ._options import DEFAULT_COMPENSATION_POLICY, CompensationPolicy
from ._plan import Leaf, MapNode, Mode, Nested, Node, Then
from ._validation import validate_input

__all__ = ["compensate", "execute", "run_leaf", "run_saga"]

I = TypeVar("I")
O = TypeVar("O")

COMPENSATE_PREFIX = "compensate:"


async def run_leaf(saga: SagaContext, leaf: Leaf, value: object) -> object:
    """Run one step: one `ctx.run_typed` entry; registers its compensation by its mode."""
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
    cancellation = await settle(future)
    try:
        raw = await future
    except TerminalError as error:
        if cancellation is not None:
            raise cancellation from error
        raise StepFailedError(leaf.name, error.message, error.status_code) from error
    result = leaf.codec.decode(raw)
    if leaf.compensation is not None:
        entry = (
            PendingCompensation(leaf, result.data, result.failure is not None, position) if result.has_data else None
        )
        if slot >= 0:
            stack[slot] = entry
        elif entry is not None and result.failure is None:
            stack.append(entry)
    if cancellation is not None:
        raise cancellation
    if result.failure is not None:
        raise StepFailedError(leaf.name, result.failure, result.status_code)
    return result.output


async def settle(future: Awaitable[object]) -> TerminalError | None:
    """Wait until a durable action has settled; return the cancellation that arrived meanwhile, if any.

    The SDK raises a cancellation at the next await while the action keeps running. Waiting for
    the action's own completion afterwards makes sure it never finishes its side effect after the
    compensations (its own undo included) have started.
    """
    if not isinstance(future, ServerDurableFuture):
        return None  # an in-process double: already settled when awaited
    try:
        await restate.gather(future)
    except TerminalError as cancellation:
        await restate.gather(future)
        return cancellation
    return None


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
        else:
            value = await current.fn(saga, value)
    return value


@dataclass(frozen=True, slots=True)
class Rollback:
    """What a rollback did not manage: failed compensations, and those left undone after a stop."""

    failures: tuple[CompensationFailure, ...] = ()
    not_compensated: tuple[str, ...] = ()


def _undo_future(saga: SagaContext, entry: PendingCompensation) -> Awaitable[bytes]:
    leaf = entry.leaf
    options = leaf.compensation_run_options
    if leaf.options.compensation_retry is None and saga.policy.retry is not None:
        options = saga.policy.retry.to_run_options()
    return saga.ctx.run_typed(
        COMPENSATE_PREFIX + leaf.name,
        leaf.undo,
        options,
        entry.data,
        entry.failed,
        StepCall(leaf.name, saga.invocation_id, entry.position, True),
    )


async def compensate(saga: SagaContext) -> Rollback:
    """Run the registered compensations newest first, each once, by the saga's policy."""
    stack = saga._stack  # pyright: ignore[reportPrivateUsage]
    pending = [entry for entry in reversed(stack) if entry is not None]
    stack.clear()
    failures: list[CompensationFailure] = []
    if saga.policy.parallel:
        futures = [_undo_future(saga, entry) for entry in pending]
        durable = [f for f in futures if isinstance(f, ServerDurableFuture)]
        if durable:
            await restate.gather(*durable)
        for entry, future in zip(pending, futures, strict=True):
            try:
                await future
            except TerminalError as error:
                failures.append(CompensationFailure(entry.step, error.message))
        return Rollback(tuple(failures))
    for index, entry in enumerate(pending):
        try:
            await _undo_future(saga, entry)
        except TerminalError as error:
            failures.append(CompensationFailure(entry.step, error.message))
            if saga.policy.on_failure == "stop":
                return Rollback(tuple(failures), tuple(e.step for e in pending[index + 1 :]))
    return Rollback(tuple(failures))


async def run_saga(
    ctx: restate.Context,
    body: Callable[[SagaContext, I], Awaitable[O]],
    value: I,
    policy: CompensationPolicy = DEFAULT_COMPENSATION_POLICY,
) -> O:
    """Run `body` as one saga: on a terminal failure, roll back and raise `SagaCompensatedError`."""
    saga = SagaContext(ctx, policy)
    try:
        return await body(saga, value)
    except TerminalError as error:
        rollback = await compensate(saga)
        failed_step = error.step if isinstance(error, StepFailedError) else None
        raise SagaCompensatedError(
            error.message, error.status_code, failed_step, rollback.failures, rollback.not_compensated
        ) from error
