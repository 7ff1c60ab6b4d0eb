"""A saga's status, from Restate's view of the invocation and what its journal shows."""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence
from typing import assert_never

from .._plans import (
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
from ._model import Activity, SagaStatus
from ._timeline import Timeline

_LEFT_UNDONE = re.compile(r"\[left undone after the rollback stopped: (.*?)\]$")
_NAME = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")
_FAILED_STEP = re.compile(r"^step ('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\") failed: ")
_CODE = re.compile(r"^\[(\d{3})\] ")


def split_failure(completion_failure: str | None) -> tuple[int | None, str | None]:
    """`"[402] step 'C' failed: ..."` as (402, "step 'C' failed: ...")."""
    if not completion_failure:
        return None, None
    found = _CODE.match(completion_failure)
    if found is None:
        return None, completion_failure
    return int(found.group(1)), completion_failure[found.end() :]


def failed_step_of(message: str | None, timeline: Timeline) -> str | None:
    """The step named by a `StepFailedError` message, else the latest step that failed for good."""
    if message:
        found = _FAILED_STEP.match(message)
        if found is not None:
            return str(ast.literal_eval(found.group(1)))
    return timeline.last_failed_step()


def _named_left_undone(message: str | None) -> list[str]:
    """The steps a stopped rollback reported as left undone (`SagaCompensatedError`'s message)."""
    if not message:
        return []
    found = _LEFT_UNDONE.search(message)
    if found is None:
        return []
    return [str(ast.literal_eval(name)) for name in _NAME.findall(found.group(1))]


def _finally_failed(compensations: Sequence[Activity]) -> list[str]:
    """Compensations whose last attempt failed (an escalation retried into success does not count)."""
    last: dict[str, Activity] = {}
    for compensation in compensations:
        last[compensation.name] = compensation
    return [name for name, activity in last.items() if activity.outcome == "failed"]


def compensable_steps(plan: Plan) -> set[str] | None:
    """Names of the plan's steps that have a compensation (None when saga code hides them)."""
    match plan:
        case StepPlan(name=name, compensated=compensated):
            return {name} if compensated else set()
        case RemotePlan(name=name):
            return {name}
        case SequencePlan(parts=parts):
            found: set[str] = set()
            for part in parts:
                names = compensable_steps(part)
                if names is None:
                    return None
                found |= names
            return found
        case NestedPlan(body=body) | TimeoutPlan(body=body):
            return compensable_steps(body)
        case ParallelPlan(branches=branches):
            return {branch.name for branch in branches if branch.compensated}
        case FallbackPlan(primary, alternative):
            first, second = compensable_steps(primary), compensable_steps(alternative)
            return None if first is None or second is None else first | second
        case MapPlan():
            return set()
        case CodePlan():
            return None
        case _:
            assert_never(plan)


def _never_undone(timeline: Timeline, plan: Plan | None) -> list[str]:
    """Steps that succeeded, can be undone, and were not (what a kill leaves behind)."""
    undone = {c.name for c in timeline.compensations if c.outcome == "succeeded"}
    compensable = None if plan is None else compensable_steps(plan)
    return [
        step.name
        for step in reversed(timeline.steps)
        if step.outcome == "succeeded" and step.name not in undone and (compensable is None or step.name in compensable)
    ]


def left_undone(timeline: Timeline, plan: Plan | None, message: str | None, killed: bool) -> tuple[str, ...]:
    """Steps whose compensation did not run to the end, newest first, each once."""
    names = _finally_failed(timeline.compensations) + _named_left_undone(message)
    if killed:
        names += _never_undone(timeline, plan)
    return tuple(dict.fromkeys(names))


def saga_status(
    restate_status: str,
    completion_result: str | None,
    completion_failure: str | None,
    role: str,
    timeline: Timeline,
    plan: Plan | None,
) -> tuple[SagaStatus, tuple[str, ...]]:
    """The saga status and the steps left undone, from `sys_invocation` and the journal."""
    if restate_status == "completed":
        _, message = split_failure(completion_failure)
        if completion_result == "success":
            return ("compensated" if role == "compensate" else "succeeded"), ()
        killed = message == "killed"
        undone = left_undone(timeline, plan, message, killed)
        if undone or role == "compensate":
            return "compensation_failed", undone
        if killed or timeline.cancelled or message == "cancelled":
            return "cancelled", ()
        return "compensated", ()
    if restate_status == "paused":
        return "paused", ()
    if timeline.parked is not None:
        return "parked", ()
    if timeline.rolling_back or role == "compensate":
        return "compensating", ()
    return "running", ()
