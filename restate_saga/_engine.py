"""The interpreter: runs plan nodes against a Restate context and rolls back on terminal failure."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import restate
from restate import TerminalError

from ._context import PendingCompensation, SagaContext
from ._current import StepCall
from ._errors import CompensationFailure, SagaCompensatedError, StepFailedError
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
    try:
        raw = await saga.ctx.run_typed(leaf.name, leaf.attempt, leaf.run_options, value, call)
    except StepFailedError:
        raise
    except TerminalError as error:
        raise StepFailedError(leaf.name, error.message, error.status_code) from error
    result = leaf.codec.decode(raw)
    if leaf.compensation is not None:
        entry = (
            PendingCompensation(leaf, result.data, result.failure is not None, position)
            if result.has_data
            else None
        )
        if slot >= 0:
            stack[slot] = entry
        elif entry is not None and result.failure is None:
            stack.append(entry)
    if result.failure is not None:
        raise StepFailedError(leaf.name, result.failure, result.status_code)
    return result.output


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


async def compensate(saga: SagaContext) -> tuple[CompensationFailure, ...]:
    """Run the registered compensations newest first, each once; collect the ones that failed."""
    failures: list[CompensationFailure] = []
    stack = saga._stack  # pyright: ignore[reportPrivateUsage]
    while stack:
        entry = stack.pop()
        if entry is None:
            continue
        leaf = entry.leaf
        try:
            await saga.ctx.run_typed(
                COMPENSATE_PREFIX + leaf.name,
                leaf.undo,
                leaf.compensation_run_options,
                entry.data,
                entry.failed,
                StepCall(leaf.name, saga.invocation_id, entry.position, True),
            )
        except TerminalError as error:
            failures.append(CompensationFailure(leaf.name, error.message))
    return tuple(failures)


async def run_saga(ctx: restate.Context, body: Callable[[SagaContext, I], Awaitable[O]], value: I) -> O:
    """Run `body` as one saga: on a terminal failure, roll back and raise `SagaCompensatedError`."""
    saga = SagaContext(ctx)
    try:
        return await body(saga, value)
    except TerminalError as error:
        failures = await compensate(saga)
        failed_step = error.step if isinstance(error, StepFailedError) else None
        raise SagaCompensatedError(error.message, error.status_code, failed_step, failures) from error
