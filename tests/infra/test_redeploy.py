"""A redeploy that changes a step's output model while invocations are in flight, on a real server.

Version 1 of `tests.infra.redeploy_app` starts one workflow per case and journals `Open` and
`Reserve`. The app is killed and version 2 is served on the same URI, so every invocation replays
`Reserve`'s journaled output against version 2's model. The behaviour this pins down:

- a field removed, or a new field with a default: the old value is read as it is;
- a new required field or a changed type, with `Step.with_upgrade`: the old value is upgraded;
- without an upgrade, and with later entries in the journal (the usual case: here a durable
  promise), the invocation can neither go on nor roll back without contradicting its journal: it
  fails with the retryable `StepDataChangedError` naming the step and the field, and waits (no
  action runs again); deploying an upgrade (version 3) lets it finish;
- without an upgrade, when the value ends the journal: `JournalValueMismatchError`, terminal, and the
  saga rolls back (the step itself is undone only if its compensation data is still readable);
- never a coerced value ("007" never becomes 7), and no journaled action ever runs twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from restate_saga.testing import AppProcess, CallResult, RestateServer, RestateTestBed, register_deployment
from tests.infra.ledger import LEDGER_ENV, Ledger, create_ledger, read_ledger

ROOT = Path(__file__).resolve().parents[2]
FINISHING = ["GainedRequiredUpgraded", "GainedDefaulted", "LostField", "ChangedTypeUpgraded"]
BLOCKED = ["GainedRequired", "ChangedType"]
AT_END = ["GainedRequiredAtEnd", "PairedOutputChangedAtEnd"]
CASES = [*FINISHING, *BLOCKED, *AT_END]
ROLLED_BACK = ["Open", "Reserve", "compensate:Reserve", "compensate:Open"]


@dataclass(frozen=True)
class Redeployed:
    bed: RestateTestBed
    invocations: dict[str, str]
    results: dict[str, CallResult]
    blocked: dict[str, str]
    """The last failure of each blocked invocation under version 2."""
    blocked_runs: dict[str, list[str]]
    ledger: Ledger
    blocked_ledger: Ledger
    """The ledger while the blocked invocations waited under version 2."""

    def runs(self, case: str) -> list[str]:
        return self.bed.run_entries(self.invocations[case])

    def effects(self, case: str, ledger: Ledger | None = None) -> list[str]:
        return (ledger or self.ledger).effects.get(f"order-{case}", [])


def _ready_for_redeploy(bed: RestateTestBed, case: str, invocation: str) -> bool:
    """`Reserve` is journaled with its result, and the saga waits (on the promise, or in memory)."""
    types = [entry.entry_type for entry in bed.journal(invocation)]
    if case in AT_END:
        return types.count("Notification: Run") == 2
    return any("Promise" in t for t in types)


def _wait(condition: str, check: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {condition}"
        time.sleep(0.05)


def _redeploy(app: AppProcess, version: int) -> None:
    app.kill()
    app.env["APP_VERSION"] = str(version)  # the same URI now serves other models
    app.start()


@pytest.fixture(scope="module")
def redeployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Redeployed]:
    ledger = tmp_path_factory.mktemp("redeploy") / "ledger.sqlite"
    create_ledger(ledger)
    with RestateServer() as server:
        app = AppProcess("tests.infra.redeploy_app:app", env={"APP_VERSION": "1", LEDGER_ENV: str(ledger)}, cwd=ROOT)
        app.start()
        try:
            register_deployment(server.admin_url, app.url)
            bed = RestateTestBed.attached(server)
            invocations = {
                case: bed.send(case, "run", {"order_id": f"order-{case}"}, key=f"order-{case}") for case in CASES
            }
            for case, invocation in invocations.items():
                _wait(f"{case} to journal Reserve", lambda c=case, i=invocation: _ready_for_redeploy(bed, c, i))
                assert bed.run_entries(invocation) == ["Open", "Reserve"], case

            _redeploy(app, 2)
            for case in [*FINISHING, *BLOCKED]:
                answer = bed.call(case, "go", "go", key=f"order-{case}")
                assert answer.ok, (case, answer.body)
            results = {case: bed.attach(invocations[case]) for case in [*FINISHING, *AT_END]}

            blocked: dict[str, str] = {}
            for case in BLOCKED:

                def failed(case: str = case) -> bool:
                    blocked[case] = str(bed.invocation_status(invocations[case]).get("last_failure") or "")
                    return "StepDataChangedError" in blocked[case]

                _wait(f"{case} to fail its replay", failed)
            blocked_runs = {case: bed.run_entries(invocations[case]) for case in BLOCKED}
            blocked_ledger = read_ledger(ledger)

            _redeploy(app, 3)  # version 2 plus upgrades: the blocked invocations go on at their next retry
            results.update({case: bed.attach(invocations[case]) for case in BLOCKED})
            yield Redeployed(bed, invocations, results, blocked, blocked_runs, read_ledger(ledger), blocked_ledger)
            bed.close()
        finally:
            app.stop()


def test_no_journaled_action_ever_runs_again(redeployed: Redeployed) -> None:
    for case in CASES:
        attempts = [a for a in redeployed.ledger.attempts if a.saga == f"order-{case}"]
        assert [a.effect for a in attempts if a.effect in ("Open", "Reserve")] == ["Open", "Reserve"], case
        assert all(a.applied for a in attempts), case


def test_a_removed_field_or_a_new_defaulted_field_is_read_as_it_is(redeployed: Redeployed) -> None:
    lost, defaulted = redeployed.results["LostField"], redeployed.results["GainedDefaulted"]
    assert lost.ok and lost.json() == {"order_id": "order-LostField", "amount": 42}
    assert defaulted.ok and defaulted.json() == {
        "order_id": "order-GainedDefaulted",
        "amount": 42,
        "note": "fragile",
        "currency": "EUR",
    }
    for case in ("LostField", "GainedDefaulted"):
        assert redeployed.runs(case) == ["Open", "Reserve", "Finish"]
        assert redeployed.effects(case) == ["Open", "Reserve", "Finish"]


def test_an_upgrade_reads_the_earlier_shape_and_the_saga_finishes(redeployed: Redeployed) -> None:
    gained, changed = redeployed.results["GainedRequiredUpgraded"], redeployed.results["ChangedTypeUpgraded"]
    assert gained.ok, gained.body
    assert gained.json() == {
        "order_id": "order-GainedRequiredUpgraded",
        "amount": 42,
        "note": "fragile",
        "currency": "EUR",
    }
    assert changed.ok, changed.body
    assert changed.json() == {
        "order_id": "order-ChangedTypeUpgraded",
        "amount": {"value": 42, "currency": "EUR"},
        "note": "fragile",
    }
    for case in ("GainedRequiredUpgraded", "ChangedTypeUpgraded"):
        assert redeployed.runs(case) == ["Open", "Reserve", "Finish"]
        assert redeployed.effects(case) == ["Open", "Reserve", "Finish"]


def test_an_unreadable_value_mid_journal_blocks_the_invocation_with_a_clear_error(redeployed: Redeployed) -> None:
    gained, changed = redeployed.blocked["GainedRequired"], redeployed.blocked["ChangedType"]
    assert "step 'Reserve': this invocation's journaled output does not match the declared type GainedRequired" in (
        gained
    )
    assert "field 'currency': Field required" in gained
    # "007" read as an int would be 7, a silently different value: refused, naming the field
    assert "declared type CodeV2: field 'code': Input should be a valid integer" in changed
    for case in BLOCKED:
        assert "Step.with_upgrade" in redeployed.blocked[case]
        # blocked means: nothing new journaled, nothing undone, nothing run again
        assert redeployed.blocked_runs[case] == ["Open", "Reserve"]
        assert redeployed.effects(case, redeployed.blocked_ledger) == ["Open", "Reserve"]


def test_deploying_an_upgrade_lets_a_blocked_invocation_finish(redeployed: Redeployed) -> None:
    gained, changed = redeployed.results["GainedRequired"], redeployed.results["ChangedType"]
    assert gained.ok, gained.body
    assert gained.json() == {"order_id": "order-GainedRequired", "amount": 42, "note": "fragile", "currency": "EUR"}
    assert changed.ok, changed.body
    assert changed.json() == {"order_id": "order-ChangedType", "code": 7}
    for case in BLOCKED:
        assert redeployed.runs(case) == ["Open", "Reserve", "Finish"]
        assert redeployed.effects(case) == ["Open", "Reserve", "Finish"]


def test_an_unreadable_value_at_the_end_of_the_journal_rolls_the_saga_back(redeployed: Redeployed) -> None:
    result = redeployed.results["GainedRequiredAtEnd"]
    assert result.status_code == 500
    message = result.message
    assert "step 'Reserve' failed: its journaled output does not match the declared type GainedRequired" in message
    assert "field 'currency': Field required" in message
    # Reserve's data cannot be read: its undo is recorded as failed (not run); Open is undone
    assert "compensations that failed: 'Reserve' (not run: its journaled output does not match" in message
    assert redeployed.runs("GainedRequiredAtEnd") == ROLLED_BACK
    assert redeployed.effects("GainedRequiredAtEnd") == ["Open", "Reserve", "undo Open"]


def test_compensation_data_journaled_apart_still_undoes_the_step(redeployed: Redeployed) -> None:
    result = redeployed.results["PairedOutputChangedAtEnd"]
    assert result.status_code == 500
    assert "field 'currency': Field required" in result.message
    assert "compensations that failed" not in result.message  # its undo ran, with its own readable data
    assert redeployed.runs("PairedOutputChangedAtEnd") == ROLLED_BACK
    assert redeployed.effects("PairedOutputChangedAtEnd") == ["Open", "Reserve", "undo Reserve", "undo Open"]
