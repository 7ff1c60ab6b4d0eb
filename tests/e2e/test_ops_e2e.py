"""The operator's side on a real restate-server: saga statuses, `SagaAdmin` and the `restate-saga` CLI.

One server and one app for the whole module. Every status is produced by a real saga; every CLI
command runs in its human and its `--json` form (typer's CliRunner, plus the installed console
script in a subprocess); the paused path goes through a fixed deployment in another process.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import restate
from typer.testing import CliRunner, Result

from restate_saga import to_dot, to_mermaid
from restate_saga.admin import Saga, SagaAdmin, SagaStatus
from restate_saga.cli import cli_app
from restate_saga.testing import AppProcess, CallResult, RestateTestBed, free_port, register_deployment
from tests.e2e import ops_app
from tests.ledger import events, new_run

ROOT = Path(__file__).resolve().parents[2]
PARKED_ENTRY = "restate_saga:parked:"


@dataclass
class Ops:
    """The module's server and app, a `SagaAdmin` on it, and the CLI."""

    bed: RestateTestBed
    admin: SagaAdmin

    @property
    def url(self) -> str:
        return self.bed.server.admin_url

    def cli(self, *args: str) -> Result:
        """Run `restate-saga ARGS --admin <this server>` in process."""
        return CliRunner().invoke(cli_app(), [*args, "--admin", self.url])

    def cli_json(self, *args: str) -> Any:
        result = self.cli(*args, "--json")
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    def start(self, service: str, payload: dict[str, Any], key: str | None = None, handler: str = "run") -> str:
        return self.bed.send(service, handler, payload, key=key)

    def wait(self, invocation_id: str, status: SagaStatus, timeout: float = 60) -> Saga:
        """Wait until the saga has `status`; fail with what it was instead."""
        deadline = time.monotonic() + timeout
        while True:
            saga = self.admin.get(invocation_id)
            if saga.status == status:
                return saga
            assert time.monotonic() < deadline, f"{invocation_id} is {saga.status}, expected {status}: {saga}"
            time.sleep(0.05)

    def done(self, service: str, payload: Any, key: str | None = None, handler: str = "run") -> str:
        answer = self.bed.call(service, handler, payload, key=key)
        assert answer.invocation_id is not None, answer.body
        return answer.invocation_id


@pytest.fixture(scope="module")
def ops() -> Iterator[Ops]:
    with RestateTestBed(restate.app(services=ops_app.services)) as bed, SagaAdmin(bed.server.admin_url) as admin:
        yield Ops(bed, admin)


def names(saga_part: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(item["name"], item["outcome"]) for item in saga_part]


def one_line_error(result: Result, *fragments: str) -> None:
    """Exit status 1, one line on stderr naming what was wrong, no traceback."""
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


# --- every status, from real sagas --------------------------------------------------------------


def test_a_saga_that_succeeds(ops: Ops) -> None:
    invocation = ops.done("OpsCheckout", {"run": new_run()})
    saga = ops.admin.get(invocation)
    assert saga.status == "succeeded" and saga.failed_step is None
    assert [(s.name, s.outcome) for s in saga.steps] == [
        ("Reserve", "succeeded"),
        ("Charge", "succeeded"),
        ("Ship", "succeeded"),
    ]
    assert saga.compensations == () and saga.left_undone == ()
    assert saga.summary.kind == "service" and saga.output is not None and '"run"' in saga.output
    assert all(s.attempts == 1 and s.duration is not None and s.started_at is not None for s in saga.steps)

    human = ops.cli("show", invocation)
    assert human.exit_code == 0, human.output
    assert "succeeded" in human.stdout and "Steps (in the order they ran)" in human.stdout
    assert "Compensations" not in human.stdout
    shown = ops.cli_json("show", invocation)
    assert shown["invocation_id"] == invocation and shown["status"] == "succeeded" and shown["failed_step"] is None
    assert names(shown["steps"]) == [("Reserve", "succeeded"), ("Charge", "succeeded"), ("Ship", "succeeded")]
    assert shown["compensations"] == []


def test_a_saga_that_fails_for_good_is_compensated_newest_first(ops: Ops) -> None:
    invocation = ops.done("OpsCheckout", {"run": new_run(), "fail": ["Ship"]})
    saga = ops.admin.get(invocation)
    assert saga.status == "compensated" and saga.failed_step == "Ship"
    assert saga.error is not None and "Ship refused by the test" in saga.error and saga.status_code == 402
    assert [(s.name, s.outcome) for s in saga.steps][-1] == ("Ship", "failed")
    assert saga.steps[-1].error == "Ship refused by the test"
    assert [(c.name, c.outcome) for c in saga.compensations] == [("Charge", "succeeded"), ("Reserve", "succeeded")]

    shown = ops.cli_json("show", invocation)
    assert shown["status"] == "compensated" and shown["failed_step"] == "Ship"
    assert names(shown["compensations"]) == [("Charge", "succeeded"), ("Reserve", "succeeded")]
    human = ops.cli("show", invocation)
    assert "error: step 'Ship' failed: Ship refused by the test (402)" in human.stdout
    assert "Compensations (in the order they ran: newest step first)" in human.stdout


def test_show_mermaid_colours_the_plan_by_what_happened(ops: Ops) -> None:
    invocation = ops.done("OpsCheckout", {"run": new_run(), "fail": ["Ship"]})
    drawn = ops.cli("show", invocation, "--mermaid")
    assert drawn.exit_code == 0, drawn.output
    plan = ops.admin.services()["OpsCheckout"].plan
    assert plan is not None
    assert drawn.stdout.startswith(to_mermaid(plan))  # the diagram itself is to_mermaid's, unchanged
    added = drawn.stdout[len(to_mermaid(plan)) :].splitlines()
    assert all(line.startswith(("    classDef ", "    class ")) for line in added)
    classes = {line.split()[2]: line.split()[1].split(",") for line in added if line.startswith("    class ")}
    assert classes == {"succeeded": ["s0", "s1", "u1", "u0"], "failed": ["s2"], "reached": ["rolled_back"]}
    with_json = ops.cli_json("show", invocation, "--mermaid")
    assert with_json["mermaid"] == drawn.stdout


def test_a_failed_compensation_under_continue(ops: Ops) -> None:
    run = new_run()
    invocation = ops.done("OpsCheckout", {"run": run, "fail": ["Ship"], "undo_fails": {"Charge": 1}})
    saga = ops.admin.get(invocation)
    assert saga.status == "compensation_failed" and saga.failed_step == "Ship"
    assert [(c.name, c.outcome) for c in saga.compensations] == [("Charge", "failed"), ("Reserve", "succeeded")]
    assert saga.compensations[0].error == "undo of Charge refused by the test"
    assert saga.left_undone == ("Charge",)
    human = ops.cli("show", invocation)
    assert "Left undone: Charge" in human.stdout


def test_a_stopped_rollback_leaves_the_rest_undone(ops: Ops) -> None:
    invocation = ops.done("OpsStopping", {"run": new_run(), "fail": ["Ship"], "undo_fails": {"Charge": 1}})
    saga = ops.admin.get(invocation)
    assert saga.status == "compensation_failed"
    assert [(c.name, c.outcome) for c in saga.compensations] == [("Charge", "failed")]
    assert saga.left_undone == ("Charge", "Reserve")


def test_a_parked_escalation_found_shown_and_retried(ops: Ops) -> None:
    run = new_run()
    invocation = ops.start("OpsEscalating", {"run": run, "fail": ["Ship"], "undo_fails": {"Charge": 1}})
    saga = ops.wait(invocation, "parked")
    assert saga.parked is not None and saga.parked.step == "Charge"
    assert saga.parked.awakeable_id.startswith("sign_") and saga.parked.reason == "undo of Charge refused by the test"
    assert saga.failed_step == "Ship"
    listed = ops.cli_json("ls", "--status", "parked")
    assert [row["invocation_id"] for row in listed] == [invocation]
    human = ops.cli("show", invocation)
    assert "Parked: the compensation of 'Charge' failed" in human.stdout
    assert f"restate-saga resolve {invocation} retry|skip" in human.stdout

    answered = ops.cli("resolve", invocation, "retry")
    assert answered.exit_code == 0, answered.output
    assert "answered 'retry' to the parked compensation of 'Charge'" in answered.stdout
    saga = ops.wait(invocation, "compensated")
    assert [(c.name, c.outcome) for c in saga.compensations] == [
        ("Charge", "failed"),
        ("Charge", "succeeded"),
        ("Reserve", "succeeded"),
    ]
    assert events(run)[-3:] == ["undo Charge refused", "undo Charge", "undo Reserve"]
    parks = [name for name in ops.bed.run_entries(invocation) if name.startswith(PARKED_ENTRY)]
    assert parks == [PARKED_ENTRY + "Charge"]  # the one extra entry, written because it parked


def test_a_parked_escalation_skipped_with_json(ops: Ops) -> None:
    run = new_run()
    invocation = ops.start("OpsEscalating", {"run": run, "fail": ["Ship"], "undo_fails": {"Charge": 5}})
    parked = ops.wait(invocation, "parked").parked
    assert parked is not None
    answer = ops.cli_json("resolve", invocation, "skip")
    assert answer == {
        "invocation_id": invocation,
        "resolved": "Charge",
        "awakeable_id": parked.awakeable_id,
        "choice": "skip",
    }
    saga = ops.wait(invocation, "compensation_failed")
    assert saga.left_undone == ("Charge",)
    assert [(c.name, c.outcome) for c in saga.compensations] == [("Charge", "failed"), ("Reserve", "succeeded")]


def test_a_normal_run_writes_no_park_entry(ops: Ops) -> None:
    invocation = ops.done("OpsEscalating", {"run": new_run(), "fail": ["Ship"]})
    assert ops.bed.run_entries(invocation) == ["Reserve", "Charge", "Ship", "compensate:Charge", "compensate:Reserve"]
    assert ops.admin.get(invocation).status == "compensated"


def test_running_then_cancelled_rolls_back(ops: Ops) -> None:
    run = new_run()
    invocation = ops.start("OpsWaiting", {"run": run, "hold_undo": True})
    saga = ops.wait(invocation, "running")
    deadline = time.monotonic() + 30
    while saga.summary.current_step != "Hold" or saga.steps[0].outcome != "succeeded":
        assert time.monotonic() < deadline, saga
        time.sleep(0.05)
        saga = ops.admin.get(invocation)
    assert invocation in [row["invocation_id"] for row in ops.cli_json("ls", "--status", "running")]

    cancelled = ops.cli("cancel", invocation)
    assert cancelled.exit_code == 0, cancelled.output
    assert f"cancelled {invocation}: it rolls back now" in cancelled.stdout
    rolling = ops.wait(invocation, "compensating")  # its compensation is held by the test
    assert rolling.summary.current_step == "undo Hold"
    assert invocation in [row["invocation_id"] for row in ops.cli_json("ls", "--status", "compensating")]
    ops_app.gate(run).set()
    saga = ops.wait(invocation, "cancelled")
    assert [(c.name, c.outcome) for c in saga.compensations] == [("Hold", "succeeded")]
    assert saga.error == "cancelled" and saga.status_code == 409
    assert events(run) == ["Hold", "undo Hold"]


def test_cancel_with_json_and_kill_needs_yes(ops: Ops) -> None:
    first = ops.start("OpsWaiting", {"run": new_run()})
    ops.wait(first, "running")
    assert ops.cli_json("cancel", first) == {"invocation_id": first, "cancelled": True, "was": "running"}
    ops.wait(first, "cancelled")

    run = new_run()
    second = ops.start("OpsWaiting", {"run": run})
    saga = ops.wait(second, "running")
    while not saga.steps or saga.steps[0].outcome != "succeeded":
        saga = ops.admin.get(second)
    refused = ops.cli("cancel", second, "--kill")
    assert refused.exit_code == 2 and "--yes" in refused.output
    assert ops.admin.get(second).status == "running"  # nothing changed
    killed = ops.cli("cancel", second, "--kill", "--yes")
    assert killed.exit_code == 0 and "no compensation ran" in killed.stdout
    saga = ops.wait(second, "compensation_failed")
    assert saga.compensations == () and saga.left_undone == ("Hold",) and events(run) == ["Hold"]


def test_keyed_services_and_remote_sagas_are_recognised(ops: Ops) -> None:
    run = new_run()
    in_cart = ops.done("OpsCart", {"run": run}, key=f"cart-{run}", handler="add")
    in_workflow = ops.done("OpsApproval", {"run": run}, key=f"wf-{run}")
    with_remote = ops.done("OpsWithRemote", {"run": run, "fail": ["Deliver"]})
    rows = {row["invocation_id"]: row for row in ops.cli_json("ls", "--limit", "500")}
    assert rows[in_cart]["kind"] == "virtual_object" and rows[in_cart]["key"] == f"cart-{run}"
    assert rows[in_cart]["handler"] == "add" and rows[in_cart]["status"] == "succeeded"
    assert rows[in_workflow]["kind"] == "workflow" and rows[in_workflow]["status"] == "succeeded"

    saga = ops.admin.get(with_remote)
    assert saga.status == "compensated" and saga.failed_step == "Deliver"
    payment = saga.steps[1]
    assert (payment.name, payment.outcome, payment.remote_service) == ("Payment", "succeeded", "OpsPayment")
    assert [(c.name, c.outcome) for c in saga.compensations] == [("Payment", "succeeded"), ("Order", "succeeded")]
    assert payment.remote_invocation_id is not None and saga.compensations[0].remote_invocation_id is not None
    sub_run = ops.admin.get(payment.remote_invocation_id)
    assert sub_run.summary.kind == "remote" and sub_run.status == "succeeded"
    assert [s.name for s in sub_run.steps] == ["Authorize", "Capture"]
    sub_undo = ops.admin.get(saga.compensations[0].remote_invocation_id)
    assert sub_undo.summary.handler == "compensate" and sub_undo.status == "compensated"
    assert [(c.name, c.outcome) for c in sub_undo.compensations] == [
        ("Capture", "succeeded"),
        ("Authorize", "succeeded"),
    ]


def test_ls_filters_and_its_table(ops: Ops) -> None:
    ok = ops.done("OpsCheckout", {"run": new_run()})
    failed = ops.done("OpsCheckout", {"run": new_run(), "fail": ["Charge"]})
    rows = ops.cli_json("ls", "--service", "OpsCheckout", "--since", "10m", "--limit", "2")
    assert [row["invocation_id"] for row in rows] == [failed, ok]
    assert rows[0]["failed_step"] == "Charge" and rows[0]["status"] == "compensated"
    assert {"invocation_id", "service", "handler", "key", "status", "failed_step"} <= set(rows[0])
    only = ops.cli_json("ls", "--service", "OpsCheckout", "--status", "compensated", "--status", "succeeded", "-n", "1")
    assert [row["invocation_id"] for row in only] == [failed]
    assert ops.cli_json("ls", "--since", "2999-01-01T00:00:00") == []

    table = ops.cli("ls", "--service", "OpsCheckout", "--limit", "2")
    assert table.exit_code == 0, table.output
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["ID", "SAGA", "STATUS", "STEP", "STARTED", "(UTC)", "DURATION"]
    assert lines[1].split()[:4] == [failed, "OpsCheckout/run", "compensated", "Charge"]
    assert lines[2].split()[:4] == [ok, "OpsCheckout/run", "succeeded", "Ship"]
    empty = ops.cli("ls", "--since", "2999-01-01T00:00:00")
    assert empty.exit_code == 0 and empty.stdout.strip() == "no saga invocations match"


def test_ls_reads_every_saga_in_one_sql_query(ops: Ops) -> None:
    for _ in range(5):
        ops.done("OpsCheckout", {"run": new_run(), "fail": ["Ship"]})
    queries: list[str] = []

    def count(request: httpx.Request) -> None:
        if request.url.path == "/query":
            queries.append(request.content.decode())

    with httpx.Client(event_hooks={"request": [count]}) as client, SagaAdmin(ops.url, client=client) as admin:
        found = admin.list(limit=None)
    assert len(found) >= 15
    assert len(queries) == 1


# --- the paused path: a bug, paused by Restate, fixed, deployed, resumed -----------------------------


def test_cancelling_a_paused_saga_resumes_it_and_its_failing_step_pauses_it_again(ops: Ops) -> None:
    run = new_run()
    invocation = ops.start("OpsShipping", {"run": run})
    ops.wait(invocation, "paused")
    attempts = events(run).count("Pack attempt")
    cancelled = ops.cli("cancel", invocation)
    assert cancelled.exit_code == 0, cancelled.output
    assert "it was paused, so it was resumed for the rollback to run" in cancelled.stdout
    deadline = time.monotonic() + 60
    while events(run).count("Pack attempt") < attempts + 3:  # resumed: Pack is retried, to settle it first
        assert time.monotonic() < deadline, events(run)
        time.sleep(0.05)
    saga = ops.wait(invocation, "paused")  # the step in flight still fails: paused again, nothing undone
    assert saga.compensations == () and "undo Reserve" not in events(run)
    assert ops.cli_json("cancel", invocation, "--kill", "--yes") == {
        "invocation_id": invocation,
        "killed": True,
        "was": "paused",
    }
    killed = ops.wait(invocation, "compensation_failed")
    assert killed.left_undone == ("Reserve",) and killed.error == "killed"


def test_paused_saga_is_fixed_deployed_and_resumed_exactly_once_per_step(ops: Ops, tmp_path: Path) -> None:
    complete, decline = new_run(), new_run()
    first = ops.start("OpsShipping", {"run": complete})
    second = ops.start("OpsShipping", {"run": decline, "decline": True})
    waiting: list[CallResult] = []
    caller = threading.Thread(target=lambda: waiting.append(ops.bed.attach(first)), daemon=True)
    caller.start()

    paused = ops.wait(first, "paused")
    ops.wait(second, "paused")
    assert paused.paused_reason is not None and "division by zero" in paused.paused_reason
    assert [(s.name, s.outcome) for s in paused.steps] == [("Reserve", "succeeded"), ("Pack", "running")]
    assert paused.steps[1].attempts >= 1 and paused.summary.current_step == "Pack"
    found = {row["invocation_id"] for row in ops.cli_json("ls", "--status", "paused")}
    assert {first, second} <= found
    human = ops.cli("show", first)
    assert "Paused by Restate:" in human.stdout and "--deployment latest" in human.stdout
    assert caller.is_alive() and waiting == []  # the caller is still waiting, with no answer yet
    attempts = events(complete).count("Pack attempt")
    assert attempts >= 3

    ledger = tmp_path / "ledger.txt"
    ledger.touch()
    fixed = AppProcess("tests.e2e.ops_fixed_app:app", cwd=ROOT, env={"OPS_LEDGER": str(ledger)})
    fixed.start()
    try:
        deployment = register_deployment(ops.url, fixed.url)["id"]
        resumed = ops.cli("resume", first, "--deployment", "latest")
        assert resumed.exit_code == 0, resumed.output
        assert f"resumed {first} on latest" in resumed.stdout
        assert ops.cli_json("resume", second, "--deployment", deployment) == {
            "invocation_id": second,
            "resumed": True,
            "deployment": deployment,
        }
        done = ops.wait(first, "succeeded")
        declined = ops.wait(second, "compensated")
        caller.join(timeout=60)
    finally:
        fixed.stop()

    assert waiting and waiting[0].status_code == 200  # the waiting caller got the saga's answer
    assert ops.bed.run_entries(first) == ["Reserve", "Pack", "Ship"]
    assert [(s.name, s.outcome) for s in done.steps] == [
        ("Reserve", "succeeded"),
        ("Pack", "succeeded"),
        ("Ship", "succeeded"),
    ]
    assert done.deployment_id == deployment
    assert ops.bed.run_entries(second) == ["Reserve", "Pack", "compensate:Reserve"]
    assert declined.failed_step == "Pack" and [(c.name, c.outcome) for c in declined.compensations] == [
        ("Reserve", "succeeded")
    ]
    # each step ran once: Reserve by the first deployment, the rest by the fixed one, nothing twice
    assert events(complete) == ["Reserve"] + ["Pack attempt"] * attempts
    assert [e for e in events(decline) if e != "Pack attempt"] == ["Reserve"]
    assert sorted(ledger.read_text().splitlines()) == sorted(
        [f"{complete} Pack", f"{complete} Ship", f"{decline} Pack declined", f"{decline} undo Reserve"]
    )


# --- bad input: one line, exit 1 (2 for usage errors), nothing changed -------------------------------


def test_unknown_and_malformed_ids(ops: Ops) -> None:
    real = ops.done("OpsCheckout", {"run": new_run()})
    unknown = real[:-4] + ("AAAA" if not real.endswith("AAAA") else "BBBB")
    for command in (("show", unknown), ("resolve", unknown, "retry"), ("resume", unknown), ("cancel", unknown)):
        one_line_error(ops.cli(*command), f"no invocation {unknown}")
    one_line_error(ops.cli("show", "nope"), "'nope' is not an invocation id")
    one_line_error(ops.cli("show", "inv_1'; DROP TABLE x; --"), "is not an invocation id")


def test_an_invocation_that_is_not_a_saga(ops: Ops) -> None:
    plain = ops.done("OpsPlain", "ada", handler="hello")
    one_line_error(ops.cli("show", plain), f"invocation {plain} (OpsPlain/hello) is not a saga")
    key = f"cart-{new_run()}"
    shared = ops.done("OpsCart", None, key=key, handler="peek")
    one_line_error(ops.cli("show", shared), "(OpsCart/peek) is not a saga", "runs no saga")
    one_line_error(ops.cli("ls", "--service", "OpsPlain"), "not a registered saga service: OpsPlain")


def test_operations_on_a_saga_in_the_wrong_state_change_nothing(ops: Ops) -> None:
    invocation = ops.done("OpsCheckout", {"run": new_run()})
    before = ops.bed.journal(invocation)
    one_line_error(ops.cli("resolve", invocation, "retry"), f"saga {invocation} is succeeded, not parked")
    one_line_error(ops.cli("resume", invocation), f"saga {invocation} is succeeded, not paused")
    one_line_error(ops.cli("resume", invocation, "--deployment", "latest"), "not paused")
    one_line_error(ops.cli("cancel", invocation), "has already completed (succeeded): nothing to cancel")
    one_line_error(ops.cli("cancel", invocation, "--kill", "--yes"), "nothing to kill")
    assert ops.bed.journal(invocation) == before and ops.admin.get(invocation).status == "succeeded"

    running = ops.start("OpsWaiting", {"run": new_run()})
    ops.wait(running, "running")
    one_line_error(ops.cli("resume", running), "is running, not paused")
    one_line_error(ops.cli("resolve", running, "skip"), "is running, not parked")
    one_line_error(ops.cli("resume", running, "--deployment", "dp_nonexistent"), "not paused")
    one_line_error(ops.cli("resume", running, "--deployment", "newest"), "deployment must be 'latest', 'keep'")
    assert ops.admin.get(running).status == "running"
    ops.admin.kill(running)


def test_an_unreachable_admin_url(ops: Ops) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    for command in (
        ("ls",),
        ("ls", "--json"),
        ("show", "inv_1jJTml8wygR31Yu1b4eZXj6o7dqSkCodBe"),
        ("resolve", "inv_1jJTml8wygR31Yu1b4eZXj6o7dqSkCodBe", "retry"),
        ("resume", "inv_1jJTml8wygR31Yu1b4eZXj6o7dqSkCodBe"),
        ("cancel", "inv_1jJTml8wygR31Yu1b4eZXj6o7dqSkCodBe"),
    ):
        result = CliRunner().invoke(cli_app(), [*command, "--admin", nowhere])
        one_line_error(result, f"cannot reach Restate at {nowhere}")


@pytest.mark.parametrize(
    "args",
    [
        ("resolve", "inv_1jJTml8wygR31Yu1b4eZXj6o7dqSkCodBe", "maybe"),
        ("resolve", "inv_1jJTml8wygR31Yu1b4eZXj6o7dqSkCodBe"),
        ("ls", "--status", "bogus"),
        ("ls", "--since", "yesterday"),
        ("ls", "--limit", "0"),
        ("show",),
        ("diagram", "no-colon-here"),
        ("diagram", "examples.travel:travel_booking", "--format", "png"),
        ("frobnicate",),
    ],
)
def test_usage_errors_exit_2(ops: Ops, args: tuple[str, ...]) -> None:
    result = ops.cli(*args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output


# --- diagrams ----------------------------------------------------------------------------------------


def test_diagram_of_a_pipeline_and_of_a_saga_service(ops: Ops) -> None:
    from examples.travel import travel_booking

    result = CliRunner().invoke(cli_app(), ["diagram", "examples.travel:travel_booking"])
    assert result.exit_code == 0 and result.stdout == to_mermaid(travel_booking.plan)
    dot = CliRunner().invoke(cli_app(), ["diagram", "examples.travel:TravelBooking", "--format", "dot"])
    assert dot.exit_code == 0 and dot.stdout == to_dot(travel_booking.plan)
    remote = CliRunner().invoke(cli_app(), ["diagram", "tests.e2e.ops_app:PayLater"])
    assert remote.exit_code == 0 and '["Authorize"]' in remote.stdout
    one_line_error(CliRunner().invoke(cli_app(), ["diagram", "tests.e2e.ops_app:cart"]), "runs saga code")
    one_line_error(CliRunner().invoke(cli_app(), ["diagram", "tests.e2e.ops_app:OpsWaiting"]), "is saga code")
    one_line_error(CliRunner().invoke(cli_app(), ["diagram", "examples.travel:nothing"]), "has no attribute")
    one_line_error(CliRunner().invoke(cli_app(), ["diagram", "no_such_module:x"]), "cannot import 'no_such_module'")
    one_line_error(CliRunner().invoke(cli_app(), ["diagram", "tests.e2e.ops_app:GATES"]), "is a dict, not a pipeline")


# --- the installed console script ----------------------------------------------------------------------


def test_the_console_script_and_python_m(ops: Ops) -> None:
    invocation = ops.done("OpsCheckout", {"run": new_run(), "fail": ["Charge"]})
    script = Path(sys.executable).parent / "restate-saga"
    listed = subprocess.run(
        [str(script), "ls", "--json", "--service", "OpsCheckout"],
        env={"RESTATE_ADMIN_URL": ops.url, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout)[0]["invocation_id"] == invocation

    run: Callable[..., subprocess.CompletedProcess[str]] = lambda *args: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "restate_saga", *args, "--admin", ops.url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    shown = run("show", invocation, "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["failed_step"] == "Charge"
    missing = run("show", "inv_1jJTml8wygR31Yu1b4eZXj6o7dqSkCodBe")
    assert missing.returncode == 1 and "Traceback" not in missing.stderr
    assert missing.stderr.strip().splitlines() == [
        f"error: no invocation inv_1jJTml8wygR31Yu1b4eZXj6o7dqSkCodBe at {ops.url}"
    ]
    usage = run("resolve", invocation, "perhaps")
    assert usage.returncode == 2 and "Traceback" not in usage.stderr
