"""Plans as data: a frozen description of a saga's shape, its text form, fingerprint and checks."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Literal, assert_never, cast

from ._errors import StepDefinitionError
from ._nodes import Fallback, Handler, Leaf, MapNode, Nested, Node, Parallel, Remote, Then, Timeout
from ._options import StepRetryPolicy


class _Printable:
    """Plans print as an indented tree."""

    __slots__ = ()

    def __str__(self) -> str:
        return render(cast("Plan", self))


@dataclass(frozen=True, slots=True)
class StepPlan(_Printable):
    """One durable step."""

    name: str
    compensated: bool
    """Whether the step has a compensation."""
    mode: Literal["hybrid", "strict"]
    """When its compensation is registered: before the action runs (hybrid) or after it succeeded."""
    retry: StepRetryPolicy | None
    """The retry policy of the action (None: the invocation's)."""
    compensation_retry: StepRetryPolicy | None
    """The retry policy of the compensation (None: the saga's policy, by default until it succeeds)."""


@dataclass(frozen=True, slots=True)
class SequencePlan(_Printable):
    """Parts run one after the other, each on the previous one's output."""

    parts: tuple[Plan, ...]


@dataclass(frozen=True, slots=True)
class NestedPlan(_Printable):
    """A named nested scope."""

    name: str
    body: Plan


@dataclass(frozen=True, slots=True)
class ParallelPlan(_Printable):
    """Steps run concurrently."""

    name: str
    branches: tuple[StepPlan, ...]
    parallel_compensation: bool
    max_concurrency: int | None


@dataclass(frozen=True, slots=True)
class FallbackPlan(_Printable):
    """`primary`, or if it fails for good, `alternative`."""

    primary: Plan
    alternative: Plan


@dataclass(frozen=True, slots=True)
class TimeoutPlan(_Printable):
    """A durable deadline around a step or group."""

    body: Plan
    seconds: float


@dataclass(frozen=True, slots=True)
class RemotePlan(_Printable):
    """A remote sub-saga called as one step."""

    name: str
    service: str


@dataclass(frozen=True, slots=True)
class MapPlan(_Printable):
    """A pure transform (no journal entry)."""

    label: str


@dataclass(frozen=True, slots=True)
class CodePlan(_Printable):
    """Saga code whose steps are only known when it runs."""

    name: str


Plan = (
    StepPlan | SequencePlan | NestedPlan | ParallelPlan | FallbackPlan | TimeoutPlan | RemotePlan | MapPlan | CodePlan
)
"""A saga's shape as frozen data: one of the plan nodes, each printable as an indented tree.

Match over it exhaustively (end with `case _: assert_never(plan)`) to walk a plan.
"""


def _step_plan(leaf: Leaf) -> StepPlan:
    return StepPlan(
        leaf.name,
        leaf.compensation is not None,
        leaf.mode.value,
        leaf.options.retry,
        leaf.options.compensation_retry,
    )


def _flatten(node: Node) -> list[Node]:
    parts: list[Node] = []
    todo: list[Node] = [node]
    while todo:
        current = todo.pop()
        if isinstance(current, Then):
            todo.extend((current.second, current.first))
        else:
            parts.append(current)
    return parts


def describe(node: Node) -> Plan:
    """The frozen description of a plan node."""
    match node:
        case Then():
            return SequencePlan(tuple(describe(part) for part in _flatten(node)))
        case Leaf():
            return _step_plan(node)
        case Nested(name, body):
            return NestedPlan(name, describe(body))
        case Parallel(name, branches, parallel_compensation, max_concurrency):
            return ParallelPlan(name, tuple(_step_plan(b) for b in branches), parallel_compensation, max_concurrency)
        case Fallback(primary, alternative):
            return FallbackPlan(describe(primary), describe(alternative))
        case Timeout(body, seconds):
            return TimeoutPlan(describe(body), seconds)
        case Remote(name=name, service=service):
            return RemotePlan(name, service)
        case MapNode(label=label):
            return MapPlan(label)
        case Handler(name=name):
            return CodePlan(name)
        case _:
            assert_never(node)


# --- text ----------------------------------------------------------------------------------------


def render(plan: Plan, indent: str = "") -> str:
    """An indented, readable tree."""
    inner = indent + "  "
    match plan:
        case StepPlan(name=name, compensated=compensated, mode=mode):
            undo = f"undo: {mode}" if compensated else "no undo"
            return f"{indent}step {name!r} ({undo})"
        case SequencePlan(parts):
            return "\n".join(render(part, indent) for part in parts)
        case NestedPlan(name, body):
            return f"{indent}nested {name!r}:\n{render(body, inner)}"
        case ParallelPlan(name, branches, parallel_compensation, _):
            how = "concurrently" if parallel_compensation else "in reverse"
            return f"{indent}parallel {name!r} (undo {how}):\n" + "\n".join(render(b, inner) for b in branches)
        case FallbackPlan(primary, alternative):
            return f"{indent}first:\n{render(primary, inner)}\n{indent}or else:\n{render(alternative, inner)}"
        case TimeoutPlan(body, seconds):
            return f"{indent}within {seconds:g}s:\n{render(body, inner)}"
        case RemotePlan(service=service):
            return f"{indent}remote saga {service!r} (undo: its compensate handler)"
        case MapPlan(label):
            return f"{indent}map {label}"
        case CodePlan(name):
            return f"{indent}saga code {name!r}"
        case _:
            assert_never(plan)


# --- fingerprint ---------------------------------------------------------------------------------


def _shape(plan: Plan) -> object:
    """What must stay the same for in-flight invocations to replay: kinds, names, order, modes."""
    match plan:
        case StepPlan(name=name, compensated=compensated, mode=mode):
            return ["step", name, compensated, mode]
        case SequencePlan(parts):
            return ["seq", [_shape(p) for p in parts]]
        case NestedPlan(name, body):
            return ["nested", name, _shape(body)]
        case ParallelPlan(_, branches, parallel_compensation, max_concurrency):
            return ["parallel", [_shape(b) for b in branches], parallel_compensation, max_concurrency]
        case FallbackPlan(primary, alternative):
            return ["fallback", _shape(primary), _shape(alternative)]
        case TimeoutPlan(body, _):
            return ["timeout", _shape(body)]
        case RemotePlan(name, service):
            return ["remote", name, service]
        case MapPlan():
            return ["map"]
        case CodePlan(name):
            return ["code", name]
        case _:
            assert_never(plan)


def fingerprint(plan: Plan) -> str:
    """A stable hash of a plan's shape (16 hex digits); retry options do not change it."""
    canonical = json.dumps(_shape(plan), separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


# --- validation ----------------------------------------------------------------------------------


def check_plan(plan: Plan, saga: str) -> None:
    """Refuse a plan in which one step name appears twice along one path of execution."""
    _names(plan, saga, set())


def _names(plan: Plan, saga: str, seen: set[str]) -> set[str]:
    match plan:
        case StepPlan(name=name) | RemotePlan(name=name):
            if name in seen:
                raise StepDefinitionError(
                    f"saga {saga!r}: step name {name!r} appears twice along one path; give each step its own name "
                    "so its journal entries, diagram and failure reports stay unambiguous"
                )
            seen.add(name)
            return {name}
        case SequencePlan(parts):
            found: set[str] = set()
            for part in parts:
                found |= _names(part, saga, seen)
            return found
        case NestedPlan(body=body) | TimeoutPlan(body=body):
            return _names(body, saga, seen)
        case ParallelPlan(branches=branches):
            found = set()
            for branch in branches:
                found |= _names(branch, saga, seen)
            return found
        case FallbackPlan(primary, alternative):
            first = _names(primary, saga, set(seen))
            second = _names(alternative, saga, set(seen))
            seen |= first | second
            return first | second
        case MapPlan() | CodePlan():
            return set()
        case _:
            assert_never(plan)
