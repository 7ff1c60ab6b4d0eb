"""The nodes a step value is made of: plain data. Untyped on purpose: `Step[I, O, C]` is the typed face."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, assert_never

from pydantic import TypeAdapter
from restate import RunOptions

from ._codec import StepCodec
from ._options import DEFAULT_RUN_OPTIONS, SagaStepOptions


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
    input_parameter: str | None = None
    run_options: RunOptions[bytes] = field(default_factory=lambda: DEFAULT_RUN_OPTIONS)
    compensation_run_options: RunOptions[bytes] = field(default_factory=lambda: DEFAULT_RUN_OPTIONS)


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
    fn: Callable[[Any, Any], Awaitable[object]]
    """`async def fn(saga, value)`: receives the `SagaContext` (typed at the `Step` face)."""


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
        match current := todo.pop():
            case Leaf() as leaf:
                found.append(leaf)
            case Then(first, second):
                todo.extend((second, first))
            case Nested(body=body) | Timeout(body=body):
                todo.append(body)
            case Parallel(branches=branches):
                todo.extend(reversed(branches))
            case Fallback(primary, alternative):
                todo.extend((alternative, primary))
            case MapNode() | Handler() | Remote():
                pass
            case _:
                assert_never(current)
    return found


def input_type_of(node: Node) -> object:
    """The declared input type of a pipeline: its first leaf's (Any when not known)."""
    while True:
        match node:
            case Then(first=inner) | Nested(body=inner) | Fallback(primary=inner) | Timeout(body=inner):
                node = inner
            case Leaf(input_type=declared) | Remote(input_type=declared):
                return declared
            case Parallel(branches=branches):
                return branches[0].input_type
            case MapNode() | Handler():
                return Any
            case _:
                assert_never(node)


def output_type_of(node: Node) -> object:
    """The declared output type of a pipeline: its last leaf's (Any after a map, a group or a handler)."""
    while True:
        match node:
            case Then(second=inner) | Nested(body=inner) | Fallback(primary=inner) | Timeout(body=inner):
                node = inner
            case Leaf(codec=codec):
                return codec.output_type
            case Remote(output_type=declared):
                return declared
            case Parallel() | MapNode() | Handler():
                return Any
            case _:
                assert_never(node)
