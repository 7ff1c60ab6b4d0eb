"""Each diagram against the rollbacks that really happen.

The Mermaid and DOT texts are parsed back into a graph (the two must agree), and every rollback
path drawn in it is followed: from its trigger edge (a step that fails, a deadline that passes)
along the undo edges (the one labelled with that failure, else the unlabelled one). Each path is
then compared with what the interpreter does on the in-process FakeContext:

- every outcome of `check_compensations(..., timeouts=True)` (failures and deadlines at each step
  of a normal run) must be a drawn path with exactly its compensations, in its order;
- every drawn path, including those after a fallback's alternative ran, is run on its own (the
  steps it names fail, or the deadline passes) and must undo exactly what it shows.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pydot
import pytest
from restate import TerminalError

from restate_saga import Step, hybrid_step, parallel, run_saga, step
from restate_saga.testing import FakeContext, check_compensations

pytestmark = pytest.mark.filterwarnings("ignore:.*deprecated - use:DeprecationWarning")  # pydot on pyparsing 3

FAILING: set[str] = set()


@contextmanager
def failing(*names: str) -> Iterator[None]:
    FAILING.clear()
    FAILING.update(names)
    try:
        yield
    finally:
        FAILING.clear()


def act(name: str) -> Callable[[object], Any]:
    async def action(value: object) -> object:
        if name in FAILING:
            raise TerminalError(f"{name} refused")
        return value

    action.__name__ = name
    return action


async def undo(value: object) -> None:
    return None


def s(name: str, compensated: bool = True) -> Step[object, object, Any]:
    return step(name, act(name), undo if compensated else None)


def h(name: str) -> Step[object, object, Any]:
    return hybrid_step(name, act(name), undo)


SECONDS = timedelta(seconds=30)

PIPELINES: dict[str, Callable[[], Step[object, Any, Any]]] = {
    "step then a group (the issue's case)": lambda: s("A").then(parallel(s("B"), s("C"))),
    "a group between steps": lambda: s("A").then(parallel(s("B"), s("C"))).then(s("D")),
    "a group with a hybrid branch and one without undo": lambda: s("A")
    .then(parallel(h("B"), s("C"), s("N", False)))
    .then(s("E")),
    "a group undone concurrently": lambda: s("A")
    .then(parallel(s("B"), s("C"), h("D"), compensation="parallel"))
    .then(s("E")),
    "a group in windows under a deadline": lambda: s("A")
    .then(parallel(s("B"), s("C"), s("E", False), s("F"), max_concurrency=2).with_timeout(SECONDS))
    .then(s("D").with_timeout(SECONDS)),
    "deadlines on a strict and a hybrid step": lambda: s("A")
    .then(s("B").with_timeout(SECONDS))
    .then(h("C").with_timeout(SECONDS))
    .then(s("D", False)),
    "a fallback between steps": lambda: s("A").then(s("Cheap").or_else(s("Fast"))).then(s("D")),
    "a fallback of pipelines": lambda: s("A")
    .then(s("P1").then(h("P2")).or_else(s("Q1").then(s("Q2"))))
    .then(s("D")),
    "nested fallbacks": lambda: s("A").then(s("B").or_else(s("C").or_else(s("E")))).then(s("D")),
    "a fallback to a group": lambda: s("A").then(s("B").or_else(parallel(s("C"), s("E")))).then(s("D")),
    "a group under a deadline in a fallback": lambda: s("A")
    .then(parallel(s("B"), s("C")).with_timeout(SECONDS).or_else(s("E").with_timeout(SECONDS)))
    .then(s("D")),
}


# --- reading a diagram back ------------------------------------------------------------------------


@dataclass
class Graph:
    steps: dict[str, str] = field(default_factory=dict[str, str])
    undos: dict[str, str] = field(default_factory=dict[str, str])
    deadlines: dict[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict[str, tuple[str, tuple[str, ...]]])
    forward: set[tuple[str, str]] = field(default_factory=set[tuple[str, str]])
    rollback: list[tuple[str, str, str | None]] = field(default_factory=list[tuple[str, str, str | None]])
    """(source, target, label): from a step or deadline (a trigger) or from an undo node."""

    def normalized(self) -> tuple[object, ...]:
        return (self.steps, self.undos, self.deadlines, self.forward, sorted(self.rollback, key=str))


def parse_mermaid(text: str) -> Graph:
    graph = Graph()
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    subgraph: tuple[str, str, list[str]] | None = None
    for line in lines[1:]:
        line = line.strip()
        if subgraph is not None:
            if line == "end":
                graph.deadlines[subgraph[0]] = (subgraph[1], tuple(subgraph[2]))
                subgraph = None
            else:
                subgraph[2].append(line)
        elif found := re.fullmatch(r'subgraph (\w+) \["(.+)"\]', line):
            subgraph = (found[1], found[2], [])
        elif found := re.fullmatch(r'(\w+)\["(.+)"\]', line):
            (graph.undos if found[1].startswith("u") else graph.steps)[found[1]] = found[2]
        elif re.fullmatch(r'(done|rolled_back)\(\["[a-z ]+"\]\)', line):
            pass
        elif found := re.fullmatch(r"(\w+) --> (\w+)", line):
            graph.forward.add((found[1], found[2]))
        elif found := re.fullmatch(r"(\w+) -\.-> (\w+)", line):
            graph.rollback.append((found[1], found[2], None))
        elif found := re.fullmatch(r"(\w+) -\. ([A-Za-z ]+) \.-> (\w+)", line):
            graph.rollback.append((found[1], found[3], found[2]))
        elif found := re.fullmatch(r'(\w+) -\.->\|"(.+)"\| (\w+)', line):
            graph.rollback.append((found[1], found[3], found[2]))
        else:
            raise AssertionError(f"unexpected Mermaid line: {line!r}")
    return graph


ROLLBACK_DOT_EDGE = r'(\w+) -> (\w+) \[style=(dashed|dotted)(?:, label="(.+?)")?(?:, ltail=cluster_(\w+))?\];'
DOT_SETTINGS = ("rankdir=LR;", "compound=true;", "node [shape=box];")


def parse_dot(text: str) -> Graph:
    assert pydot.graph_from_dot_data(text), "Graphviz cannot parse the DOT text"
    graph = Graph()
    for line in text.splitlines()[1:-1]:
        line = line.strip()
        if found := re.fullmatch(r'subgraph cluster_(\w+) \{ label="(.+)"; style=dashed; (.+) \}', line):
            graph.deadlines[found[1]] = (found[2], tuple(m.rstrip(";") for m in found[3].split()))
        elif found := re.fullmatch(r'(\w+) \[label="(.+?)"(, style=dashed)?\];', line):
            (graph.undos if found[3] else graph.steps)[found[1]] = found[2]
        elif found := re.fullmatch(r"(\w+) -> (\w+);", line):
            graph.forward.add((found[1], found[2]))
        elif found := re.fullmatch(ROLLBACK_DOT_EDGE, line):
            source = found[5] or found[1]
            graph.rollback.append((source, found[2], found[4]))
        elif line in DOT_SETTINGS or line.startswith(("done ", "rolled_back ")):
            pass
        else:
            raise AssertionError(f"unexpected DOT line: {line!r}")
    return graph


@dataclass(frozen=True)
class Path:
    trigger: str
    label: str
    name: str
    units: tuple[frozenset[str], ...]
    """The compensations in order, as journal names (a group run together is one unit)."""
    end: frozenset[str]
    """"rolled_back", or the names of the steps it goes on with."""


def trigger_label(graph: Graph, source: str) -> str:
    if source in graph.steps:
        return graph.steps[source]
    members = graph.deadlines[source][1]
    labels = [graph.steps[m] for m in members]
    return labels[0] if len(labels) == 1 else "parallel(" + ", ".join(labels) + ")"


def compensations(graph: Graph, node: str) -> frozenset[str]:
    label = graph.undos[node].removeprefix("undo ").removesuffix(" (together)")
    return frozenset("compensate:" + name for name in label.split(" + "))


def paths(graph: Graph) -> list[Path]:
    found: list[Path] = []
    triggers: dict[tuple[str, str], set[str]] = {}
    for source, target, label in graph.rollback:
        if source not in graph.undos:
            assert label is not None, f"a trigger edge without label from {source}"
            triggers.setdefault((source, label), set()).add(target)
    for (source, label), first in triggers.items():
        name = f"{trigger_label(graph, source)} {label}"
        current = set(first)
        units: list[frozenset[str]] = []
        while len(current) == 1 and (node := next(iter(current))) in graph.undos:
            units.append(compensations(graph, node))
            out = [(t, lbl) for s, t, lbl in graph.rollback if s == node]
            mine = [t for t, lbl in out if lbl is not None and name in lbl.removeprefix("if ").split(" or ")]
            others = [t for t, lbl in out if lbl is None]
            assert mine or len(others) == 1, f"{name}: no single way on from {node}: {out}"
            current = set(mine or others)
            assert len(units) < 50
        end = frozenset(graph.steps.get(t, t) for t in current)
        found.append(Path(source, label, name, tuple(units), end))
    return found


# --- running a path ----------------------------------------------------------------------------------


async def run(pipeline: Step[object, Any, Any], failing_steps: set[str], timeout_at: str | None) -> FakeContext:
    """Run on a FakeContext with these steps failing (and the deadline of `timeout_at` passing)."""
    index = None
    if timeout_at is not None:
        with failing(*failing_steps):
            probe = FakeContext()
            try:
                await run_saga(probe.as_context(), pipeline, 0)
            except TerminalError:
                pass
        forward = [e.name for e in probe.journal if not e.name.startswith("compensate:")]
        index = forward.index(timeout_at)
    ctx = FakeContext(timeout_at=index)
    with failing(*failing_steps):
        try:
            await run_saga(ctx.as_context(), pipeline, 0)
        except TerminalError:
            pass
    return ctx


def matches(units: tuple[frozenset[str], ...], journal: list[str]) -> bool:
    chunks: list[frozenset[str]] = []
    for unit in units:
        chunks.append(frozenset(journal[: len(unit)]))
        journal = journal[len(unit) :]
    return not journal and tuple(chunks) == units


def primaries(pipeline: Step[object, Any, Any]) -> dict[str, str]:
    """For each fallback: how routes name its alternative -> a step whose failure makes it run."""
    from restate_saga import FallbackPlan, NestedPlan, ParallelPlan, Plan, SequencePlan, StepPlan, TimeoutPlan

    def first(plan: Plan, group_label: bool) -> str:
        match plan:
            case StepPlan(name=name):
                return name
            case SequencePlan(parts):
                return first(parts[0], group_label)
            case ParallelPlan(branches=branches):
                names = [b.name for b in branches]
                return "parallel(" + ", ".join(names) + ")" if group_label else names[0]
            case FallbackPlan(primary, _):
                return first(primary, group_label)
            case TimeoutPlan(body=body) | NestedPlan(body=body):
                return first(body, group_label)
            case _:
                raise AssertionError(plan)

    found: dict[str, str] = {}

    def walk(plan: Plan) -> None:
        match plan:
            case FallbackPlan(primary, alternative):
                found[first(alternative, True)] = first(primary, False)
                walk(primary)
                walk(alternative)
            case SequencePlan(parts):
                for part in parts:
                    walk(part)
            case TimeoutPlan(body=body) | NestedPlan(body=body):
                walk(body)
            case _:
                pass

    walk(pipeline.plan)
    return found


def parse_label(label: str) -> tuple[str, list[str], list[str]]:
    """(kind, the branches running at a deadline, the fallback alternatives taken) of a trigger label."""
    found = re.fullmatch(r"(fails|times out)(?: \((.+)\))?", label)
    assert found is not None, label
    running: list[str] = []
    route: list[str] = []
    for detail in found[2].split("; ") if found[2] else []:
        if detail.startswith("during "):
            running = detail.removeprefix("during ").split(", ")
        else:
            route.append(detail.removeprefix("after "))
    return found[1], running, route


@pytest.mark.parametrize("case", list(PIPELINES))
async def test_every_drawn_rollback_is_the_one_that_runs(case: str) -> None:
    pipeline = PIPELINES[case]()
    mermaid, dot = parse_mermaid(pipeline.to_mermaid()), parse_dot(pipeline.to_dot())
    assert mermaid.normalized() == dot.normalized()
    drawn = paths(mermaid)
    names = [p.name for p in drawn]
    assert len(names) == len(set(names)), f"two paths share a name: {names}"

    # 1. what check_compensations observes, at each step of a normal run, is drawn
    report = await check_compensations(pipeline, 0, timeouts=True)
    checked = 0
    for outcome in report.outcomes:
        kind = "fails" if outcome.kind == "failure" else "times out"
        candidates = [
            p
            for p in drawn
            if parse_label(p.label)[0] == kind
            and not parse_label(p.label)[2]
            and (
                (kind == "fails" and mermaid.steps.get(p.trigger) == outcome.step)
                or (
                    kind == "times out"
                    and p.trigger in mermaid.deadlines
                    and outcome.step in [mermaid.steps[m] for m in mermaid.deadlines[p.trigger][1]]
                    and (not parse_label(p.label)[1] or outcome.step in parse_label(p.label)[1])
                )
            )
        ]
        assert len(candidates) == 1, f"{case}: {outcome.kind} at {outcome.step}: drawn {candidates}"
        path = candidates[0]
        drawn_and_ran = f"{case}: {path.name}: drawn {path.units}, ran {outcome.actual}"
        assert matches(path.units, list(outcome.actual)), drawn_and_ran
        recovered = outcome.problem is not None and "succeeded anyway" in outcome.problem
        assert recovered == (path.end != {"rolled_back"}), f"{case}: {path.name} ends at {path.end}: {outcome}"
        assert outcome.problem is None or recovered, outcome.problem
        checked += 1
    assert checked == len(report.outcomes) > 0

    # 2. every drawn path, run on its own, undoes what it shows
    fallbacks = primaries(pipeline)
    for path in drawn:
        kind, running, route = parse_label(path.label)
        forced = {fallbacks[alternative] for alternative in route}
        if kind == "fails":
            ctx = await run(pipeline, forced | {mermaid.steps[path.trigger]}, None)
        else:
            members = running or [mermaid.steps[m] for m in mermaid.deadlines[path.trigger][1]]
            ctx = await run(pipeline, forced, members[0])
        journal = [e.name for e in ctx.journal]
        segment = journal
        if path.end != {"rolled_back"}:  # it went on with the alternative: up to its first step
            assert path.end <= set(journal), f"{case}: {path.name}: should go on with {path.end}, ran {journal}"
            segment = journal[: min(journal.index(name) for name in path.end)]
        last_forward = max(i for i, name in enumerate(segment) if not name.startswith("compensate:"))
        undone = segment[last_forward + 1 :]  # what ran once the trigger failed (earlier phases excluded)
        assert matches(path.units, undone), f"{case}: {path.name}: drawn {path.units}, ran {journal}"


def test_the_issues_pipeline_draws_the_real_rollback() -> None:
    diagram = s("A").then(parallel(s("B"), s("C"))).to_mermaid()
    assert "    s1 -. fails .-> u2\n" in diagram  # B fails: C (which completed) is undone first
    assert "    u2 -.-> u0\n" in diagram and "    s2 -. fails .-> u1\n" in diagram
    assert "s1 -. fails .-> u0" not in diagram


def test_a_fallback_primary_failure_leads_to_its_alternative() -> None:
    diagram = s("A").then(s("Cheap").or_else(s("Fast"))).then(s("D")).to_mermaid()
    assert "    s1 -. fails .-> s2\n" in diagram  # Cheap fails: nothing of it to undo, Fast runs
    assert "    s0 --> s2" not in diagram  # the alternative is reached only through the failure
    assert '    s3 -.->|"fails (after Fast)"| u2\n' in diagram
