"""Failure injection against a real restate-server, for an app served in the test's own process."""

from __future__ import annotations

import json
from typing import Any

from .._interceptors import StepAttempt
from .._rollback import COMPENSATE_PREFIX
from ._bed import CallResult, RestateTestBed
from ._faults import FaultInjector
from ._inject import InjectionOutcome, InjectionReport


def _runs(bed: RestateTestBed, invocation_id: str) -> list[tuple[str, bool]]:
    """(name, succeeded) of each `run` entry of an invocation, in journal order."""
    rows = bed.journal_rows(invocation_id)
    outcome: dict[int, bool] = {}
    for row in rows:
        completion = json.loads(row.get("entry_json") or "{}").get("Notification", {}).get("Completion", {})
        run = completion.get("Run")
        if run is not None:
            outcome[run["completion_id"]] = "Success" in run.get("result", {})
    runs: list[tuple[str, bool]] = []
    for row in rows:
        if row["entry_type"] == "Command: Run":
            completion_id = json.loads(row["entry_json"])["Command"]["Run"]["completion_id"]
            runs.append((str(row["name"]), outcome.get(completion_id, False)))
    return runs


def check_compensations_live(
    bed: RestateTestBed, service: str, payload: Any, *, handler: str = "run", key: str | None = None
) -> InjectionReport:
    """Fail each step of a saga service in turn on the real server and check its rollback.

    The app must be served in this process (`RestateTestBed` does that): a `FaultInjector` is
    registered for every saga of the process while the check runs. A successful baseline call
    finds the steps; then, for each one, its next attempt fails terminally and the journal
    must show exactly the compensations of the steps that completed (and the failed step's own if
    it is hybrid), newest first, each once and each successful. Groups with
    `compensation="parallel"` undo in no fixed order and are not supported here.
    """
    injector = FaultInjector()
    with injector.installed():
        baseline = bed.call(service, handler, payload, key=key)
        if not baseline.ok or baseline.invocation_id is None:
            raise AssertionError(
                f"the baseline call of {service}.{handler} failed: {baseline.status_code} {baseline.message}"
            )
        steps = {attempt.step: attempt for attempt in injector.attempts}
        order = [name for name, _ in _runs(bed, baseline.invocation_id) if name in steps]
        outcomes: list[InjectionOutcome] = []
        for index, name in enumerate(order):
            injector.fail(name)
            result = bed.call(service, handler, payload, key=key)
            injector.disarm()
            assert result.invocation_id is not None
            outcomes.append(_outcome(bed, result, name, index, order, steps))
    return InjectionReport(tuple(outcomes))


def _outcome(
    bed: RestateTestBed, result: CallResult, name: str, index: int, order: list[str], steps: dict[str, StepAttempt]
) -> InjectionOutcome:
    assert result.invocation_id is not None
    runs = _runs(bed, result.invocation_id)
    completed = {n for n, ok in runs if ok and not n.startswith(COMPENSATE_PREFIX)}
    failed_step = steps[name]
    if failed_step.mode == "hybrid" and failed_step.compensable:
        completed.add(name)
    expected = tuple(COMPENSATE_PREFIX + n for n in reversed(order) if n in completed and steps[n].compensable)
    actual = tuple(n for n, _ in runs if n.startswith(COMPENSATE_PREFIX))
    failed = [n for n, ok in runs if n.startswith(COMPENSATE_PREFIX) and not ok]
    problem: str | None = None
    if result.ok:
        problem = "the saga succeeded anyway"
    elif actual != expected:
        problem = f"expected compensations {list(expected)}, got {list(actual)}"
    elif failed:
        problem = f"compensations failed: {failed}"
    return InjectionOutcome(name, index, "failure", expected, actual, problem)
