"""Parallel groups, fallbacks, timeouts, failure causes and remote sub-sagas on a real restate-server."""

from __future__ import annotations

import time

from restate_saga.testing import RestateTestBed
from tests.ledger import events, new_run, release


def test_parallel_group_returns_a_tuple_with_one_entry_per_branch(bed: RestateTestBed) -> None:
    run = new_run()
    result = bed.call("ParallelSaga", "run", {"run": run})
    assert result.status_code == 200, result.body
    assert result.json() == ["A", "B", "C", "D"]
    assert result.invocation_id is not None
    assert bed.run_entries(result.invocation_id) == ["Start", "A", "B", "C", "D", "Finish"]


def test_failed_branch_waits_for_siblings_then_compensates_exactly_the_ones_that_registered(
    bed: RestateTestBed,
) -> None:
    run = new_run()
    payload = {"run": run, "fail": ["B", "D"], "delay": {"A": 0.6, "C": 0.1}}
    result = bed.call("ParallelSaga", "run", payload)
    assert result.status_code == 409
    assert "step 'B' failed: B refused" in result.message
    seen = events(run)
    first_undo = next(i for i, e in enumerate(seen) if e.startswith("undo"))
    assert {"A done", "C done", "B failed", "D failed"} <= set(seen[:first_undo])  # all settled first
    undos = [e for e in seen if e.startswith("undo") and " start " in e]
    # reverse branch order: D (hybrid, failed itself), C, A; B (strict, failed) is not undone; then Start
    assert undos == [
        "undo D start failed=True cause=later_failure:B",
        "undo C start failed=False cause=later_failure:B",
        "undo A start failed=False cause=later_failure:B",
        "undo Start start failed=False cause=later_failure:B",
    ]


def test_group_compensation_can_run_concurrently(bed: RestateTestBed) -> None:
    run = new_run()
    result = bed.call("ParallelUndo", "run", {"run": run, "fail": ["Last"], "undo_barrier": 3})
    assert "step 'Last' failed" in result.message
    seen = events(run)
    undos = seen[seen.index("Last failed") + 1 :]
    group = undos[:6]
    assert sorted(e.split(" start")[0] for e in group if " start " in e) == ["undo A", "undo B", "undo C"]
    assert [e.endswith("done") for e in group].index(True) == 3  # A, B, C all started before one ended
    assert undos[6:] == ["undo Start start failed=False cause=later_failure:Last", "undo Start done"]


def test_max_concurrency_one_runs_branches_one_at_a_time_in_order(bed: RestateTestBed) -> None:
    run = new_run()
    result = bed.call("Throttled", "run", {"run": run, "delay": {"A": 0.2, "B": 0.1}})
    assert result.json() == ["A", "B", "C"]
    assert events(run) == ["A start", "A done", "B start", "B done", "C start", "C done", "Finish"]


def test_fallback_undoes_the_first_branch_then_runs_the_alternative(bed: RestateTestBed) -> None:
    run = new_run()
    result = bed.call("FallbackSaga", "run", {"run": run, "fail": ["P2"]})
    assert result.status_code == 200, result.body
    assert result.json()["last"] == "End"
    assert events(run) == [
        "Start start",
        "Start done",
        "P1 start",
        "P1 done",
        "P2 start",
        "P2 failed",
        "undo P1 start failed=False cause=later_failure:P2",
        "undo P1 done",
        "Alt start",
        "Alt done",
        "End start",
        "End done",
    ]


def test_after_a_fallback_a_later_failure_undoes_the_alternative_not_the_first_branch_again(
    bed: RestateTestBed,
) -> None:
    run = new_run()
    result = bed.call("FallbackSaga", "run", {"run": run, "fail": ["P2", "End"]})
    assert "step 'End' failed" in result.message
    undos = [e for e in events(run) if e.startswith("undo") and " start " in e]
    assert undos == [
        "undo P1 start failed=False cause=later_failure:P2",
        "undo Alt start failed=False cause=later_failure:End",
        "undo Start start failed=False cause=later_failure:End",
    ]


def test_a_step_past_its_deadline_fails_with_408_and_compensates_after_it_settled(bed: RestateTestBed) -> None:
    run = new_run()
    invocation = bed.send("TimeoutSaga", "run", {"run": run, "hold": ["Slow"]})
    bed.wait_for_entry(invocation, "Notification: Sleep")  # the deadline fired while Slow runs
    release(run, "Slow")
    result = bed.attach(invocation)
    assert result.status_code == 408
    assert "step 'Slow' failed: timed out after 0.3s" in result.message
    assert events(run) == [
        "Start start",
        "Start done",
        "Slow start",
        "Slow done",
        "undo Slow start failed=False cause=timeout:Slow",
        "undo Slow done",
        "undo Start start failed=False cause=timeout:Slow",
        "undo Start done",
    ]


def test_a_fast_step_is_not_affected_by_its_deadline(bed: RestateTestBed) -> None:
    run = new_run()
    result = bed.call("RelaxedTimeoutSaga", "run", {"run": run})
    assert result.status_code == 200, result.body
    assert result.json()["last"] == "End"


def test_a_parallel_group_past_its_deadline_compensates_every_branch(bed: RestateTestBed) -> None:
    run = new_run()
    invocation = bed.send("GroupTimeout", "run", {"run": run, "hold": ["B"]})
    bed.wait_for_entry(invocation, "Notification: Sleep")  # the group's deadline fired while B runs
    release(run, "B")
    result = bed.attach(invocation)
    assert result.status_code == 408
    undos = [e for e in events(run) if e.startswith("undo") and " start " in e]
    assert undos == [
        "undo B start failed=False cause=timeout:parallel(A, B)",
        "undo A start failed=False cause=timeout:parallel(A, B)",
        "undo Start start failed=False cause=timeout:parallel(A, B)",
    ]


def test_compensation_sees_a_cancellation_as_its_cause(bed: RestateTestBed) -> None:
    run = new_run()
    invocation = bed.send("CancelCause", "run", {"run": run})
    deadline = time.monotonic() + 20
    while "waiting" not in events(run):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    bed.wait_for_entry(invocation, "Command: Sleep")  # now waiting on its 60 s timer
    bed.cancel(invocation)
    assert bed.attach(invocation).status_code == 409
    assert "undo Start start failed=False cause=cancelled:None" in events(run)


def test_remote_sub_saga_succeeds_as_one_call(bed: RestateTestBed) -> None:
    run = new_run()
    result = bed.call("OrderWithRemote", "run", {"run": run})
    assert result.status_code == 200, result.body
    assert events(run) == [
        "Reserve start",
        "Reserve done",
        "Authorize start",
        "Authorize done",
        "Capture start",
        "Capture done",
        "Ship start",
        "Ship done",
    ]
    assert result.invocation_id is not None
    entries = [e.entry_type for e in bed.journal(result.invocation_id)]
    assert entries.count("Command: Run") == 2  # Reserve and Ship run here; the sub-saga is one call
    assert entries.count("Command: Call") == 1


def test_remote_sub_saga_is_undone_by_its_own_compensate_handler(bed: RestateTestBed) -> None:
    run = new_run()
    result = bed.call("OrderWithRemote", "run", {"run": run, "fail": ["Ship"]})
    assert "step 'Ship' failed" in result.message
    undos = [e for e in events(run) if e.startswith("undo") and " start " in e]
    assert undos == [
        "undo Capture start failed=False cause=later_failure:Ship",
        "undo Authorize start failed=False cause=later_failure:Ship",
        "undo Reserve start failed=False cause=later_failure:Ship",
    ]
    assert result.invocation_id is not None
    entries = [e.entry_type for e in bed.journal(result.invocation_id)]
    assert entries.count("Command: Call") == 2  # run, then compensate


def test_remote_sub_saga_that_fails_rolls_itself_back_and_the_caller_too(bed: RestateTestBed) -> None:
    run = new_run()
    result = bed.call("OrderWithRemote", "run", {"run": run, "fail": ["Capture"]})
    assert "step 'PaymentSaga' failed" in result.message
    undos = [e for e in events(run) if e.startswith("undo") and " start " in e]
    assert undos == [
        "undo Authorize start failed=False cause=later_failure:Capture",
        "undo Reserve start failed=False cause=later_failure:PaymentSaga",
    ]


def _parked(bed: RestateTestBed, key: str) -> dict[str, object]:
    deadline = time.monotonic() + 20
    while True:
        status = bed.call("Escalating", "status", key=key).json()
        if status["parked"]:
            return status
        assert time.monotonic() < deadline, status
        time.sleep(0.05)


def _resolve(bed: RestateTestBed, awakeable_id: str, choice: str) -> None:
    answer = bed.client.post(
        f"{bed.server.ingress_url}/restate/awakeables/{awakeable_id}/resolve",
        json=choice,
    )
    assert answer.status_code in (200, 202), answer.text


def test_escalation_parks_until_an_operator_retries(bed: RestateTestBed) -> None:
    run = new_run()
    key = f"esc-{run}"
    invocation = bed.send("Escalating", "run", {"run": run, "fail": ["Doomed"]}, key=key)
    status = _parked(bed, key)
    assert status["steps_done"] == ["Start", "Fragile"]
    parked = status["parked"]
    assert isinstance(parked, dict)
    assert parked["step"] == "Fragile" and parked["reason"] == "ledger locked"
    _resolve(bed, str(parked["awakeable_id"]), "retry")
    result = bed.attach(invocation)
    assert result.status_code == 409 and "step 'Doomed' failed" in result.message
    assert "compensations that failed" not in result.message
    seen = events(run)
    assert seen[-4:] == [
        "undo Fragile attempt 1",
        "undo Fragile attempt 2",
        "undo Start start failed=False cause=later_failure:Doomed",
        "undo Start done",
    ]
    final = bed.call("Escalating", "status", key=key).json()
    assert final == {"steps_done": ["Start", "Fragile"], "compensations_done": ["Fragile", "Start"], "parked": None}


def test_escalation_skip_records_the_compensation_as_failed_and_goes_on(bed: RestateTestBed) -> None:
    run = new_run()
    key = f"esc-{run}"
    invocation = bed.send("Escalating", "run", {"run": run, "fail": ["Doomed"]}, key=key)
    parked = _parked(bed, key)["parked"]
    assert isinstance(parked, dict)
    _resolve(bed, str(parked["awakeable_id"]), "skip")
    result = bed.attach(invocation)
    assert "'Fragile' (ledger locked (skipped by an operator))" in result.message
    assert events(run)[-3:] == [
        "undo Fragile attempt 1",
        "undo Start start failed=False cause=later_failure:Doomed",
        "undo Start done",
    ]


def test_cancelling_a_parked_saga_leaves_that_compensation_undone_and_finishes_the_rollback(
    bed: RestateTestBed,
) -> None:
    run = new_run()
    key = f"esc-{run}"
    invocation = bed.send("Escalating", "run", {"run": run, "fail": ["Doomed"]}, key=key)
    _parked(bed, key)
    bed.cancel(invocation)
    result = bed.attach(invocation)
    assert "left undone: cancelled while parked" in result.message
    assert events(run)[-3:] == [
        "undo Fragile attempt 1",
        "undo Start start failed=False cause=later_failure:Doomed",
        "undo Start done",
    ]
