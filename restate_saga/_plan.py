"""The nodes a step value is made of. Untyped on purpose: `Step[I, O, C]` is the typed face."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter
from restate import RunOptions, TerminalError

from . import _faults
from ._cause import FailureCause
from ._codec import StepCodec
from ._current import StepCall, enter, leave
from ._options import DEFAULT_RUN_OPTIONS, SagaStepOptions
from ._registry import resolve_terminal_error

if TYPE_CHECKING:
    from ._context import SagaContext

__all__ = ["Handler", "Leaf", "MapNode", "Mode", "Nested", "Node", "Then"]


class Mode(StrEnum):
    """When a step's compensation is registered."""

    HYBRID = "hybrid"
    """Before the action runs: it also undoes an action that failed partway (`failed=True`)."""
    STRICT = "strict"
    """After the action succeeded: a failed action is not undone."""


@dataclass(frozen=True, slots=True, eq=False)
class Leaf:
    """One durable step: one journal entry forward, one more if it is compensated."""

    name: str
    action: Callable[[Any], Awaitable[object]]
    compensation: Callable[..., Awaitable[object]] | None
    mode: Mode
    options: SagaStepOptions
    codec: StepCodec
    compensation_takes_failed: bool
    compensation_takes_cause: bool
    input_validator: TypeAdapter[Any] | None
    input_type: object = Any
    run_options: RunOptions[bytes] = field(default_factory=lambda: DEFAULT_RUN_OPTIONS)
    compensation_run_options: RunOptions[bytes] = field(default_factory=lambda: DEFAULT_RUN_OPTIONS)

    async def attempt(self, value: object, call: StepCall) -> bytes:
        """One attempt of the forward action, inside `ctx.run_typed`: its journal value."""
        if _faults.ARMED:
            _faults.check(self)
        token = enter(call)
        try:
            result = await self.action(value)
        except TerminalError:
            raise
        except Exception as error:
            terminal = resolve_terminal_error(error, self.options.as_terminal_error)
            if terminal is None:
                raise
            raise terminal from error
        finally:
            leave(token)
        return self.codec.encode(result)

    async def undo(self, data: object, failed: bool, call: StepCall, cause: FailureCause) -> bytes:
        """One attempt of the compensation, inside `ctx.run_typed`; journals an empty value."""
        assert self.compensation is not None
        kwargs: dict[str, object] = {}
        if self.compensation_takes_failed:
            kwargs["failed"] = failed
        if self.compensation_takes_cause:
            kwargs["cause"] = cause
        token = enter(call)
        try:
            await self.compensation(data, **kwargs)
        finally:
            leave(token)
        return b""


@dataclass(frozen=True, slots=True, eq=False)
class Then:
    """`first`, then `second` on its output."""

    first: Node
    second: Node


@dataclass(frozen=True, slots=True, eq=False)
class MapNode:
    """A pure transform of the value: no journal entry."""

    fn: Callable[[Any], object]
    label: str


@dataclass(frozen=True, slots=True, eq=False)
class Nested:
    """A named scope around a sub-pipeline; its compensations join the enclosing saga."""

    name: str
    body: Node


@dataclass(frozen=True, slots=True, eq=False)
class Handler:
    """Imperative saga code (a handler or a workflow) embedded as one step of a pipeline."""

    name: str
    fn: Callable[[SagaContext, Any], Awaitable[object]]


@dataclass(frozen=True, slots=True, eq=False)
class Parallel:
    """Steps run concurrently on the same input; the output is the tuple of their outputs."""

    name: str
    branches: tuple[Leaf, ...]
    parallel_compensation: bool
    max_concurrency: int | None


@dataclass(frozen=True, slots=True, eq=False)
class Fallback:
    """`primary`; if it fails for good, undo what it did and run `alternative` on the same input."""

    primary: Node
    alternative: Node


@dataclass(frozen=True, slots=True, eq=False)
class Timeout:
    """A durable deadline around a step or a parallel group."""

    body: Leaf | Parallel
    seconds: float


@dataclass(frozen=True, slots=True, eq=False)
class Remote:
    """Another service's saga as one step: a durable call, undone by calling its `compensate` handler."""

    name: str
    service: str
    input_type: object
    output_type: object


Node = Leaf | Then | MapNode | Nested | Handler | Parallel | Fallback | Timeout | Remote


def leaves_of(node: Node) -> list[Leaf]:
    """Every step of a plan, in order."""
    found: list[Leaf] = []
    todo: list[Node] = [node]
    while todo:
        current = todo.pop()
        if isinstance(current, Leaf):
            found.append(current)
        elif isinstance(current, Then):
            todo.extend((current.second, current.first))
        elif isinstance(current, Nested):
            todo.append(current.body)
        elif isinstance(current, Parallel):
            todo.extend(reversed(current.branches))
        elif isinstance(current, Fallback):
            todo.extend((current.alternative, current.primary))
        elif isinstance(current, Timeout):
            todo.append(current.body)
    return found


def input_type_of(node: Node) -> object:
    """The declared input type of a pipeline: its first leaf's (Any when not known)."""
    while True:
        if isinstance(node, Then):
            node = node.first
        elif isinstance(node, Nested):
            node = node.body
        elif isinstance(node, Leaf):
            return node.input_type
        elif isinstance(node, Fallback):
            node = node.primary
        elif isinstance(node, Timeout):
            node = node.body
        elif isinstance(node, Parallel):
            return node.branches[0].input_type
        elif isinstance(node, Remote):
            return node.input_type
        else:
            return Any


def output_type_of(node: Node) -> object:
    """The declared output type of a pipeline: its last leaf's (Any after a map or handler)."""
    while True:
        if isinstance(node, Then):
            node = node.second
        elif isinstance(node, Nested):
            node = node.body
        elif isinstance(node, Leaf):
            return node.codec.output_type
        elif isinstance(node, Fallback):
            node = node.primary
        elif isinstance(node, Timeout):
            node = node.body
        elif isinstance(node, Remote):
            return node.output_type
        else:
            return Any
