"""Plans as data: a frozen description of a saga's shape, its diagrams, fingerprint and checks."""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass
from typing import Literal, cast

from ._errors import StepDefinitionError
from ._options import StepRetryPolicy
from ._plan import Fallback, Handler, Leaf, MapNode, Nested, Node, Parallel, Remote, Then, Timeout

__all__ = [
    "CodePlan",
    "FallbackPlan",
    "MapPlan",
    "NestedPlan",
    "ParallelPlan",
    "Plan",
    "RemotePlan",
    "SequencePlan",
    "StepPlan",
    "TimeoutPlan",
    "check_plan",
    "describe",
    "fingerprint",
    "to_dot",
    "to_mermaid",
]


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
    mode: Literal["hybrid", "strict"]
    retry: StepRetryPolicy | None
    compensation_retry: StepRetryPolicy | None


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
    if isinstance(node, Then):
        return SequencePlan(tuple(describe(part) for part in _flatten(node)))
    if isinstance(node, Leaf):
        return _step_plan(node)
    if isinstance(node, Nested):
        return NestedPlan(node.name, describe(node.body))
    if isinstance(node, Parallel):
        return ParallelPlan(
            node.name, tuple(_step_plan(b) for b in node.branches), node.parallel_compensation, node.max_concurrency
        )
    if isinstance(node, Fallback):
        return FallbackPlan(describe(node.primary), describe(node.alternative))
    if isinstance(node, Timeout):
        return TimeoutPlan(describe(node.body), node.seconds)
    if isinstance(node, Remote):
        return RemotePlan(node.name, node.service)
    if isinstance(node, MapNode):
        return MapPlan(node.label)
    assert isinstance(node, Handler)
    return CodePlan(node.name)


# --- text ----------------------------------------------------------------------------------------


def render(plan: Plan, indent: str = "") -> str:
    """An indented, readable tree."""
    if isinstance(plan, StepPlan):
        undo = f"undo: {plan.mode}" if plan.compensated else "no undo"
        return f"{indent}step {plan.name!r} ({undo})"
    if isinstance(plan, SequencePlan):
        return "\n".join(render(part, indent) for part in plan.parts)
    if isinstance(plan, NestedPlan):
        return f"{indent}nested {plan.name!r}:\n{render(plan.body, indent + '  ')}"
    if isinstance(plan, ParallelPlan):
        how = "concurrently" if plan.parallel_compensation else "in reverse"
        head = f"{indent}parallel {plan.name!r} (undo {how})"
        return head + ":\n" + "\n".join(render(b, indent + "  ") for b in plan.branches)
    if isinstance(plan, FallbackPlan):
        return f"{indent}first:\n{render(plan.primary, indent + '  ')}\n{indent}or else:\n" + render(
            plan.alternative, indent + "  "
        )
    if isinstance(plan, TimeoutPlan):
        return f"{indent}within {plan.seconds:g}s:\n{render(plan.body, indent + '  ')}"
    if isinstance(plan, RemotePlan):
        return f"{indent}remote saga {plan.service!r} (undo: its compensate handler)"
    if isinstance(plan, MapPlan):
        return f"{indent}map {plan.label}"
    return f"{indent}saga code {plan.name!r}"


# --- fingerprint ---------------------------------------------------------------------------------


def _shape(plan: Plan) -> object:
    """What must stay the same for in-flight invocations to replay: kinds, names, order, modes."""
    if isinstance(plan, StepPlan):
        return ["step", plan.name, plan.compensated, plan.mode]
    if isinstance(plan, SequencePlan):
        return ["seq", [_shape(p) for p in plan.parts]]
    if isinstance(plan, NestedPlan):
        return ["nested", plan.name, _shape(plan.body)]
    if isinstance(plan, ParallelPlan):
        return ["parallel", [_shape(b) for b in plan.branches], plan.parallel_compensation, plan.max_concurrency]
    if isinstance(plan, FallbackPlan):
        return ["fallback", _shape(plan.primary), _shape(plan.alternative)]
    if isinstance(plan, TimeoutPlan):
        return ["timeout", _shape(plan.body)]
    if isinstance(plan, RemotePlan):
        return ["remote", plan.name, plan.service]
    if isinstance(plan, MapPlan):
        return ["map"]
    return ["code", plan.name]


def fingerprint(plan: Plan) -> str:
    """A stable hash of a plan's shape (16 hex digits); retry options do not change it."""
    canonical = json.dumps(_shape(plan), separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


# --- validation ----------------------------------------------------------------------------------


def check_plan(plan: Plan, saga: str) -> None:
    """Refuse a plan in which one step name appears twice along one path of execution."""
    _names(plan, saga, set())


def _names(plan: Plan, saga: str, seen: set[str]) -> set[str]:
    if isinstance(plan, StepPlan | RemotePlan):
        if plan.name in seen:
            raise StepDefinitionError(
                f"saga {saga!r}: step name {plan.name!r} appears twice along one path; give each step its own name "
                "so its journal entries, diagram and failure reports stay unambiguous"
            )
        seen.add(plan.name)
        return {plan.name}
    if isinstance(plan, SequencePlan):
        found: set[str] = set()
        for part in plan.parts:
            found |= _names(part, saga, seen)
        return found
    if isinstance(plan, NestedPlan | TimeoutPlan):
        return _names(plan.body, saga, seen)
    if isinstance(plan, ParallelPlan):
        found = set()
        for branch in plan.branches:
            found |= _names(branch, saga, seen)
        return found
    if isinstance(plan, FallbackPlan):
        primary = _names(plan.primary, saga, set(seen))
        alternative = _names(plan.alternative, saga, set(seen))
        seen |= primary | alternative
        return primary | alternative
    return set()


# --- diagrams ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Node:
    ident: str
    label: str
    undo: str | None  # the id of its compensation node, if it has one
    hybrid: bool


def _forward(plan: Plan) -> tuple[list[_Node], list[tuple[str, str]]]:
    """Forward nodes in execution order and the edges between them."""
    nodes: list[_Node] = []
    edges: list[tuple[str, str]] = []

    def add(plan: Plan, previous: list[str]) -> list[str]:
        if isinstance(plan, SequencePlan):
            for part in plan.parts:
                previous = add(part, previous)
            return previous
        if isinstance(plan, NestedPlan | TimeoutPlan):
            return add(plan.body, previous)
        if isinstance(plan, ParallelPlan):
            return [end for branch in plan.branches for end in add(branch, previous)]
        if isinstance(plan, FallbackPlan):
            return add(plan.primary, previous) + add(plan.alternative, previous)
        if isinstance(plan, MapPlan):
            return previous
        ident = f"s{len(nodes)}"
        compensated = isinstance(plan, RemotePlan) or (isinstance(plan, StepPlan) and plan.compensated)
        label = f"{plan.name} (remote)" if isinstance(plan, RemotePlan) else plan.name
        hybrid = isinstance(plan, StepPlan) and plan.compensated and plan.mode == "hybrid"
        nodes.append(_Node(ident, label, f"u{ident[1:]}" if compensated else None, hybrid))
        edges.extend((source, ident) for source in previous)
        return [ident]

    ends = add(plan, [])
    edges.extend((end, "done") for end in ends)
    return nodes, edges


def _failure_edges(nodes: list[_Node]) -> list[tuple[str, str]]:
    """Where a failure at each step starts the rollback: its own undo (hybrid) or the latest before it."""
    edges: list[tuple[str, str]] = []
    latest = "rolled_back"
    for node in nodes:
        edges.append((node.ident, node.undo if node.hybrid and node.undo else latest))
        if node.undo:
            latest = node.undo
    return edges


def _undo_chain(nodes: list[_Node]) -> list[_Node]:
    """Compensations a rollback can reach, newest first (the last step's undo only if it is hybrid)."""
    reachable = [node for index, node in enumerate(nodes) if node.undo and (node.hybrid or index < len(nodes) - 1)]
    return list(reversed(reachable))


def to_mermaid(plan: Plan) -> str:
    """A Mermaid flowchart: forward steps left to right; dashed, the rollback path in reverse."""
    nodes, edges = _forward(plan)
    chain = _undo_chain(nodes)
    lines = ["flowchart LR"]
    lines += [f'    {n.ident}["{n.label}"]' for n in nodes]
    lines.append('    done(["done"])')
    lines += [f'    {n.undo}["undo {n.label}"]' for n in chain]
    lines.append('    rolled_back(["rolled back"])')
    lines += [f"    {a} --> {b}" for a, b in edges]
    undo_ids = [n.undo for n in chain] + ["rolled_back"]
    lines += [f"    {a} -.-> {b}" for a, b in itertools.pairwise(undo_ids)]
    lines += [f"    {a} -. fails .-> {b}" for a, b in _failure_edges(nodes)]
    return "\n".join(lines) + "\n"


def to_dot(plan: Plan) -> str:
    """A Graphviz DOT digraph of the same picture."""
    nodes, edges = _forward(plan)
    chain = _undo_chain(nodes)
    lines = ["digraph saga {", "    rankdir=LR;", "    node [shape=box];"]
    lines += [f'    {n.ident} [label="{n.label}"];' for n in nodes]
    lines.append('    done [label="done", shape=oval];')
    lines += [f'    {n.undo} [label="undo {n.label}", style=dashed];' for n in chain]
    lines.append('    rolled_back [label="rolled back", shape=oval];')
    lines += [f"    {a} -> {b};" for a, b in edges]
    undo_ids = [n.undo for n in chain] + ["rolled_back"]
    lines += [f"    {a} -> {b} [style=dashed];" for a, b in itertools.pairwise(undo_ids)]
    lines += [f'    {a} -> {b} [style=dotted, label="fails"];' for a, b in _failure_edges(nodes)]
    return "\n".join(lines) + "\n}\n"
