"""The core saga semantics against a real restate-server: journal entries, order, exactly-once."""

from __future__ import annotations

from restate_saga.testing import RestateTestBed
from tests.ledger import events, new_run


def cart(run: str, fail_at: str = "") -> dict[str, object]:
    return {"run": run, "customer": "ada", "amount": 30, "fail_at": fail_at}


def test_three_step_saga_succeeds_with_three_run_entries(bed: RestateTestBed) -> None:
    run = new_run()
    result = bed.call("Checkout", "run", cart(run))
    assert result.status_code == 200, result.body
    assert result.json() == {"order_id": "order-ada", "payment_id": "pay-30", "shipment_id": "ship-1"}
    assert result.invocation_id is not None
    assert bed.run_entries(result.invocation_id) == ["CreateOrder", "Charge", "Ship"]
    assert events(run) == ["CreateOrder", "Charge", "Ship"]


def test_failure_at_step_three_compensates_two_then_one_exactly_once(bed: RestateTestBed) -> None:
    run = new_run()
    result = bed.call("Checkout", "run", cart(run, fail_at="Ship"))
    assert result.status_code == 409  # the original 4xx status is kept
    assert "step 'Ship' failed: no courier available" in result.message
    assert result.invocation_id is not None
    assert bed.run_entries(result.invocation_id) == [
        "CreateOrder",
        "Charge",
        "Ship",
        "compensate:Charge",
        "compensate:CreateOrder",
    ]
    assert events(run) == [
        "CreateOrder",
        "Charge",
        "Ship",
        "undo Charge pay-30",
        "undo CreateOrder order-ada",
    ]


def test_hybrid_step_that_raises_is_compensated_with_its_input_and_failed_true(bed: RestateTestBed) -> None:
    run = new_run()
    result = bed.call("HybridBooking", "run", {"run": run, "mode": "hybrid"})
    assert result.status_code == 400
    assert "step 'Book' failed: booking system said no" in result.message
    assert events(run) == ["Reserve", "Book", "undo Book input=hybrid failed=True", "undo Reserve"]
    assert result.invocation_id is not None
    assert bed.run_entries(result.invocation_id) == [
        "Reserve",
        "Book",
        "compensate:Book",
        "compensate:Reserve",
    ]


def test_strict_step_that_raises_is_not_compensated_itself(bed: RestateTestBed) -> None:
    run = new_run()
    result = bed.call("StrictBooking", "run", {"run": run, "mode": "strict"})
    assert result.status_code == 400
    assert events(run) == ["Reserve", "Book", "undo Reserve"]
    assert result.invocation_id is not None
    assert bed.run_entries(result.invocation_id) == ["Reserve", "Book", "compensate:Reserve"]


def test_permanent_failure_compensates_with_the_data_it_carried(bed: RestateTestBed) -> None:
    run = new_run()
    result = bed.call("HybridBooking", "run", {"run": run, "mode": "permanent"})
    assert result.status_code == 500
    assert "step 'Book' failed: seat taken" in result.message
    assert events(run) == ["Reserve", "Book", "undo Book hold=hold-7 failed=True", "undo Reserve"]


def test_strict_permanent_failure_compensates_only_earlier_steps(bed: RestateTestBed) -> None:
    run = new_run()
    result = bed.call("StrictBooking", "run", {"run": run, "mode": "permanent"})
    assert "seat taken" in result.message
    assert events(run) == ["Reserve", "Book", "undo Reserve"]


def test_pydantic_output_comes_back_as_the_model_after_a_replay(bed: RestateTestBed) -> None:
    run = new_run()
    result = bed.call("ReplayModel", "run", run)
    assert result.status_code == 200, result.body
    assert result.json() == "Quote:42"
    seen = events(run)
    assert seen.count("MakeQuote") == 1, seen  # journaled: never re-run on replay
    assert seen.count("handler attempt") >= 2, seen  # the retry replayed the handler from the journal
    assert all(line == "after MakeQuote: Quote" for line in seen if line.startswith("after MakeQuote"))
    assert "Flaky attempt 2 got Quote" in seen


def test_suspending_at_every_await_replays_without_rerunning_steps(bed: RestateTestBed) -> None:
    run = new_run()
    result = bed.call("SuspendingCheckout", "run", cart(run, fail_at="Ship"))
    assert "step 'Ship' failed" in result.message
    assert events(run) == [
        "CreateOrder",
        "Charge",
        "Ship",
        "undo Charge pay-30",
        "undo CreateOrder order-ada",
    ]
    assert result.invocation_id is not None
    assert len(bed.run_entries(result.invocation_id)) == 5


def test_unserializable_output_is_a_terminal_error_not_a_retry_loop(bed: RestateTestBed) -> None:
    run = new_run()
    result = bed.call("Unserializable", "run", run)
    assert result.status_code == 500
    assert "step 'MakeOpaque' failed: its output cannot be serialized" in result.message
    assert events(run) == ["First", "MakeOpaque", "undo First"]


def test_a_failed_compensation_does_not_stop_the_rollback_and_is_named(bed: RestateTestBed) -> None:
    run = new_run()
    result = bed.call("BrokenCompensation", "run", run)
    assert "step 'Boom' failed: boom" in result.message
    assert "'Broken' (ledger closed)" in result.message
    assert events(run) == ["First", "First", "Boom", "undo Broken", "undo First"]


def test_exhausted_retries_fail_the_step_and_compensate(bed: RestateTestBed) -> None:
    run = new_run()
    result = bed.call("RetriesRunOut", "run", run)
    assert "step 'AlwaysFlaky' failed" in result.message
    seen = events(run)
    assert seen.count("AlwaysFlaky") == 2  # max_retry_attempts=2 counts every attempt (the SDK's max_attempts)
    assert seen[-1] == "undo First"


def test_explicit_none_compensation_data_means_nothing_to_undo(bed: RestateTestBed) -> None:
    run = new_run()
    result = bed.call("NothingToUndo", "run", run)
    assert "step 'Boom' failed" in result.message
    assert events(run) == ["First", "NoUndo", "Boom", "undo First"]
    assert events("never") == []
    assert result.invocation_id is not None
    assert bed.run_entries(result.invocation_id) == ["First", "NoUndo", "Boom", "compensate:First"]


def test_invalid_input_is_a_400_naming_the_field_and_runs_no_step(bed: RestateTestBed) -> None:
    run = new_run()
    result = bed.call("Checkout", "run", {"run": run, "customer": "ada", "amount": "lots"})
    assert result.status_code == 400
    assert "invalid input for Checkout.run" in result.message
    assert "'amount'" in result.message
    assert events(run) == []
    assert result.invocation_id is not None
    assert bed.run_entries(result.invocation_id) == []


def test_malformed_json_is_a_400(bed: RestateTestBed) -> None:
    result = bed.call("Checkout", "run", raw=b'{"run": ')
    assert result.status_code == 400
    assert "malformed JSON" in result.message


def test_zero_inactivity_timeout_really_replays_the_handler(bed: RestateTestBed) -> None:
    run = new_run()
    result = bed.call("SuspendingCounted", "run", run)
    assert result.status_code == 200, result.body
    seen = events(run)
    assert seen.count("handler attempt") > 1, seen
    assert [e for e in seen if e != "handler attempt"] == ["First", "NoUndo", "First"]
