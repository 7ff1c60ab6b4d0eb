"""Rollback paths of a plan: for each way a saga can fail, the compensations that run, in order.

The diagrams are drawn from these paths. They follow the interpreter's rules: a strict step's
compensation is registered once it succeeded, a hybrid step's before it runs; a parallel group
waits for its branches in flight, so when one fails the others (of its window) completed and are
undone too, newest branch first (or together); a step or group whose deadline passes is allowed to
finish first, so its own compensation runs; a fallback's primary is undone before its
alternative runs, and a later failure undoes whichever of the two ran. Compensations are assumed
to succeed.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Literal, assert_never

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

Unit = tuple[str, ...]
"""Undo node ids that run as one: a single compensation, or a parallel group's undone together."""
ROLLED_BACK = "rolled_back"
TriggerKind = Literal["fails", "times out"]


@dataclass(frozen=True, slots=True)
class ForwardNode:
    """A step of the plan, drawn once."""

    ident: str
    label: str
    undo: str | None
    """The id of its compensation's node, if it has a compensation."""


@dataclass(frozen=True, slots=True)
class Deadline:
    """A durable deadline (`with_timeout`) around a step or a parallel group."""

    ident: str
    label: str
    members: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Scenario:
    """One way the saga fails, and what runs then."""

    trigger: str
    """The forward node that fails, or the deadline that passes."""
    trigger_label: str
    kind: TriggerKind
    route: tuple[str, ...]
    """The fallback alternatives that ran before (labels of their first steps), in order."""
    running: tuple[str, ...]
    """For a deadline over a group run in windows: the labels of the branches running when it passed."""
    undo: tuple[Unit, ...]
    """The compensations that run, in order."""
    then: tuple[str, ...]
    """Forward nodes the saga goes on with (a fallback's alternative); empty: it ends rolled back."""

    @property
    def edge_label(self) -> str:
        """How the trigger edge is labelled: the kind, and the route or window when they matter."""
        details: list[str] = []
        if self.running:
            details.append("during " + ", ".join(self.running))
        details += [f"after {alternative}" for alternative in self.route]
        return self.kind + (f" ({'; '.join(details)})" if details else "")

    @property
    def name(self) -> str:
        """The scenario in words, e.g. "Charge fails" or "parallel(B, C) times out (after Fast)"."""
        return f"{self.trigger_label} {self.edge_label}"

    @property
    def path(self) -> tuple[tuple[str, ...], ...]:
        """The nodes it passes through after the trigger: each unit, then its end."""
        return (*self.undo, self.then or (ROLLED_BACK,))


@dataclass(frozen=True, slots=True)
class Edge:
    """A rollback edge: from a step (a trigger) or an undo node to the next node(s) of a path."""

    source: str
    targets: tuple[str, ...]
    label: str | None


@dataclass(frozen=True, slots=True)
class UndoNode:
    """A compensation (or a group's compensations run together), drawn once."""

    ident: str
    label: str


@dataclass(frozen=True, slots=True)
class Shape:
    """What a diagram draws: forward steps and edges, deadlines, undo nodes, and the rollback edges.

    A path is read from its trigger edge (a step that `fails`, a deadline that `times out`) along
    undo edges: at each undo node, take the edge labelled with the path's scenario (`if ...`) if
    there is one, else the unlabelled one; it ends at "rolled back" or at a fallback's alternative.
    """

    nodes: tuple[ForwardNode, ...]
    edges: tuple[tuple[str, str], ...]
    deadlines: tuple[Deadline, ...]
    undo_nodes: tuple[UndoNode, ...]
    undo_edges: tuple[Edge, ...]
    trigger_edges: tuple[Edge, ...]
    scenarios: tuple[Scenario, ...]


# --- the plan, with node ids --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Leaf:
    node: ForwardNode
    hybrid: bool


@dataclass(frozen=True, slots=True)
class _Seq:
    parts: tuple[_Tree, ...]


@dataclass(frozen=True, slots=True)
class _Group:
    branches: tuple[_Leaf, ...]
    concurrent: bool
    window: int


@dataclass(frozen=True, slots=True)
class _Fallback:
    primary: _Tree
    alternative: _Tree
    alternative_entries: tuple[str, ...]
    alternative_label: str


@dataclass(frozen=True, slots=True)
class _Timed:
    body: _Leaf | _Group
    deadline: Deadline


_Tree = _Leaf | _Seq | _Group | _Fallback | _Timed


@dataclass
class _Builder:
    nodes: list[ForwardNode] = field(default_factory=list[ForwardNode])
    edges: list[tuple[str, str]] = field(default_factory=list[tuple[str, str]])
    deadlines: list[Deadline] = field(default_factory=list[Deadline])

    def leaf(self, label: str, compensated: bool, hybrid: bool, previous: list[str]) -> tuple[_Leaf, list[str]]:
        ident = f"s{len(self.nodes)}"
        node = ForwardNode(ident, label, f"u{ident[1:]}" if compensated else None)
        self.nodes.append(node)
        self.edges.extend((source, ident) for source in previous)
        return _Leaf(node, hybrid and compensated), [ident]

    def build(self, plan: Plan, previous: list[str]) -> tuple[_Tree, list[str]]:
        """The plan with node ids, and its exit nodes; adds its nodes and forward edges."""
        match plan:
            case SequencePlan(parts):
                built: list[_Tree] = []
                for part in parts:
                    tree, previous = self.build(part, previous)
                    built.append(tree)
                return _Seq(tuple(built)), previous
            case NestedPlan(body=body):
                return self.build(body, previous)
            case TimeoutPlan(body, seconds):
                ident = f"t{len(self.deadlines)}"
                start = len(self.nodes)
                tree, exits = self.build(body, previous)
                members = tuple(n.ident for n in self.nodes[start:])
                deadline = Deadline(ident, f"within {seconds:g}s", members)
                self.deadlines.append(deadline)
                assert isinstance(tree, _Leaf | _Group)
                return _Timed(tree, deadline), exits
            case ParallelPlan(branches=branches, parallel_compensation=concurrent, max_concurrency=window):
                leaves: list[_Leaf] = []
                ends: list[str] = []
                for branch in branches:
                    leaf, end = self.leaf(branch.name, branch.compensated, branch.mode == "hybrid", previous)
                    leaves.append(leaf)
                    ends.extend(end)
                return _Group(tuple(leaves), concurrent, window or len(leaves)), ends
            case FallbackPlan(primary, alternative):
                first, first_exits = self.build(primary, previous)
                second, second_exits = self.build(alternative, [])  # reached only when the primary fails
                entries = _entries(second)
                label = _first_label(second)
                return _Fallback(first, second, entries, label), first_exits + second_exits
            case MapPlan():
                return _Seq(()), previous
            case StepPlan(name=name, compensated=compensated, mode=mode):
                leaf, exits = self.leaf(name, compensated, mode == "hybrid", previous)
                return leaf, exits
            case RemotePlan(name=name):
                leaf, exits = self.leaf(f"{name} (remote)", True, False, previous)
                return leaf, exits
            case CodePlan(name=name):
                leaf, exits = self.leaf(name, False, False, previous)
                return leaf, exits
            case _:
                assert_never(plan)


def _first_label(tree: _Tree) -> str:
    """How a route names a fallback's alternative: by the step (or group) it starts with."""
    match tree:
        case _Leaf(node):
            return node.label
        case _Seq(parts):
            return next((_first_label(part) for part in parts if _entries(part)), "nothing")
        case _Group():
            return deadline_label(tree)
        case _Fallback(primary) | _Timed(primary):
            return _first_label(primary)
        case _:
            assert_never(tree)


def _entries(tree: _Tree) -> tuple[str, ...]:
    """The forward nodes a tree starts with."""
    match tree:
        case _Leaf(node):
            return (node.ident,)
        case _Seq(parts):
            return next((found for part in parts if (found := _entries(part))), ())
        case _Group(branches):
            return tuple(b.node.ident for b in branches)
        case _Fallback(primary):
            return _entries(primary)
        case _Timed(body):
            return _entries(body)
        case _:
            assert_never(tree)


# --- the interpreter's rules, symbolically -----------------------------------------------------------

Stack = tuple[Unit, ...]
Route = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Failure:
    trigger: str
    trigger_label: str
    kind: TriggerKind
    running: tuple[str, ...]
    stack: Stack
    route: Route


@dataclass
class _Simulation:
    scenarios: list[Scenario] = field(default_factory=list[Scenario])

    def run(self, tree: _Tree, stack: Stack, route: Route) -> tuple[list[tuple[Stack, Route]], list[_Failure]]:
        """The (stack, route) pairs a successful run of `tree` can end with, and its failures."""
        match tree:
            case _Leaf(node, hybrid):
                own: Stack = ((node.undo,),) if node.undo else ()
                failure = _Failure(node.ident, node.label, "fails", (), stack + own if hybrid else stack, route)
                return [(stack + own, route)], [failure]
            case _Seq(parts):
                current = [(stack, route)]
                failures: list[_Failure] = []
                for part in parts:
                    following: list[tuple[Stack, Route]] = []
                    for each_stack, each_route in current:
                        done, failed = self.run(part, each_stack, each_route)
                        following += [d for d in done if d not in following]
                        failures += failed
                    current = following
                return current, failures
            case _Group():
                return [(stack + _registered(tree, tree.branches, None), route)], [
                    _Failure(
                        branch.node.ident,
                        branch.node.label,
                        "fails",
                        (),
                        stack + _registered(tree, _started_with(tree, index), branch),
                        route,
                    )
                    for index, branch in enumerate(tree.branches)
                ]
            case _Timed(body, deadline):
                done, failures = self.run(body, stack, route)
                if isinstance(body, _Leaf):
                    own = ((body.node.undo,),) if body.node.undo else ()
                    failures.append(_Failure(deadline.ident, body.node.label, "times out", (), stack + own, route))
                else:
                    label = deadline_label(body)
                    windows = _windows(body)
                    for number, window in enumerate(windows):
                        started = tuple(b for w in windows[: number + 1] for b in w)
                        running = tuple(b.node.label for b in window) if len(windows) > 1 else ()
                        registered = stack + _registered(body, started, None)
                        failures.append(_Failure(deadline.ident, label, "times out", running, registered, route))
                return done, failures
            case _Fallback(primary, alternative, entries, label):
                mark = len(stack)
                done, failures = self.run(primary, stack, route)
                for failure in failures:
                    self.scenarios.append(_scenario(failure, failure.stack[mark:], entries))
                more_done, more_failures = self.run(alternative, stack, (*route, label))
                return done + [d for d in more_done if d not in done], more_failures
            case _:
                assert_never(tree)


def deadline_label(group: _Group) -> str:
    """How a group is named in scenarios: `parallel(...)` of its branches."""
    return "parallel(" + ", ".join(b.node.label for b in group.branches) + ")"


def _windows(group: _Group) -> list[tuple[_Leaf, ...]]:
    return [group.branches[i : i + group.window] for i in range(0, len(group.branches), group.window)]


def _started_with(group: _Group, index: int) -> tuple[_Leaf, ...]:
    """The branches started by the time branch `index` settles: those of its window and before."""
    end = (index // group.window + 1) * group.window
    return group.branches[:end]


def _registered(group: _Group, started: tuple[_Leaf, ...], failed: _Leaf | None) -> Stack:
    """What a group leaves on the stack: its started branches that registered, in branch order."""
    undos = tuple(
        b.node.undo for b in started if b.node.undo is not None and (b is not failed or b.hybrid)
    )
    if not undos:
        return ()
    return (undos,) if group.concurrent and len(undos) > 1 else tuple((u,) for u in undos)


def _scenario(failure: _Failure, undone: Stack, then: tuple[str, ...]) -> Scenario:
    return Scenario(
        failure.trigger,
        failure.trigger_label,
        failure.kind,
        failure.route,
        failure.running,
        tuple(reversed(undone)),
        then,
    )


def shape(plan: Plan) -> Shape:
    """The forward graph and every rollback scenario of `plan`."""
    builder = _Builder()
    tree, exits = builder.build(plan, [])
    builder.edges.extend((end, "done") for end in exits)
    simulation = _Simulation()
    _, failures = simulation.run(tree, (), ())
    scenarios = simulation.scenarios + [_scenario(f, f.stack, ()) for f in failures]
    position = {node.ident: index for index, node in enumerate(builder.nodes)}
    for deadline in builder.deadlines:
        position[deadline.ident] = max(position[m] for m in deadline.members)
    # in execution order; for one trigger, the normal route last (read backwards, it comes first)
    scenarios.sort(key=lambda s: (position[s.trigger], s.kind == "times out", not s.route, s.route, s.running))
    labels = {n.undo: n.label for n in builder.nodes if n.undo is not None}
    ids: dict[Unit, UndoNode] = {}
    for scenario in reversed(scenarios):  # the longest rollback (a failure at the end) first
        for unit in scenario.undo:
            if unit not in ids:
                names = " + ".join(labels[u] for u in unit)
                label = f"undo {names}" + (" (together)" if len(unit) > 1 else "")
                ids[unit] = UndoNode("_".join(unit), label)

    def targets(step: tuple[str, ...]) -> tuple[str, ...]:
        return (ids[step].ident,) if step in ids else step

    default: dict[str, tuple[str, ...]] = {}
    labelled: dict[tuple[str, tuple[str, ...]], list[str]] = {}
    order: list[tuple[str, tuple[str, ...]]] = []
    for scenario in reversed(scenarios):
        path = [targets(step) for step in scenario.path]
        for here, following in itertools.pairwise(path):
            source = here[0]
            key = (source, following)
            if key not in order:
                order.append(key)
            if default.setdefault(source, following) != following:
                labelled.setdefault(key, []).append(scenario.name)
    undo_edges = tuple(
        Edge(source, following, None if default[source] == following else _conditions(labelled[(source, following)]))
        for source, following in order
    )
    trigger_edges = tuple(Edge(s.trigger, targets(s.path[0]), s.edge_label) for s in scenarios)
    return Shape(
        tuple(builder.nodes),
        tuple(builder.edges),
        tuple(builder.deadlines),
        tuple(ids.values()),
        undo_edges,
        trigger_edges,
        tuple(scenarios),
    )


def _conditions(names: list[str]) -> str:
    return "if " + " or ".join(reversed(names))
