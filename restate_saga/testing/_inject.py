"""Failure injection: fail (or cancel) a saga at every step in turn and check its rollback.

For each step that a successful run executes, the saga runs again on the in-process
`FakeContext` with a terminal failure injected at that step (or a cancellation delivered while
it runs). Expected: exactly the compensations registered before that point (plus the step's own
if it is hybrid, or if it completed before a cancellation), newest first, each run once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, assert_never, cast

from restate import TerminalError
from typing_extensions import TypeIs

from .._attempts import attempt, intercepted_attempt
from .._context import PendingGroup, SagaContext
from .._engine import run_saga
from .._nodes import Fallback, Handler, Leaf, MapNode, Mode, Nested, Node, Parallel, Remote, Then, Timeout
from .._rollback import COMPENSATE_PREFIX
from .._service import SagaWorkflowService
from .._step import Step, is_step
from ._double import FakeContext

Kind = Literal["failure", "cancellation", "timeout"]


@dataclass(frozen=True, slots=True)
class InjectionOutcome:
    """What happened when one step was made to fail (or was cancelled)."""

    step: str
    index: int
    kind: Kind
    expected: tuple[str, ...]
    actual: tuple[str, ...]
    problem: str | None

    @property
    def ok(self) -> bool:
        """True when the rollback was exactly the expected one."""
        return self.problem is None


@dataclass(frozen=True, slots=True)
class InjectionReport:
    """Every injection's outcome, in order; `str(report)` shows one line per injection."""

    outcomes: tuple[InjectionOutcome, ...]

    @property
    def ok(self) -> bool:
        """True when every injection rolled back as expected."""
        return all(outcome.ok for outcome in self.outcomes)

    @property
    def problems(self) -> tuple[InjectionOutcome, ...]:
        """The injections that did not roll back as expected."""
        return tuple(outcome for outcome in self.outcomes if not outcome.ok)

    def raise_for_problems(self) -> None:
        """Raise `AssertionError` listing every problem (for use in tests)."""
        if not self.ok:
            raise AssertionError(str(self))

    def __str__(self) -> str:
        lines: list[str] = []
        for o in self.outcomes:
            verdict = "ok" if o.ok else f"PROBLEM: {o.problem}"
            undone = ", ".join(o.actual) or "nothing"
            lines.append(f"{o.kind} at #{o.index} {o.step!r}: undid {undone} -> {verdict}")
        return "\n".join(lines)


SagaLike = Step[Any, Any, Any] | SagaWorkflowService[Any, Any] | Callable[[SagaContext, Any], Awaitable[Any]]


def _is_service(saga: object) -> TypeIs[SagaWorkflowService[Any, Any]]:
    return isinstance(saga, SagaWorkflowService)


def _body(saga: object) -> Callable[[SagaContext, Any], Awaitable[Any]]:
    if _is_service(saga):
        return saga.run_as_step
    return cast(Callable[[SagaContext, Any], Awaitable[Any]], saga)


def _registered(saga: SagaContext) -> list[tuple[int, str]]:
    """(position, step) of every compensation registered on the saga's stack."""
    return [(entry.position, entry.step) for entry in saga.compensations]


def keyed(handler: Callable[[SagaContext, Any, Any], Awaitable[Any]]) -> Callable[[SagaContext, Any], Awaitable[Any]]:
    """A virtual object / workflow saga handler `(saga, ctx, value)` as plain saga code `(saga, value)`."""

    async def body(saga: SagaContext, value: Any) -> Any:
        return await handler(saga, saga.ctx, value)

    return body


def _timed_leaves(saga: object) -> set[int]:
    """The ids of the leaves that run under a deadline, for a pipeline (saga code is opaque)."""
    if _is_service(saga):
        saga = saga.saga_handler
    if not is_step(saga):
        return set()
    found: set[int] = set()
    todo: list[tuple[Node, bool]] = [(saga.node, False)]
    while todo:
        node, timed = todo.pop()
        match node:
            case Leaf():
                if timed:
                    found.add(id(node))
            case Then(first, second):
                todo += [(first, timed), (second, timed)]
            case Nested(body=body):
                todo.append((body, timed))
            case Timeout(body=body):
                todo.append((body, True))
            case Parallel(branches=branches):
                todo += [(branch, timed) for branch in branches]
            case Fallback(primary, alternative):
                todo += [(primary, timed), (alternative, timed)]
            case MapNode() | Remote() | Handler():
                pass
            case _:
                assert_never(node)
    return found


async def check_compensations(
    saga: SagaLike,
    value: object,
    *,
    cancellation: bool = False,
    timeouts: bool = False,
    invocation_id: str = "inv_injection",
    context: Callable[[], FakeContext] | None = None,
) -> InjectionReport:
    """Fail the saga at each of its steps in turn (and, with `cancellation`, cancel it there too).

    With `timeouts`, each step of a pipeline that runs under a deadline (`with_timeout`, on the
    step or its group) also has that deadline pass while it runs: it completes late, as on a real
    server, so its own compensation is expected too. `context` makes each run's `FakeContext`
    (e.g. with preset `state` or `promises`).
    """
    body = _body(saga)
    make = context or FakeContext
    timed = _timed_leaves(saga) if timeouts else set[int]()

    def fresh(**faults: int | None) -> FakeContext:
        ctx = make()
        ctx.invocation_id = invocation_id
        ctx.fail_at = faults.get("fail_at")
        ctx.cancel_at = faults.get("cancel_at")
        ctx.timeout_at = faults.get("timeout_at")
        return ctx

    baseline = fresh()
    probe = SagaContext(baseline.as_context())
    await body(probe, value)  # raises if the saga does not succeed on `value`
    registered = sorted(_registered(probe))
    grouped = any(isinstance(entry, PendingGroup) for entry in probe.entries)
    forward = [
        (action, args)
        for entry, action, args in zip(baseline.journal, baseline.actions, baseline.arguments, strict=True)
        if not entry.name.startswith(COMPENSATE_PREFIX)
    ]
    outcomes: list[InjectionOutcome] = []
    kinds: list[Kind] = ["failure", "cancellation"] if cancellation else ["failure"]
    if timed:
        kinds.append("timeout")
    for kind in kinds:
        for index, (action, args) in enumerate(forward):
            leaf = args[0] if action in (attempt, intercepted_attempt) and args else None
            if not isinstance(leaf, Leaf):
                continue  # the saga code's own ctx.run_typed, not a step
            if kind == "timeout" and id(leaf) not in timed:
                continue
            fault = {"failure": "fail_at", "cancellation": "cancel_at", "timeout": "timeout_at"}[kind]
            ctx = fresh(**{fault: index})
            outcomes.append(await _inject(body, value, ctx, leaf, index, kind, registered, grouped))
    return InjectionReport(tuple(outcomes))


async def _inject(
    body: Callable[[SagaContext, Any], Awaitable[Any]],
    value: object,
    ctx: FakeContext,
    leaf: Leaf,
    index: int,
    kind: Kind,
    registered: list[tuple[int, str]],
    grouped: bool,
) -> InjectionOutcome:
    problem: str | None = None
    try:
        await run_saga(ctx.as_context(), body, value)
        problem = "the saga succeeded anyway (a fallback or handler code recovered)"
    except TerminalError:
        pass
    except Exception as error:  # a compensation (or the saga code) crashed
        problem = f"raised {error!r} during the rollback"
    # what must be undone: every registered step that completed in this run (siblings in a
    # parallel group included), plus the failed step itself if it is hybrid
    completed = {e.name for e in ctx.journal if e.failure is None and not e.name.startswith(COMPENSATE_PREFIX)}
    if leaf.mode is Mode.HYBRID and leaf.compensation is not None:
        completed.add(leaf.name)
    expected = tuple(COMPENSATE_PREFIX + step for _, step in reversed(registered) if step in completed)
    actual = tuple(e.name for e in ctx.journal if e.name.startswith(COMPENSATE_PREFIX))
    executed = [n for n in ctx.executed if n.startswith(COMPENSATE_PREFIX)]
    failed = [e.name for e in ctx.journal if e.name.startswith(COMPENSATE_PREFIX) and e.failure is not None]
    same = sorted(actual) == sorted(expected) if grouped else actual == expected  # groups undo concurrently
    if problem is None and not same:
        problem = f"expected compensations {list(expected)}, got {list(actual)}"
    if problem is None and sorted(executed) != sorted(actual):
        problem = f"compensations ran {executed}, journaled {list(actual)}"
    if problem is None and failed:
        problem = f"compensations failed: {failed}"
    return InjectionOutcome(leaf.name, index, kind, expected, actual, problem)
