"""SIGKILL a traced saga service mid-saga: no span and no count twice, and the rest still reported.

Every saga is held inside its second step (Gate) when the service is killed; the restarted
service finishes them. The first process reported S1 (its spans were exported as they ended,
its counters read just before the kill); the second must report Gate and S3 and the outcome,
and nothing that the journal replays (S1) again.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from restate_saga.testing import AppProcess, RestateServer, RestateTestBed, register_deployment

ROOT = Path(__file__).resolve().parents[2]
SAGAS = 4


def _metrics(app: AppProcess) -> Counter[tuple[str, str]]:
    """(metric, step or outcome) -> value, from the process's `/metrics`."""
    points: list[dict[str, Any]] = httpx.get(f"{app.url}/metrics", timeout=10).json()
    values: Counter[tuple[str, str]] = Counter()
    for point in points:
        labels = point["attributes"]
        detail = ",".join(str(labels[k]) for k in ("restate_saga.step", "restate_saga.outcome") if k in labels)
        values[(point["name"], detail)] += int(point["value"])
    return values


def _wait_entered(folder: Path, count: int, timeout: float = 60.0) -> set[str]:
    deadline = time.monotonic() + timeout
    while True:
        entered = folder / "entered"
        seen = set(entered.read_text().split()) if entered.exists() else set()
        if len(seen) >= count:
            return seen
        assert time.monotonic() < deadline, f"only {len(seen)} of {count} sagas reached Gate"
        time.sleep(0.05)


def test_a_sigkill_mid_saga_duplicates_no_span_and_no_count(tmp_path: Path) -> None:
    server = RestateServer()
    app = AppProcess("tests.crash.otel_app:app", env={"OTEL_CRASH_DIR": str(tmp_path)}, cwd=ROOT)
    with server:
        app.start()
        try:
            register_deployment(server.admin_url, app.url)
            bed = RestateTestBed.attached(server, call_timeout=120)
            invocations = [bed.send("CrashOtel", "run", {"n": i}, idempotency_key=f"otel-{i}") for i in range(SAGAS)]
            assert _wait_entered(tmp_path, SAGAS) == set(invocations)
            before = _metrics(app)
            app.kill()
            (tmp_path / "gate").touch()
            app.start()
            results = [bed.attach(invocation) for invocation in invocations]
            after = _metrics(app)
            bed.close()
        finally:
            app.stop()

    assert all(result.ok for result in results), [result.body for result in results]
    # what each process counted: S1 before the kill; Gate (its attempt again), S3 and the outcome after
    assert {k: v for k, v in before.items() if v} == {("restate_saga.step.duration", "S1,ok"): SAGAS}
    assert {k: v for k, v in after.items() if v} == {
        ("restate_saga.step.duration", "Gate,ok"): SAGAS,
        ("restate_saga.step.duration", "S3,ok"): SAGAS,
        ("restate_saga.sagas", "succeeded"): SAGAS,
    }
    spans = [json.loads(line) for line in (tmp_path / "spans.jsonl").read_text().splitlines()]
    by_name = Counter((span["name"], span["attributes"]["restate.invocation.id"]) for span in spans)
    assert sorted(by_name.values()) == [1] * (4 * SAGAS), "one span per saga and step, none twice"
    assert {name for name, _ in by_name} == {"step S1", "step Gate", "step S3", "saga CrashOtel"}
    first_pids = {span["pid"] for span in spans if span["name"] == "step S1"}
    assert len(first_pids) == 1, "S1 was reported by the first process only"
    sagas = {span["attributes"]["restate.invocation.id"]: span for span in spans if span["name"].startswith("saga ")}
    for span in spans:
        saga = sagas[span["attributes"]["restate.invocation.id"]]
        if span["name"] in ("step Gate", "step S3"):  # the restarted process's spans hang under its saga span
            assert span["parent_id"] == saga["span_id"] and span["pid"] == saga["pid"]
            assert span["pid"] not in first_pids
            assert span["status"] == "UNSET" and span["attributes"]["restate_saga.attempt"] == 1
    assert all(saga["attributes"]["restate_saga.saga.resumed"] is True for saga in sagas.values())
    assert all(saga["attributes"]["restate_saga.outcome"] == "succeeded" for saga in sagas.values())
