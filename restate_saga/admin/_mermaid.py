"""A saga's plan drawn in Mermaid and coloured by what happened to each step and compensation.

The diagram itself comes from `restate_saga.to_mermaid`; colouring only adds `classDef` and
`class` lines for the nodes it recognises by their labels (a step's name, `undo <name>`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from .._diagrams import to_mermaid
from .._plans import CodePlan, SequencePlan, StepPlan
from ._model import Activity, Outcome, Saga

_NODE = re.compile(r'^\s*(\w+)\(?\["(.*)"\]\)?\s*$')
_STYLES = {
    "succeeded": "fill:#d3f9d8,stroke:#2b8a3e,color:#000",
    "failed": "fill:#ffe3e3,stroke:#c92a2a,color:#000",
    "running": "fill:#fff3bf,stroke:#e67700,color:#000",
    "parked": "fill:#ffd8a8,stroke:#d9480f,stroke-width:3px,color:#000",
    "undone": "fill:#fff,stroke:#c92a2a,stroke-width:3px,stroke-dasharray:4 3,color:#c92a2a",
    "reached": "fill:#d0ebff,stroke:#1864ab,color:#000",
}


def final_outcomes(activities: Sequence[Activity]) -> dict[str, Outcome]:
    """The outcome of each name's last activity (a retried compensation counts once, as it ended)."""
    return {activity.name: activity.outcome for activity in activities}


def colour_mermaid(
    mermaid: str,
    steps: Mapping[str, Outcome],
    compensations: Mapping[str, Outcome] | None = None,
    *,
    undone: Iterable[str] = (),
    parked: str | None = None,
    ended: str | None = None,
) -> str:
    """`mermaid` (as drawn by `to_mermaid`) with its nodes coloured by outcome.

    `steps` and `compensations` map step names to outcomes; `undone` names steps whose
    compensation was left undone, `parked` the step whose compensation waits for an operator,
    `ended` the end node reached (`"done"` or `"rolled_back"`). Unknown names are ignored.
    """
    undo_outcomes = dict(compensations or {})
    left = set(undone)
    classes: dict[str, list[str]] = {}
    for line in mermaid.splitlines():
        found = _NODE.match(line)
        if found is None:
            continue
        ident, label = found.groups()
        style: str | None = None
        if ident in ("done", "rolled_back"):
            style = "reached" if ident == ended else None
        elif label.startswith("undo "):
            name = label.removeprefix("undo ").removesuffix(" (remote)")
            if name == parked:
                style = "parked"
            elif name in undo_outcomes:
                style = undo_outcomes[name]
            elif name in left:
                style = "undone"
        else:
            style = steps.get(label.removesuffix(" (remote)"))
        if style is not None:
            classes.setdefault(style, []).append(ident)
    if not classes:
        return mermaid
    lines = [mermaid.rstrip("\n")]
    lines += [f"    classDef {name} {_STYLES[name]}" for name in _STYLES if name in classes]
    lines += [f"    class {','.join(idents)} {name}" for name, idents in classes.items()]
    return "\n".join(lines) + "\n"


def journal_plan(saga: Saga) -> SequencePlan:
    """A plan of the steps that ran, for saga code (whose steps are only known when it runs)."""
    undone = {activity.name for activity in saga.compensations} | set(saga.left_undone)
    names = dict.fromkeys(step.name for step in saga.steps)
    return SequencePlan(tuple(StepPlan(name, name in undone, "strict", None, None) for name in names))


def saga_mermaid(saga: Saga) -> str:
    """The saga's plan in Mermaid, coloured by this invocation.

    Pipelines publish their plan; for saga code (or a plan too large to publish) the diagram
    shows the steps its journal recorded.
    """
    plan = saga.plan if saga.plan is not None and not isinstance(saga.plan, CodePlan) else journal_plan(saga)
    ended = {"succeeded": "done", "compensated": "rolled_back", "cancelled": "rolled_back"}.get(saga.status)
    return colour_mermaid(
        to_mermaid(plan),
        final_outcomes(saga.steps),
        final_outcomes(saga.compensations),
        undone=saga.left_undone,
        parked=None if saga.parked is None else saga.parked.step,
        ended=ended,
    )
