"""Cancellation, compensation policies and idempotency keys against a real restate-server."""

from __future__ import annotations

import time

from restate_saga.testing import RestateTestBed
from tests.ledger import events, new_run, release


def wait_for(run: str, event: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while event not in events(run):
        assert time.monotonic() < deadline, f"{event!r} never happened: {events(run)}"
        time.sleep(0.02)


def test_cancel_during_a_slow_hybrid_action_lets_it_settle_before_any_undo(bed: RestateTestBed) -> None:
    run = new_run()
    invocation = bed.send("SlowSaga", "run", {"run": run})
    wait_for(run, "B start")
    bed.cancel(invocation)
    release(run, "B")  # B finishes only now, after the cancellation was requested
    result = bed.attach(invocation)
    assert result.status_code == 409
    assert "cancelled" in result.message
    # the action finished its side effect first; its undo then got its real data (failed=False)
    assert events(run) == [
        "A",
        "B start",
        "B done",
        "undo B start b=booked failed=False",
        "undo B done",
        "undo A",
    ]
    assert bed.run_entries(invocation) == ["A", "B", "compensate:B", "compensate:A"]


def test_cancel_during_a_durable_wait_compensates_and_ends_as_cancelled(bed: RestateTestBed) -> None:
    run = new_run()
    invocation = bed.send("WaitSaga", "run", {"run": run})
    wait_for(run, "sleeping")
    bed.wait_for_entry(invocation, "Command: Sleep")  # it now waits on its 60 s timer
    bed.cancel(invocation)
    result = bed.attach(invocation)
    assert result.status_code == 409
    assert events(run) == ["A", "sleeping", "undo A"]
    status = bed.invocation_status(invocation)
    assert status["status"] == "completed"


def test_default_policy_continues_past_a_failed_compensation(bed: RestateTestBed) -> None:
    run = new_run()
    result = bed.call("ContinuePolicy", "run", {"run": run, "broken": ["P2"]})
    assert result.status_code == 400
    assert "'P2' (P2 cannot be undone)" in result.message
    assert events(run) == [
        "P1",
        "P2",
        "P3",
        "Boom",
        "undo P3 start",
        "undo P3 done",
        "undo P2 start",
        "undo P1 start",
        "undo P1 done",
    ]


def test_stop_policy_ends_the_rollback_at_the_first_failed_compensation(bed: RestateTestBed) -> None:
    run = new_run()
    result = bed.call("StopPolicy", "run", {"run": run, "broken": ["P2"]})
    assert "'P2' (P2 cannot be undone)" in result.message
    assert "left undone after the rollback stopped: 'P1'" in result.message
    assert events(run) == ["P1", "P2", "P3", "Boom", "undo P3 start", "undo P3 done", "undo P2 start"]


def test_parallel_policy_starts_every_compensation_before_waiting(bed: RestateTestBed) -> None:
    run = new_run()
    result = bed.call("ParallelPolicy", "run", {"run": run, "undo_barrier": 3})
    assert "step 'Boom' failed: boom" in result.message
    seen = events(run)[4:]
    assert sorted(seen) == sorted(f"undo P{i} {what}" for i in (1, 2, 3) for what in ("start", "done"))
    first_done = min(i for i, event in enumerate(seen) if event.endswith("done"))
    assert first_done == 3, seen  # all three started before any finished
    assert result.invocation_id is not None
    assert sorted(bed.run_entries(result.invocation_id)[4:]) == ["compensate:P1", "compensate:P2", "compensate:P3"]


def test_idempotency_key_is_the_same_on_every_retry_and_distinct_for_the_undo(bed: RestateTestBed) -> None:
    run = new_run()
    result = bed.call("Keyed", "run", {"run": run})
    assert "step 'Boom' failed" in result.message
    assert events(run) == ["key 0:Keyed", "key 0:Keyed", "Boom", "undo key 0:Keyed:undo"]


def test_same_idempotency_key_runs_the_saga_once(bed: RestateTestBed) -> None:
    run = new_run()
    payload = {"run": run, "customer": "ada", "amount": 5}
    first = bed.call("Checkout", "run", payload, idempotency_key=f"checkout-{run}")
    second = bed.call("Checkout", "run", payload, idempotency_key=f"checkout-{run}")
    assert first.ok and second.ok
    assert first.json() == second.json()
    assert first.invocation_id == second.invocation_id
    assert events(run) == ["CreateOrder", "Charge", "Ship"]
