"""Failure injection against a real restate-server, for an app served in the test's own process."""

from __future__ import annotations

import json
from collections.abc import Generator
from contextlib import contextmanager
from typing import Any

from .. import _faults
from .._nodes import Leaf, Mode
from .._rollback import COMPENSATE_PREFIX
from ._bed import RestateTestBed
from ._inject import InjectionOutcome, InjectionReport


@contextmanager
def _armed(failing: dict[str, int], observed: list[Leaf] | None) -> Generator[None]:
    _faults.failing, _faults.observed, _faults.ARMED = failing, observed, True
    try:
        yield
    finally:
        _faults.failing, _faults.observed, _faults.ARMED = {}, None, False


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

    The app must be served in this process (`RestateTestBed` does that). A successful baseline
    call finds the steps; then, for each one, its next attempt fails terminally and the journal
    must show exactly the compensations of the steps that completed (and the failed step's own if
    it is hybrid), newest first, each once and each successful. Groups with
    `compensation="parallel"` undo in no fixed order and are not supported here.
    """
    observed: list[Leaf] = []
    with _armed({}, observed):
        baseline = bed.call(service, handler, payload, key=key)
    if not baseline.ok or baseline.invocation_id is None:
        raise AssertionError(
            f"the baseline call of {service}.{handler} failed: {baseline.status_code} {baseline.message}"
        )
    leaves = {leaf.name: leaf for leaf in observed}
    order = [name for name, _ in _runs(bed, baseline.invocation_id) if name in leaves]
    outcomes: list[InjectionOutcome] = []
    for index, name in enumerate(order):
        with _armed({name: 1}, None):
            result = bed.call(service, handler, payload, key=key)
        assert result.invocation_id is not None
        runs = _runs(bed, result.invocation_id)
        completed = {n for n, ok in runs if ok and not n.startswith(COMPENSATE_PREFIX)}
        leaf = leaves[name]
        if leaf.mode is Mode.HYBRID and leaf.compensation is not None:
            completed.add(name)
        expected = tuple(
            COMPENSATE_PREFIX + n for n in reversed(order) if n in completed and leaves[n].compensation is not None
        )
        actual = tuple(n for n, _ in runs if n.startswith(COMPENSATE_PREFIX))
        failed = [n for n, ok in runs if n.startswith(COMPENSATE_PREFIX) and not ok]
        problem: str | None = None
        if result.ok:
            problem = "the saga succeeded anyway"
        elif actual != expected:
            problem = f"expected compensations {list(expected)}, got {list(actual)}"
        elif failed:
            problem = f"compensations failed: {failed}"
        outcomes.append(InjectionOutcome(name, index, "failure", expected, actual, problem))
    return InjectionReport(tuple(outcomes))
