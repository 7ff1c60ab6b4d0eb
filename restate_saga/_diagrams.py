"""Diagrams of a plan: the forward steps and the rollback paths, as Mermaid and Graphviz DOT.

Forward steps run left to right (solid edges). Each way the saga can fail is drawn as a dotted
edge from the step that fails (or the deadline that passes) to the first compensation that then
runs, then dashed edges through the others, to "rolled back" or to a fallback's alternative.
Where two failures share a compensation but continue differently, the edge that only some of
them take is labelled with them (`if B fails`); the unlabelled edge is everyone else's.
"""

from __future__ import annotations

import re

from ._paths import ROLLED_BACK, Edge, Shape, shape
from ._plans import Plan

_PLAIN_LABEL = re.compile(r"[A-Za-z ]+")


def _mermaid_edges(edge: Edge) -> list[str]:
    """A dashed or dotted rollback edge; a label of words stays inline, others are quoted."""
    label = edge.label
    if label is None:
        return [f"    {edge.source} -.-> {target}" for target in edge.targets]
    if _PLAIN_LABEL.fullmatch(label):
        return [f"    {edge.source} -. {label} .-> {target}" for target in edge.targets]
    return [f'    {edge.source} -.->|"{label}"| {target}' for target in edge.targets]


def to_mermaid(plan: Plan) -> str:
    """A Mermaid flowchart: forward steps left to right; dotted, where each failure starts its
    rollback; dashed, the compensations that follow."""
    drawn: Shape = shape(plan)
    lines = ["flowchart LR"]
    lines += [f'    {n.ident}["{n.label}"]' for n in drawn.nodes]
    lines.append('    done(["done"])')
    lines += [f'    {u.ident}["{u.label}"]' for u in drawn.undo_nodes]
    lines.append(f'    {ROLLED_BACK}(["rolled back"])')
    for deadline in drawn.deadlines:
        lines.append(f'    subgraph {deadline.ident} ["{deadline.label}"]')
        lines += [f"        {member}" for member in deadline.members]
        lines.append("    end")
    lines += [f"    {a} --> {b}" for a, b in drawn.edges]
    for edge in (*drawn.undo_edges, *drawn.trigger_edges):
        lines += _mermaid_edges(edge)
    return "\n".join(lines) + "\n"


def to_dot(plan: Plan) -> str:
    """A Graphviz DOT digraph of the same picture (deadlines as dashed clusters)."""
    drawn = shape(plan)
    clusters = {d.ident: d for d in drawn.deadlines}
    lines = ["digraph saga {", "    rankdir=LR;"]
    if clusters:
        lines.append("    compound=true;")
    lines.append("    node [shape=box];")
    lines += [f'    {n.ident} [label="{n.label}"];' for n in drawn.nodes]
    for deadline in drawn.deadlines:
        members = " ".join(f"{m};" for m in deadline.members)
        lines.append(f'    subgraph cluster_{deadline.ident} {{ label="{deadline.label}"; style=dashed; {members} }}')
    lines.append('    done [label="done", shape=oval];')
    lines += [f'    {u.ident} [label="{u.label}", style=dashed];' for u in drawn.undo_nodes]
    lines.append(f'    {ROLLED_BACK} [label="rolled back", shape=oval];')
    lines += [f"    {a} -> {b};" for a, b in drawn.edges]
    for edge in drawn.undo_edges:
        label = "" if edge.label is None else f', label="{edge.label}"'
        lines += [f"    {edge.source} -> {target} [style=dashed{label}];" for target in edge.targets]
    for edge in drawn.trigger_edges:
        source, tail = edge.source, ""
        if source in clusters:  # an edge from a cluster leaves from its first member
            source, tail = clusters[source].members[0], f", ltail=cluster_{source}"
        lines += [
            f'    {source} -> {target} [style=dotted, label="{edge.label}"{tail}];' for target in edge.targets
        ]
    return "\n".join(lines) + "\n}\n"
