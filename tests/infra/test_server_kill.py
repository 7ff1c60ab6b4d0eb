"""SIGKILL the restate-server itself, several times, while 120 sagas are in flight.

A single node keeps its data folder and is restarted on the same ports. The sagas mix the four
kinds of `tests.infra.chaos_app` — plain checkouts, checkouts waiting on a durable timer, workflows
waiting on a durable promise (resolved by a client at a random time, through the kills), and
parallel groups — and a quarter of each kind fails at its last step and compensates. Callers wait
for their answer and, when the server dies under them, come back with the same key.

Each kill lands at a random point (seeded: the seed is printed, `SERVER_KILL_SEED=<seed>` replays
it) once the ledger shows a new batch of side effects, so that sagas are inside their steps. Then
every saga must have its right end state: its answer, one invocation per key, its steps and then
its compensations newest first in the journal, each side effect applied once however many times
an action ran, and no action started again after its result was journaled. Recovery times are
printed (`-s`), never asserted.
"""

from __future__ import annotations

import asyncio
import os
import random
import sqlite3
import threading
import time
from collections import defaultdict
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from restate_saga.testing import AppProcess, RestateServer, RestateTestBed, register_deployment
from tests.infra.drive import (
    Answer,
    check_everything,
    check_no_late_attempts,
    journaled_at,
    mixed_sagas,
    percentile,
    run_sagas,
)
from tests.infra.ledger import LEDGER_ENV, create_ledger, read_ledger

ROOT = Path(__file__).resolve().parents[2]
SAGAS = 120
KILLS = 4


@dataclass(frozen=True)
class Kill:
    at_effects: int
    killed: float
    restarted: float
    ready: float


def _effects_so_far(ledger: Path) -> int:
    with closing(sqlite3.connect(ledger, timeout=30)) as db:
        return int(db.execute("SELECT COUNT(*) FROM attempts").fetchone()[0])


def _wait_for_effects(ledger: Path, count: int, done: threading.Event, timeout: float = 60.0) -> int:
    """Wait until the ledger holds `count` executions (or every saga is answered)."""
    deadline = time.monotonic() + timeout
    while (seen := _effects_so_far(ledger)) < count and not done.is_set():
        assert time.monotonic() < deadline, f"only {seen} of {count} executions within {timeout}s"
        time.sleep(0.01)
    return seen


def _invocations(bed: RestateTestBed) -> dict[str, list[str]]:
    found: dict[str, list[str]] = defaultdict(list)
    rows = bed.sql(
        "SELECT id, target_service_key, idempotency_key, status FROM sys_invocation WHERE target_handler_name = 'run'"
    )
    for row in rows:
        assert row["status"] == "completed", row
        found[str(row.get("idempotency_key") or row.get("target_service_key"))].append(str(row["id"]))
    return dict(found)


def _journal_rows(bed: RestateTestBed) -> list[dict[str, object]]:
    return bed.sql(
        "SELECT id, index, entry_type, name, entry_json, appended_at FROM sys_journal "
        "WHERE entry_type LIKE '%Run%' ORDER BY id, index"
    )


def test_sagas_survive_the_server_killed_at_random_points(tmp_path: Path) -> None:
    seed = int(os.environ.get("SERVER_KILL_SEED", str(random.randrange(1_000_000))))
    print(f"\nserver-kill test: seed {seed} (SERVER_KILL_SEED={seed} replays it)")
    rng = random.Random(seed)
    sagas = mixed_sagas(SAGAS, seed)
    expected = sum(len(s.expected_effects()) for s in sagas)
    thresholds = sorted(rng.sample(range(expected // 10, expected * 7 // 10), KILLS))
    ledger = tmp_path / "ledger.sqlite"
    create_ledger(ledger)
    kills: list[Kill] = []
    with (
        RestateServer() as server,
        AppProcess("tests.infra.chaos_app:app", env={LEDGER_ENV: str(ledger)}, cwd=ROOT) as app,
    ):
        register_deployment(server.admin_url, app.url)
        answers: list[Answer] = []
        done = threading.Event()

        def drive() -> None:
            try:
                answers.extend(asyncio.run(run_sagas(lambda: server.ingress_url, sagas, pace=0.02, deadline=180)))
            finally:
                done.set()

        driver = threading.Thread(target=drive, name="sagas")
        driver.start()
        try:
            for threshold in thresholds:
                seen = _wait_for_effects(ledger, threshold, done)
                # the scenario, not a wait: the crash lands at a random moment after this batch of effects
                time.sleep(rng.uniform(0.0, 0.15))
                server.kill()
                killed = time.monotonic()
                time.sleep(rng.uniform(0.2, 1.0))  # the outage lasts a random while
                restarted = time.monotonic()
                server.restart()
                kills.append(Kill(seen, killed, restarted, time.monotonic()))
        finally:
            driver.join(timeout=240)
        assert not driver.is_alive(), "the sagas did not finish"
        bed = RestateTestBed.attached(server)
        invocations = _invocations(bed)
        rows = _journal_rows(bed)
        bed.close()

    journals: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        if row["entry_type"] == "Command: Run":
            journals[str(row["id"])].append(str(row["name"]))
    final = read_ledger(ledger)
    checked = check_everything(answers, invocations, dict(journals), final)
    check_no_late_attempts(final, journaled_at(rows))

    lines = [
        f"server-kill test (seed {seed}): {checked.sagas} sagas, {len(kills)} SIGKILLs of restate-server survived; "
        f"{checked.compensated} sagas compensated ({checked.compensations} compensations, newest first, each once); "
        f"{checked.executions} executions for {checked.effects} effects "
        f"({checked.deduplicated} re-executions deduplicated by the idempotency key)",
    ]
    for number, kill in enumerate(kills, 1):
        after = [a.finished for a in answers if a.finished >= kill.ready]
        first = min(after) - kill.ready if after else float("nan")
        lines.append(
            f"  kill {number} after {kill.at_effects} executions: down {kill.restarted - kill.killed:.2f}s, "
            f"restart to ready {kill.ready - kill.restarted:.2f}s, first answer {first:.2f}s after ready"
        )
    latencies = [a.latency for a in answers]
    retried = sum(1 for a in answers if a.errors)
    lines.append(
        f"  callers: p50 {percentile(latencies, 0.5):.2f}s, p99 {percentile(latencies, 0.99):.2f}s, "
        f"max {max(latencies):.2f}s; {retried} came back with their key after a failure"
    )
    print("\n".join(lines))
    assert len(kills) == KILLS
    assert retried > 0, "no caller saw the server die: the kills did not land while sagas waited"
