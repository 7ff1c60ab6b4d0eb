"""Failure injection on the real server: every step of a saga failed in turn, rollback checked."""

from __future__ import annotations

from restate_saga.testing import RestateTestBed, check_compensations_live
from tests.ledger import new_run


def test_checkout_rolls_back_right_at_every_step_on_the_real_server(bed: RestateTestBed) -> None:
    report = check_compensations_live(bed, "Checkout", {"run": new_run(), "customer": "ada", "amount": 3})
    assert report.ok, str(report)
    assert [o.step for o in report.outcomes] == ["CreateOrder", "Charge", "Ship"]
    assert report.outcomes[2].actual == ("compensate:Charge", "compensate:CreateOrder")


def test_hybrid_step_undoes_itself_when_it_fails_on_the_real_server(bed: RestateTestBed) -> None:
    report = check_compensations_live(bed, "ParallelSaga", {"run": new_run()})
    assert report.ok, str(report)
    at_b = next(o for o in report.outcomes if o.step == "B")
    assert at_b.actual == ("compensate:D", "compensate:C", "compensate:A", "compensate:Start")
    at_d = next(o for o in report.outcomes if o.step == "D")
    assert at_d.actual[0] == "compensate:D"  # hybrid: its own undo runs


def test_live_injection_finds_a_compensation_that_fails(bed: RestateTestBed) -> None:
    report = check_compensations_live(bed, "LatentlyBroken", new_run())
    assert not report.ok
    assert [o.step for o in report.problems] == ["Last"]
    assert "compensations failed: ['compensate:Broken']" in (report.problems[0].problem or "")
