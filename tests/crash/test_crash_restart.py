"""SIGKILL the service in the middle of many sagas, restart it, and check every saga's end state.

Checks, for every saga: the right answer; each side effect applied exactly once (the ledger
deduplicates by idempotency key, and must hold exactly the expected effects); compensations in
reverse order; and no action or compensation started again after its result was journaled.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import time
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path

from restate_saga.testing import AppProcess, RestateServer, RestateTestBed, register_deployment
from tests.crash.crash_app import init_ledger

ROOT = Path(__file__).resolve().parents[2]
SAGAS = 60
KILLS = 6


def _wait_for_attempts(ledger_path: str, count: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with sqlite3.connect(ledger_path, timeout=10) as db:
            if db.execute("SELECT COUNT(*) FROM attempts").fetchone()[0] >= count:
                return
        time.sleep(0.02)


def _appended_ms(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000


def test_sagas_survive_random_sigkills(tmp_path: Path) -> None:
    seed = int(os.environ.get("CRASH_SEED", str(random.randrange(1_000_000))))
    rng = random.Random(seed)
    ledger_path = str(tmp_path / "ledger.db")
    init_ledger(ledger_path)
    server = RestateServer()
    app = AppProcess("tests.crash.crash_app:app", env={"SAGA_LEDGER": ledger_path}, cwd=ROOT)
    with server:
        app.start()
        try:
            register_deployment(server.admin_url, app.url)
            bed = RestateTestBed.attached(server, call_timeout=180)
            sagas = {f"saga-{i}": ("S3" if i % 4 == 0 else "") for i in range(SAGAS)}
            invocations = {
                saga: bed.send("CrashSaga", "run", {"saga": saga, "fail_at": fail_at}, idempotency_key=saga)
                for saga, fail_at in sagas.items()
            }
            for kill in range(KILLS):
                # kill while sagas are running: once the ledger shows a new batch of executions
                _wait_for_attempts(ledger_path, 20 * (kill + 1))
                time.sleep(rng.uniform(0.0, 0.1))  # the scenario: the crash lands at a random moment
                app.kill()
                time.sleep(rng.uniform(0.05, 0.3))  # and the service stays down a random while
                app.start()
            results = {saga: bed.attach(invocation) for saga, invocation in invocations.items()}
            journals = {saga: bed.journal_rows(invocation) for saga, invocation in invocations.items()}
            bed.close()
        finally:
            app.stop()

    with sqlite3.connect(ledger_path) as db:
        effects = defaultdict(list)
        for saga, effect in db.execute("SELECT saga, effect FROM effects ORDER BY rowid"):
            effects[saga].append(effect)
        attempts = db.execute("SELECT invocation, position, step, undo, started_ms FROM attempts").fetchall()

    compensations = 0
    late_attempts: list[str] = []
    for saga, fail_at in sagas.items():
        result = results[saga]
        runs = [row for row in journals[saga] if row["entry_type"] == "Command: Run"]
        names = [row["name"] for row in runs]
        if fail_at:
            assert result.status_code == 409, (seed, saga, result)
            assert names == ["S1", "S2", "S3", "compensate:S2", "compensate:S1"], (seed, saga, names)
            assert sorted(effects[saga]) == sorted(["S1", "S2", "undo S2", "undo S1"]), (seed, saga, effects[saga])
            compensations += 2
        else:
            assert result.ok, (seed, saga, result)
            assert names == ["S1", "S2", "S3"], (seed, saga, names)
            assert sorted(effects[saga]) == ["S1", "S2", "S3"], (seed, saga, effects[saga])
        # when was each run's result journaled? (its completion notification)
        completed_at: dict[int, float] = {}
        for row in journals[saga]:
            entry = json.loads(row["entry_json"] or "{}")
            completion = entry.get("Notification", {}).get("Completion", {}).get("Run")
            if completion is not None:
                completed_at[completion["completion_id"]] = _appended_ms(row["appended_at"])
        journaled = {}
        for row in runs:
            completion_id = json.loads(row["entry_json"])["Command"]["Run"]["completion_id"]
            journaled[row["name"]] = completed_at[completion_id]
        invocation = results[saga].invocation_id
        for inv, _position, step, undo, started in attempts:
            if inv != invocation:
                continue
            name = f"compensate:{step}" if undo else step
            if started > journaled[name] + 2:  # started after its result was journaled (2 ms clock slack)
                late_attempts.append(f"{saga} {name}")

    duplicates = len(attempts) - sum(len(v) for v in effects.values())
    print(
        f"\ncrash test (seed {seed}): {SAGAS} sagas, {KILLS} SIGKILLs survived, "
        f"{compensations} compensations, {len(attempts)} executions for "
        f"{sum(len(v) for v in effects.values())} effects ({duplicates} re-executions deduplicated by key)"
    )
    assert late_attempts == [], (seed, late_attempts)
    assert duplicates > 0, "no kill landed inside a step: the test did not exercise re-execution"
    assert Counter(len(v) for v in effects.values()) == Counter(4 if fail_at else 3 for fail_at in sagas.values())
