"""A redeploy that changes a saga's plan under an in-flight invocation is reported, not replayed."""

from __future__ import annotations

import time
from pathlib import Path

from restate_saga.testing import AppProcess, RestateServer, RestateTestBed, register_deployment

ROOT = Path(__file__).resolve().parents[2]


def test_plan_change_under_an_in_flight_invocation_is_refused_with_a_clear_error() -> None:
    with RestateServer() as server:
        app = AppProcess("tests.crash.plan_app:app", env={"PLAN_VERSION": "1"}, cwd=ROOT)
        app.start()
        try:
            register_deployment(server.admin_url, app.url)
            bed = RestateTestBed.attached(server)
            same = bed.call("Versioned", "run", "same plan")
            assert same.ok, same.body
            assert same.invocation_id is not None
            assert bed.run_entries(same.invocation_id) == ["restate_saga:plan", "A", "B"]

            invocation = bed.send("Versioned", "run", "in flight")
            bed.wait_for_entry(invocation, "Command: Sleep")  # journaled A; now on a 600 s timer
            app.kill()
            app.env["PLAN_VERSION"] = "2"  # the same URI now serves a different plan
            app.start()
            # wake it up now: it replays its journal under the new plan
            bed.client.patch(f"{server.admin_url}/invocations/{invocation}/resume").raise_for_status()
            failure = ""
            deadline = time.monotonic() + 30
            while "started with plan" not in failure:
                assert time.monotonic() < deadline, failure
                time.sleep(0.2)
                failure = str(bed.invocation_status(invocation).get("last_failure") or "")
            assert "PlanChangedError" in failure or "deployed plan is" in failure
            assert "B2" not in bed.run_entries(invocation)  # nothing of the new plan ran
            bed.client.patch(f"{server.admin_url}/invocations/{invocation}/kill").raise_for_status()
            bed.close()
        finally:
            app.stop()
