"""Sagas on a replicated three-node Restate cluster while one node is killed mid-run and restarted.

120 checkout sagas (a quarter fail at their last step and compensate) are started at a steady pace,
spread over the three ingresses, each with an `idempotency-key`. After a quarter of them, one node
is SIGKILLed — an ordinary node, or the metadata (Raft) leader — and sagas keep coming; a client
whose ingress is gone or stops answering retries on the next ingress with the same key. After three
quarters the node is restarted. Then every saga must have its exact answer, every failed saga's
compensations must have run newest first with the right data (in the ledger and in the journal),
and no side effect may have been applied twice, however many raw attempts there were.
Latencies are printed (run with `-s`), never asserted.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import statistics
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from restate_saga.testing import AppProcess, RestateCluster
from tests.cluster.app import LEDGER_ENV, create_ledger

pytestmark = pytest.mark.cluster

REPO = Path(__file__).resolve().parents[2]
SAGAS = 120
KILL_AT = 30  # the node dies as saga 30 starts ...
RESTART_AT = 90  # ... and is restarted as saga 90 starts
LAUNCH_INTERVAL = 0.1  # seconds between saga starts
ATTEMPT_TIMEOUT = 15.0  # a client gives one ingress this long before trying the next
SAGA_DEADLINE = 90.0  # a saga without its answer after this long fails the test
PARTITIONS = 4
SERVICE = "ClusterCheckout"
CHECKOUT_STEPS = ["CreateOrder", "Charge", "Ship"]
COMPENSATED_STEPS = [*CHECKOUT_STEPS, "compensate:Charge", "compensate:CreateOrder"]


@dataclass(frozen=True)
class Saga:
    number: int
    run: str

    @property
    def name(self) -> str:
        return f"s{self.number:03d}"

    @property
    def key(self) -> str:
        return f"{self.run}-{self.name}"

    @property
    def fails(self) -> bool:
        return self.number % 4 == 3

    @property
    def amount(self) -> int:
        return 10 + self.number

    @property
    def customer(self) -> str:
        return f"c{self.number % 7}"

    @property
    def order_id(self) -> str:
        return f"order-{self.name}-{self.customer}"

    @property
    def payment_id(self) -> str:
        return f"pay-{self.name}-{self.amount}"

    def payload(self) -> dict[str, Any]:
        return {"saga": self.name, "customer": self.customer, "amount": self.amount, "fail": self.fails}


@dataclass(frozen=True)
class Outcome:
    saga: Saga
    status_code: int
    body: bytes
    invocation_id: str | None
    started: float
    finished: float
    ingresses: tuple[int, ...]
    """The ingress of every attempt, in order (one entry per HTTP attempt)."""
    errors: tuple[str, ...]
    """Why each failed attempt failed."""

    @property
    def latency(self) -> float:
        return self.finished - self.started

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class Run:
    outcomes: tuple[Outcome, ...]
    victim: int
    victim_partition_leaders: int
    kill_time: float
    restart_time: float
    ready_time: float
    new_leader: int | None
    new_leader_time: float | None


# --- driving the sagas ------------------------------------------------------------------------------


def retry_elsewhere(answer: httpx.Response) -> bool:
    """A 5xx, or a 404 from an ingress that has not caught up on the registered services yet (a node
    that has just restarted): the same call, with the same idempotency key, goes to the next ingress."""
    if answer.status_code >= 500:
        return True
    return answer.status_code == 404 and '"source":"ingress"' in answer.text.replace(" ", "")


async def call_saga(client: httpx.AsyncClient, cluster: RestateCluster, saga: Saga) -> Outcome:
    """Call the saga; on a lost connection, a timeout or `retry_elsewhere`, move to the next ingress."""
    urls = cluster.ingress_urls
    ingress = saga.number % len(urls)
    started = time.monotonic()
    tried: list[int] = []
    errors: list[str] = []
    while True:
        tried.append(ingress)
        try:
            answer = await client.post(
                f"{urls[ingress]}/{SERVICE}/run",
                json=saga.payload(),
                headers={"idempotency-key": saga.key},
                timeout=httpx.Timeout(ATTEMPT_TIMEOUT, connect=2.0),
            )
        except httpx.TransportError as error:
            errors.append(f"n{ingress + 1}: {type(error).__name__}")
        else:
            if not retry_elsewhere(answer):
                return Outcome(
                    saga,
                    answer.status_code,
                    answer.content,
                    answer.headers.get("x-restate-id"),
                    started,
                    time.monotonic(),
                    tuple(tried),
                    tuple(errors),
                )
            errors.append(f"n{ingress + 1}: {answer.status_code} {answer.text[:120]}")
        if time.monotonic() - started >= SAGA_DEADLINE:  # no answer: status 0, reported by the test
            return Outcome(saga, 0, b"", None, started, time.monotonic(), tuple(tried), tuple(errors))
        ingress = (ingress + 1) % len(urls)
        await asyncio.sleep(0.1)


def watch_metadata_leader(cluster: RestateCluster, victim: int, found: list[tuple[int, float]]) -> None:
    """Poll (bounded) until a running node other than `victim` leads the metadata cluster."""
    deadline = time.monotonic() + 60.0
    while time.monotonic() < deadline:
        leader = cluster.metadata_leader()
        if leader is not None and leader != victim:
            found.append((leader, time.monotonic()))
            return
        time.sleep(0.1)


async def drive(cluster: RestateCluster, victim: int, run: str) -> Run:
    leader_found: list[tuple[int, float]] = []
    watcher = threading.Thread(target=watch_metadata_leader, args=(cluster, victim, leader_found))
    kill_time = restart_time = 0.0
    led = 0
    restart: asyncio.Task[None] | None = None
    limits = httpx.Limits(max_connections=300, max_keepalive_connections=60)
    async with httpx.AsyncClient(limits=limits) as client:
        tasks: list[asyncio.Task[Outcome]] = []
        for number in range(SAGAS):
            if number == KILL_AT:
                led = next((s.partition_leaders for s in cluster.status() if s.index == victim), 0)
                cluster.kill(victim)
                kill_time = time.monotonic()
                watcher.start()
            if number == RESTART_AT:
                restart_time = time.monotonic()
                restart = asyncio.create_task(asyncio.to_thread(cluster.restart, victim))
            tasks.append(asyncio.create_task(call_saga(client, cluster, Saga(number, run))))
            await asyncio.sleep(LAUNCH_INTERVAL)
        outcomes = await asyncio.gather(*tasks)
        assert restart is not None
        await restart
        ready_time = time.monotonic()
    watcher.join(timeout=70)
    leader, leader_time = leader_found[0] if leader_found else (None, None)
    return Run(tuple(outcomes), victim, led, kill_time, restart_time, ready_time, leader, leader_time)


# --- reporting -------------------------------------------------------------------------------------


def stats(label: str, outcomes: list[Outcome]) -> str:
    if not outcomes:
        return f"  {label:<34} none"
    latencies = sorted(o.latency for o in outcomes)
    p95 = latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))]
    retried = sum(1 for o in outcomes if len(o.ingresses) > 1)
    return (
        f"  {label:<34} {len(outcomes):>3} sagas  p50 {statistics.median(latencies):6.2f}s  "
        f"p95 {p95:6.2f}s  max {latencies[-1]:6.2f}s  retried on another ingress: {retried}"
    )


def report(kind: str, result: Run, ledger: dict[str, int]) -> None:
    before = [o for o in result.outcomes if o.finished < result.kill_time]
    around = [o for o in result.outcomes if o.finished >= result.kill_time and o.started < result.restart_time]
    after = [o for o in result.outcomes if o.started >= result.restart_time]
    outage = result.restart_time - result.kill_time
    lines = [
        f"\n=== cluster failover: killed {kind} n{result.victim + 1} (leading "
        f"{result.victim_partition_leaders} of {PARTITIONS} partitions), restarted {outage:.1f}s later ===",
        stats("done before the kill", before),
        stats("in flight at / started after kill", around),
        stats("started after the restart", after),
        stats("all", list(result.outcomes)),
        f"  restart() until the cluster was ready: {result.ready_time - result.restart_time:.1f}s "
        "(sagas kept running meanwhile)",
    ]
    if result.new_leader is not None and result.new_leader_time is not None:
        lines.append(
            f"  metadata leader after the kill: n{result.new_leader + 1}, known "
            f"{result.new_leader_time - result.kill_time:.1f}s after the kill"
        )
    lines.append(
        f"  client: {sum(len(o.ingresses) for o in result.outcomes)} HTTP attempts for "
        f"{len(result.outcomes)} sagas ({sum(o.saga.fails for o in result.outcomes)} compensated)"
    )
    lines.append(
        f"  ledger: {ledger['attempts']} raw attempts of {ledger['keys']} actions and compensations "
        f"({ledger['compensations']} compensations); {ledger['effects']} side effects, each applied once; "
        f"{ledger['duplicates']} re-runs whose side effect was skipped by its idempotency key"
    )
    failures = [e for o in result.outcomes for e in o.errors]
    if failures:
        kinds = defaultdict[str, int](int)
        for error in failures:
            kinds[error.split(": ", 1)[1][:60]] += 1
        lines.append("  failed attempts: " + ", ".join(f"{k} x{v}" for k, v in sorted(kinds.items())))
    print("\n".join(lines))


# --- the checks ----------------------------------------------------------------------------------


def check_answers(result: Run) -> None:
    """Every saga got its right answer: a receipt, or the terminal failure of its last step."""
    for outcome in result.outcomes:
        saga = outcome.saga
        if saga.fails:
            assert outcome.status_code == 409, (saga, outcome.body)
            assert f"step 'Ship' failed: no courier for {saga.order_id}" in outcome.json()["message"]
        else:
            assert outcome.status_code == 200, (saga, outcome.body)
            assert outcome.json() == {
                "order_id": saga.order_id,
                "payment_id": saga.payment_id,
                "shipment_id": f"ship-{saga.name}",
            }


def check_journals(cluster: RestateCluster, result: Run) -> dict[str, str]:
    """One completed invocation per idempotency key, whose journal holds the steps, then the
    compensations newest first. Returns each saga's invocation id."""
    invocations: dict[str, list[str]] = defaultdict(list)
    for row in cluster.sql(
        f"SELECT id, idempotency_key, status FROM sys_invocation WHERE target_service_name = '{SERVICE}'"
    ):
        assert row["status"] == "completed", row
        invocations[str(row["idempotency_key"])].append(str(row["id"]))
    assert sorted(invocations) == sorted(o.saga.key for o in result.outcomes)
    assert all(len(ids) == 1 for ids in invocations.values()), invocations
    journals: dict[str, list[str]] = defaultdict(list)
    for row in cluster.sql(
        "SELECT id, index, name FROM sys_journal WHERE entry_type = 'Command: Run' ORDER BY id, index"
    ):
        journals[str(row["id"])].append(str(row["name"]))
    invocation_of: dict[str, str] = {}
    for outcome in result.outcomes:
        (invocation,) = invocations[outcome.saga.key]
        invocation_of[outcome.saga.name] = invocation
        if outcome.invocation_id is not None:
            assert outcome.invocation_id == invocation
        expected = COMPENSATED_STEPS if outcome.saga.fails else CHECKOUT_STEPS
        assert journals[invocation] == expected, (outcome.saga, journals[invocation])
    return invocation_of


def ledger_rows(path: Path, table: str) -> list[sqlite3.Row]:
    with closing(sqlite3.connect(path)) as db:
        db.row_factory = sqlite3.Row
        return db.execute(f"SELECT * FROM {table} ORDER BY seq").fetchall()


def check_ledger(path: Path, result: Run, invocation_of: dict[str, str]) -> dict[str, int]:
    """Every side effect applied exactly once, by the saga's one invocation, compensations newest
    first with the data of what they undo. Returns the counts for the report."""
    effects = ledger_rows(path, "effects")
    attempts = ledger_rows(path, "attempts")
    by_saga: dict[str, list[tuple[str, int, str]]] = defaultdict(list)
    for row in effects:
        assert str(row["key"]).startswith(invocation_of[row["saga"]] + ":"), dict(row)
        by_saga[row["saga"]].append((row["step"], row["undo"], row["data"]))
    for outcome in result.outcomes:
        saga = outcome.saga
        done = [("CreateOrder", 0, saga.order_id), ("Charge", 0, f"{saga.payment_id}:{saga.amount}")]
        if saga.fails:
            undone = [("Charge", 1, f"{saga.payment_id}:{saga.amount}"), ("CreateOrder", 1, saga.order_id)]
            assert by_saga[saga.name] == done + undone, (saga, by_saga[saga.name])
        else:
            assert by_saga[saga.name] == [*done, ("Ship", 0, f"ship-{saga.name}")], (saga, by_saga[saga.name])
    per_key = defaultdict[str, int](int)
    for row in attempts:
        per_key[row["key"]] += 1
    effect_keys = {row["key"] for row in effects}
    assert effect_keys <= set(per_key)
    compensations = sum(1 for row in effects if row["undo"])
    assert compensations == 2 * sum(1 for o in result.outcomes if o.saga.fails) == SAGAS // 2
    return {
        "effects": len(effects),
        "attempts": len(attempts),
        "keys": len(per_key),
        "duplicates": sum(n - 1 for key, n in per_key.items() if key in effect_keys),
        "compensations": compensations,
    }


# --- the test ------------------------------------------------------------------------------------


@pytest.fixture
def cluster() -> Iterator[RestateCluster]:
    with RestateCluster(size=3, replication=2, partitions=PARTITIONS) as started:
        yield started


def test_a_cluster_refuses_more_replicas_than_nodes() -> None:
    with pytest.raises(ValueError, match="replication"):
        RestateCluster(size=3, replication=4)


@pytest.mark.parametrize("kind", ["ordinary node", "metadata leader"])
def test_sagas_survive_a_node_killed_mid_run(cluster: RestateCluster, tmp_path: Path, kind: str) -> None:
    ledger = tmp_path / "ledger.sqlite"
    create_ledger(ledger)
    with AppProcess("tests.cluster.app:app", env={LEDGER_ENV: str(ledger)}, cwd=REPO) as served:
        cluster.register(served.url)
        with httpx.Client(timeout=10.0) as client:  # every ingress routes calls
            for node in cluster.nodes:
                answer = client.post(f"{node.ingress_url}/Ping/ping", json=node.name)
                assert answer.status_code == 200, answer.text
                assert answer.json() == f"pong {node.name}"

        leader = cluster.metadata_leader()
        assert leader is not None
        if kind == "metadata leader":
            victim = leader
        else:  # not the metadata leader, but leading as many partitions as possible
            others = [s for s in cluster.status() if s.index != leader]
            victim = max(others, key=lambda s: (s.partition_leaders, s.index)).index
        result = asyncio.run(drive(cluster, victim, tmp_path.name))

        stuck = [o for o in result.outcomes if o.status_code == 0]
        if stuck:
            keys = ", ".join(f"'{o.saga.key}'" for o in stuck)
            rows = cluster.sql(f"SELECT * FROM sys_invocation WHERE idempotency_key IN ({keys})")
            pytest.fail(f"{len(stuck)} sagas got no answer in {SAGA_DEADLINE}s: {stuck[:3]}\n{rows}")

        # the killed node is back, the cluster whole again, with a metadata leader that never died
        assert [node.index for node in cluster.running()] == [0, 1, 2]
        assert result.new_leader is not None and result.new_leader != victim
        if kind == "ordinary node":
            assert result.new_leader == leader

        check_answers(result)
        invocation_of = check_journals(cluster, result)
        counts = check_ledger(ledger, result, invocation_of)

        # the restarted node answers calls and queries again
        with closing(cluster.bed(victim)) as bed:
            assert bed.call("Ping", "ping", "again").json() == "pong again"
            failed = next(o for o in result.outcomes if o.saga.fails)
            assert bed.run_entries(invocation_of[failed.saga.name]) == COMPENSATED_STEPS

    report(kind, result, counts)
