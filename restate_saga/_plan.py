"""The nodes a step value is made of. Untyped on purpose: `Step[I, O, C]` is the typed face."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter
from restate import RunOptions, TerminalError

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
    input_validator: TypeAdapter[Any] | None
    input_type: object = Any
    run_options: RunOptions[bytes] = field(default_factory=lambda: DEFAULT_RUN_OPTIONS)
    compensation_run_options: RunOptions[bytes] = field(default_factory=lambda: DEFAULT_RUN_OPTIONS)

    async def attempt(self, value: object, call: StepCall) -> bytes:
        """One attempt of the forward action, inside `ctx.run_typed`: its journal value."""
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

    async def undo(self, data: object, failed: bool, call: StepCall) -> bytes:
        """One attempt of the compensation, inside `ctx.run_typed`; journals an empty value."""
        assert self.compensation is not None
        token = enter(call)
        try:
            if self.compensation_takes_failed:
                await self.compensation(data, failed=failed)
            else:
                await self.compensation(data)
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


Node = Leaf | Then | MapNode | Nested | Handler


def input_type_of(node: Node) -> object:
    """The declared input type of a pipeline: its first leaf's (Any when not known)."""
    while True:
        if isinstance(node, Then):
            node = node.first
        elif isinstance(node, Nested):
            node = node.body
        elif isinstance(node, Leaf):
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
        else:
            return Any
