"""The soak run: many sagas over a long time through random service kills, server kills and broken connections.

    .venv/bin/python -m benchmarks.soak                                # 10,000 sagas over 30 minutes
    .venv/bin/python -m benchmarks.soak --sagas 600 --duration 120     # a short run
    .venv/bin/python -m benchmarks.soak --seed 7                       # replay one chaos schedule

One restate-server (its data kept across kills), the sagas of `tests.infra.chaos_app` served by
hypercorn in a child process, and a `FaultProxy` between them (the deployment is registered at
the proxy). The sagas — plain checkouts, checkouts on a durable timer, workflows waiting on a
durable promise, parallel groups; a quarter of each failing at its last step and compensating —
start at a steady pace so that `--sagas` spread over `--duration` seconds. Meanwhile a chaos loop
(seeded) SIGKILLs the service (restarted at once on the same port), SIGKILLs restate-server
(restarted on its ports with its data), and cuts every connection, one of them every
`--chaos-interval` seconds on average; the proxy adds a random schedule of stalls, delays and
refused connections. Callers come back with their saga's key whenever something fails.

At the end every saga is checked as the tests check it (its answer, one invocation per key, its
journal, each effect applied once, compensations newest first, no action re-run after its result
was journaled). Prints the figures and writes them to `benchmarks/results/soak.json` (`--out`).
Exits non-zero if any saga is wrong.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import platform
import random
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from restate_saga.testing import (
    AppProcess,
    FaultProxy,
    RestateServer,
    RestateTestBed,
    random_faults,
    register_deployment,
)
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

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
CHAOS = ("service kill", "server kill", "connection cut")


@dataclass
class ChaosLog:
    events: list[dict[str, Any]] = field(default_factory=list[dict[str, Any]])

    def count(self, kind: str) -> int:
        return sum(1 for e in self.events if e["kind"] == kind)

    def recoveries(self, kind: str) -> list[float]:
        return [e["recovery_s"] for e in self.events if e["kind"] == kind and "recovery_s" in e]


def chaos(
    rng: random.Random,
    server: RestateServer,
    app: AppProcess,
    proxy: FaultProxy,
    interval: float,
    stop: threading.Event,
    log: ChaosLog,
) -> None:
    """Until `stop`: every `interval` seconds on average, kill the service, kill the server or cut connections."""
    began = time.monotonic()
    while not stop.wait(rng.expovariate(1 / interval)):
        kind = rng.choice(CHAOS)
        at = round(time.monotonic() - began, 2)
        if kind == "service kill":
            app.kill()
            down = rng.uniform(0.05, 1.0)
            time.sleep(down)  # the outage (the scenario, not a wait for a condition)
            started = time.monotonic()
            app.start()
            recovery = time.monotonic() - started
            log.events.append({"kind": kind, "at_s": at, "down_s": round(down, 2), "recovery_s": recovery})
        elif kind == "server kill":
            server.kill()
            down = rng.uniform(0.1, 2.0)
            time.sleep(down)
            log.events.append({"kind": kind, "at_s": at, "down_s": round(down, 2), "recovery_s": server.restart()})
        else:
            log.events.append({"kind": kind, "at_s": at, "connections": proxy.cut()})


def _invocations(bed: RestateTestBed) -> dict[str, list[str]]:
    found: dict[str, list[str]] = defaultdict(list)
    rows = bed.sql(
        "SELECT id, target_service_key, idempotency_key, status FROM sys_invocation WHERE target_handler_name = 'run'",
        timeout=120,
    )
    for row in rows:
        if row["status"] != "completed":
            raise AssertionError(f"an invocation did not complete: {row}")
        found[str(row.get("idempotency_key") or row.get("target_service_key"))].append(str(row["id"]))
    return dict(found)


def _journal_rows(bed: RestateTestBed, ids: list[str]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for start in range(0, len(ids), 500):
        chunk = ", ".join(f"'{i}'" for i in ids[start : start + 500])
        rows.extend(
            bed.sql(
                "SELECT id, index, entry_type, name, entry_json, appended_at FROM sys_journal "
                f"WHERE entry_type LIKE '%Run%' AND id IN ({chunk}) ORDER BY id, index",
                timeout=120,
            )
        )
    return rows


def soak(sagas_count: int, duration: float, seed: int, chaos_interval: float) -> dict[str, Any]:
    rng = random.Random(seed)
    sagas = mixed_sagas(sagas_count, seed)
    schedule = random_faults(
        seed, duration, mean_interval=max(1.0, chaos_interval), kinds=("stall", "delay", "refuse"), max_fault=0.5
    )
    log = ChaosLog()
    with tempfile.TemporaryDirectory(prefix="restate-saga-soak-") as folder:
        ledger = Path(folder) / "ledger.sqlite"
        create_ledger(ledger)
        with (
            RestateServer() as server,
            AppProcess("tests.infra.chaos_app:app", env={LEDGER_ENV: str(ledger)}, cwd=REPO, log_level="ERROR") as app,
            FaultProxy(app.port) as proxy,
        ):
            register_deployment(server.admin_url, proxy.url, ingress_url=server.ingress_url)
            stop = threading.Event()
            chaos_thread = threading.Thread(
                target=chaos, args=(rng, server, app, proxy, chaos_interval, stop, log), name="chaos"
            )
            proxy.run_schedule(schedule)
            chaos_thread.start()
            began = time.monotonic()
            try:
                answers: list[Answer] = asyncio.run(
                    run_sagas(
                        lambda: server.ingress_url,
                        sagas,
                        pace=duration / sagas_count,
                        deadline=duration + 600,
                        concurrency=400,
                    )
                )
            finally:
                stop.set()
                chaos_thread.join(timeout=120)
            wall = time.monotonic() - began
            applied = proxy.wait_schedule(timeout=duration + 60)
            stats = proxy.stats
            if not server.is_running():  # a kill at the very end: bring it back to read the journals
                server.restart()
            bed = RestateTestBed.attached(server, call_timeout=120)
            invocations = _invocations(bed)
            rows = _journal_rows(bed, sorted({i for ids in invocations.values() for i in ids}))
            bed.close()
        final = read_ledger(ledger)

    journals: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        if row["entry_type"] == "Command: Run":
            journals[str(row["id"])].append(str(row["name"]))
    problems: list[str] = []
    checked = None
    try:
        checked = check_everything(answers, invocations, dict(journals), final)
        check_no_late_attempts(final, journaled_at(rows))
    except AssertionError as error:
        problems.append(str(error)[:2000])
    latencies = [a.latency for a in answers]
    compensation_runs = Counter(a.key for a in final.attempts if a.effect.startswith("undo "))
    lost = duplicated = 0
    for saga in sagas:  # compensation side effects against what each saga must have, as multisets
        expected = Counter(e for e in saga.expected_effects() if e.startswith("undo "))
        undone = Counter(e for e in final.effects.get(saga.name, []) if e.startswith("undo "))
        lost += sum((expected - undone).values())
        duplicated += sum((undone - expected).values())
    for names in journals.values():  # and a compensation journaled twice
        undos = Counter(n for n in names if n.startswith("compensate:"))
        duplicated += sum(n - 1 for n in undos.values())
    undo_effects = sum(1 for effects in final.effects.values() for e in effects if e.startswith("undo "))
    expected_undos = sum(sum(1 for e in s.expected_effects() if e.startswith("undo ")) for s in sagas)
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load_avg_1m": os.getloadavg()[0]},
        "config": {"sagas": sagas_count, "duration_s": duration, "seed": seed, "chaos_interval_s": chaos_interval},
        "ok": not problems,
        "problems": problems,
        "wall_s": round(wall, 1),
        "sagas": len(answers),
        "answered": sum(1 for a in answers if a.status_code != 0),
        "compensated_sagas": sum(1 for s in sagas if s.fails),
        "sagas_per_s": round(len(answers) / wall, 2),
        "latency_s": {
            "p50": round(percentile(latencies, 0.5), 3),
            "p99": round(percentile(latencies, 0.99), 3),
            "max": round(max(latencies), 3),
        },
        "callers_that_came_back": sum(1 for a in answers if a.errors),
        "faults": {
            "service_kills": log.count("service kill"),
            "server_kills": log.count("server kill"),
            "connection_cuts": log.count("connection cut"),
            "connections_reset": stats.cut,
            "proxy_schedule": dict(Counter(f.kind for _, f in applied)),
            "refused_connections": stats.refused,
        },
        "recovery_s": {
            kind.replace(" ", "_"): {
                "p50": round(percentile(log.recoveries(kind), 0.5), 2),
                "max": round(max(log.recoveries(kind), default=0.0), 2),
            }
            for kind in ("service kill", "server kill")
        },
        "executions": len(final.attempts),
        "effects": final.effect_count,
        "re_executions_deduplicated": final.deduplicated,
        "compensations": {
            "expected": expected_undos,
            "applied": undo_effects,
            "lost": lost,
            "duplicated": duplicated,
            "re_executed_and_deduplicated": sum(n - 1 for n in compensation_runs.values()),
        },
        "chaos_events": log.events,
        "checked": asdict(checked) if checked is not None else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sagas", type=int, default=10_000, help="how many sagas (default 10,000)")
    parser.add_argument("--duration", type=float, default=1800.0, help="seconds to spread them over (default 1800)")
    parser.add_argument("--seed", type=int, default=None, help="the chaos and workload seed (default: random)")
    parser.add_argument("--chaos-interval", type=float, default=20.0, help="mean seconds between kills and cuts")
    parser.add_argument("--out", type=Path, default=RESULTS / "soak.json", help="where to write the JSON figures")
    args = parser.parse_args()
    if args.sagas < 1 or args.duration <= 0 or args.chaos_interval <= 0:
        parser.error("--sagas, --duration and --chaos-interval must be positive")
    seed = args.seed if args.seed is not None else random.randrange(1_000_000)
    print(f"soak: {args.sagas} sagas over {args.duration:g}s, chaos every {args.chaos_interval:g}s, seed {seed}")
    result = soak(args.sagas, args.duration, seed, args.chaos_interval)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    faults, comp, latency = result["faults"], result["compensations"], result["latency_s"]
    print(
        f"soak (seed {seed}): {result['sagas']} sagas in {result['wall_s']}s = {result['sagas_per_s']} sagas/s; "
        f"latency p50 {latency['p50']}s, p99 {latency['p99']}s, max {latency['max']}s\n"
        f"  faults: {faults['service_kills']} service kills, {faults['server_kills']} server kills, "
        f"{faults['connection_cuts']} connection cuts ({faults['connections_reset']} connections reset), "
        f"proxy {faults['proxy_schedule']}, {faults['refused_connections']} refused connections\n"
        f"  recovery: service p50 {result['recovery_s']['service_kill']['p50']}s "
        f"(max {result['recovery_s']['service_kill']['max']}s), server p50 "
        f"{result['recovery_s']['server_kill']['p50']}s (max {result['recovery_s']['server_kill']['max']}s)\n"
        f"  {result['executions']} executions for {result['effects']} effects: "
        f"{result['re_executions_deduplicated']} re-executions deduplicated by the idempotency key\n"
        f"  compensations: {comp['applied']} of {comp['expected']} applied, {comp['lost']} lost, "
        f"{comp['duplicated']} duplicated ({comp['re_executed_and_deduplicated']} re-executed and deduplicated)\n"
        f"  {result['callers_that_came_back']} callers came back with their key; "
        f"check: {'every saga right' if result['ok'] else 'FAILED'}; figures in {args.out}"
    )
    for problem in result["problems"]:
        print(f"  problem: {problem}")
    raise SystemExit(0 if result["ok"] else 1)


if __name__ == "__main__":
    main()
