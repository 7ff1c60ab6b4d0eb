"""Diagrams of a plan: the forward steps and the rollback path, as Mermaid and Graphviz DOT."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import assert_never

from ._plans import (
    CodePlan,
    FallbackPlan,
    MapPlan,
    NestedPlan,
    ParallelPlan,
    Plan,
    RemotePlan,
    SequencePlan,
    StepPlan,
    TimeoutPlan,
)


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

    def leaf(label: str, compensated: bool, hybrid: bool, previous: list[str]) -> list[str]:
        ident = f"s{len(nodes)}"
        nodes.append(_Node(ident, label, f"u{ident[1:]}" if compensated else None, hybrid))
        edges.extend((source, ident) for source in previous)
        return [ident]

    def add(plan: Plan, previous: list[str]) -> list[str]:
        match plan:
            case SequencePlan(parts):
                for part in parts:
                    previous = add(part, previous)
                return previous
            case NestedPlan(body=body) | TimeoutPlan(body=body):
                return add(body, previous)
            case ParallelPlan(branches=branches):
                return [end for branch in branches for end in add(branch, previous)]
            case FallbackPlan(primary, alternative):
                return add(primary, previous) + add(alternative, previous)
            case MapPlan():
                return previous
            case StepPlan(name=name, compensated=compensated, mode=mode):
                return leaf(name, compensated, compensated and mode == "hybrid", previous)
            case RemotePlan(name=name):
                return leaf(f"{name} (remote)", True, False, previous)
            case CodePlan(name=name):
                return leaf(name, False, False, previous)
            case _:
                assert_never(plan)

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
