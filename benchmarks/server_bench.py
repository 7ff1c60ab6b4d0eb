"""Measurements through one restate-server: journal cost, sequential latency, throughput."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Any, cast

import httpx

from benchmarks.config import Config, SizeFor
from benchmarks.cpu import child_pid_named, group_cpu_seconds
from benchmarks.harness import Deployments
from benchmarks.stats import summary_ms
from benchmarks.workloads import FAIL_STATUS, IMPLEMENTATIONS, WORKLOADS, Implementation, Workload

__all__ = ["run_server_benchmarks"]

HEADERS = {"content-type": "application/json"}


@dataclass
class Batch:
    """What one implementation did on one workload, accumulated over rounds."""

    latencies: list[float] = field(default_factory=list[float])
    invocation_ids: list[str] = field(default_factory=list[str])
    unexpected: dict[str, int] = field(default_factory=dict[str, int])
    throughput_rounds: list[dict[str, float | int]] = field(default_factory=list[dict[str, float | int]])
    cpu_calls: int = 0
    cpu_deployment: float = 0.0
    cpu_server: float = 0.0

    def count_status(self, status: int, expected: int) -> None:
        if status != expected:
            key = str(status)
            self.unexpected[key] = self.unexpected.get(key, 0) + 1


def expected_status(workload: Workload) -> int:
    return FAIL_STATUS if workload.fail else 200


@dataclass(frozen=True, slots=True)
class CpuProbe:
    """Reads the CPU seconds used so far by one deployment's process group and by the server."""

    deployment_pgid: int
    server_pgid: int | None

    def read(self) -> tuple[float, float]:
        server = group_cpu_seconds(self.server_pgid) if self.server_pgid is not None else 0.0
        return group_cpu_seconds(self.deployment_pgid), server


class Accounted:
    """Adds the CPU used by a deployment and the server while the block runs to `batch`."""

    def __init__(self, probe: CpuProbe, batch: Batch) -> None:
        self.probe, self.batch = probe, batch
        self.before = (0.0, 0.0)
        self.calls_before = 0

    def __enter__(self) -> None:
        self.before = self.probe.read()
        self.calls_before = len(self.batch.latencies) + sum(int(r["calls"]) for r in self.batch.throughput_rounds)

    def __exit__(self, *exc: object) -> None:
        deployment, server = self.probe.read()
        calls = len(self.batch.latencies) + sum(int(r["calls"]) for r in self.batch.throughput_rounds)
        self.batch.cpu_calls += calls - self.calls_before
        self.batch.cpu_deployment += deployment - self.before[0]
        self.batch.cpu_server += server - self.before[1]


def sequential(
    client: httpx.Client, url: str, body: bytes, calls: int, seconds: float, batch: Batch, expected: int
) -> None:
    """Up to `calls` calls one after another (stops early after `seconds`)."""
    deadline = time.monotonic() + seconds
    for _ in range(calls):
        started = time.perf_counter()
        answer = client.post(url, content=body, headers=HEADERS)
        batch.latencies.append(time.perf_counter() - started)
        batch.count_status(answer.status_code, expected)
        invocation_id = answer.headers.get("x-restate-id")
        if invocation_id:
            batch.invocation_ids.append(invocation_id)
        if time.monotonic() > deadline:
            break


async def _throughput(
    url: str, body: bytes, clients: int, seconds: float, max_calls: int, batch: Batch, expected: int
) -> dict[str, float | int]:
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    started_calls = 0
    completed = 0
    async with httpx.AsyncClient(timeout=300.0, limits=limits) as client:
        start = time.perf_counter()
        deadline = start + seconds

        async def worker() -> None:
            nonlocal started_calls, completed
            # Every client makes at least one call; then until the window closes or the count runs out.
            first = True
            while first or (time.perf_counter() < deadline and started_calls < max_calls):
                first = False
                started_calls += 1
                answer = await client.post(url, content=body, headers=HEADERS)
                batch.count_status(answer.status_code, expected)
                completed += 1

        await asyncio.gather(*(worker() for _ in range(clients)))
        elapsed = time.perf_counter() - start
    return {"calls": completed, "seconds": elapsed, "calls_per_s": completed / elapsed}


def throughput(
    url: str, body: bytes, clients: int, size: SizeFor, batch: Batch, expected: int
) -> dict[str, float | int]:
    return asyncio.run(
        _throughput(url, body, clients, size.throughput_seconds, size.throughput_max_calls, batch, expected)
    )


def journal_stats(client: httpx.Client, admin_url: str, invocation_ids: list[str]) -> list[dict[str, Any]]:
    """Per invocation: entries, bytes (sum of raw_length), and the `Command: Run` entries and their bytes."""
    if not invocation_ids:
        return []
    for invocation_id in invocation_ids:
        if not invocation_id.replace("_", "").isalnum():
            raise ValueError(f"not an invocation id: {invocation_id!r}")
    listed = ", ".join(f"'{invocation_id}'" for invocation_id in invocation_ids)
    query = (
        "SELECT id, count(*) AS entries, sum(raw_length) AS bytes, "
        "sum(CASE WHEN entry_type = 'Command: Run' THEN 1 ELSE 0 END) AS run_entries, "
        "sum(CASE WHEN entry_type IN ('Command: Run', 'Notification: Run') THEN raw_length ELSE 0 END) "
        "AS run_bytes, "
        "sum(CASE WHEN entry_type = 'Command: Input' THEN raw_length ELSE 0 END) AS input_bytes, "
        "sum(CASE WHEN entry_type = 'Command: Output' THEN raw_length ELSE 0 END) AS output_bytes "
        f"FROM sys_journal WHERE id IN ({listed}) GROUP BY id"
    )
    answer = client.post(f"{admin_url}/query", json={"query": query}, headers={"accept": "application/json"})
    answer.raise_for_status()
    rows = cast(list[dict[str, Any]], answer.json()["rows"])
    return [{key: (value if key == "id" else int(value)) for key, value in row.items()} for row in rows]


def summarize_journal(rows: list[dict[str, Any]], workload: Workload) -> dict[str, Any]:
    if not rows:
        return {"samples": 0}
    first = rows[0]
    identical = all(all(row[key] == first[key] for key in ("entries", "bytes", "run_entries")) for row in rows)
    run_entries = int(first["run_entries"])
    return {
        "samples": len(rows),
        "identical_across_samples": identical,
        "entries": int(first["entries"]),
        "run_entries": run_entries,
        "expected_run_entries": workload.expected_runs,
        "bytes": int(first["bytes"]),
        "run_bytes": int(first["run_bytes"]),
        "input_bytes": int(first["input_bytes"]),
        "output_bytes": int(first["output_bytes"]),
        "bytes_per_step": first["bytes"] / workload.steps,
        "run_bytes_per_run_entry": first["run_bytes"] / run_entries if run_entries else None,
    }


def cpu_summary(batch: Batch, workload: Workload) -> dict[str, Any]:
    """CPU per invocation of the deployment (all its processes) and of restate-server, both phases."""
    calls = batch.cpu_calls
    deployment_ms = batch.cpu_deployment * 1e3 / calls if calls else None
    server_ms = batch.cpu_server * 1e3 / calls if calls else None
    entries = workload.expected_runs
    return {
        "calls": calls,
        "deployment_seconds": batch.cpu_deployment,
        "server_seconds": batch.cpu_server,
        "deployment_ms_per_invocation": deployment_ms,
        "server_ms_per_invocation": server_ms,
        "deployment_us_per_run_entry": None if deployment_ms is None else deployment_ms * 1e3 / entries,
        "server_us_per_run_entry": None if server_ms is None else server_ms * 1e3 / entries,
    }


def rotated(items: tuple[Implementation, ...], by: int) -> list[Implementation]:
    by %= len(items)
    return [*items[by:], *items[:by]]


def log(message: str) -> None:
    print(f"  {message}", file=sys.stderr, flush=True)


def run_server_benchmarks(config: Config, stack: Deployments) -> dict[str, Any]:
    """Every workload of `config` on every implementation, interleaved round by round."""
    ingress = stack.server.ingress_url
    results: dict[str, Any] = {}
    workloads = [w for w in WORKLOADS if w.key in config.workloads]
    server_pid = child_pid_named("restate-server")
    probes = {key: CpuProbe(d.pid or 0, server_pid) for key, d in stack.by_key.items()}
    with httpx.Client(timeout=300.0) as client:
        for workload in workloads:
            size = config.size(workload.steps)
            body = json.dumps(workload.payload).encode()
            expected = expected_status(workload)
            batches = {impl.key: Batch() for impl in IMPLEMENTATIONS}
            urls = {impl.key: f"{ingress}/{impl.service(workload)}/run" for impl in IMPLEMENTATIONS}
            started = time.monotonic()
            load_before = os.getloadavg()[0]
            for impl in IMPLEMENTATIONS:  # warm-up: connections, discovery, code paths
                warm = Batch()
                sequential(client, urls[impl.key], body, size.warmup_calls, 30.0, warm, expected)
                batches[impl.key].unexpected.update(warm.unexpected)
            for round_index in range(size.latency_rounds):
                for impl in rotated(IMPLEMENTATIONS, round_index):
                    batch = batches[impl.key]
                    with Accounted(probes[impl.key], batch):
                        sequential(
                            client, urls[impl.key], body, size.latency_calls, size.latency_seconds, batch, expected
                        )
            for round_index in range(size.throughput_rounds):
                for impl in rotated(IMPLEMENTATIONS, round_index):
                    batch = batches[impl.key]
                    with Accounted(probes[impl.key], batch):
                        window = throughput(urls[impl.key], body, config.clients, size, batch, expected)
                        batch.throughput_rounds.append(window)
            per_impl: dict[str, Any] = {}
            for impl in IMPLEMENTATIONS:
                batch = batches[impl.key]
                rows = journal_stats(client, stack.server.admin_url, batch.invocation_ids[: config.journal_samples])
                calls = sum(int(r["calls"]) for r in batch.throughput_rounds)
                seconds = sum(float(r["seconds"]) for r in batch.throughput_rounds)
                per_impl[impl.key] = {
                    "service": impl.service(workload),
                    "journal": summarize_journal(rows, workload),
                    "latency_ms": summary_ms(batch.latencies),
                    "throughput": {
                        "clients": config.clients,
                        "calls": calls,
                        "seconds": seconds,
                        "calls_per_s": calls / seconds if seconds else None,
                        "rounds": batch.throughput_rounds,
                    },
                    "cpu": cpu_summary(batch, workload),
                    "unexpected_statuses": batch.unexpected,
                }
            results[workload.key] = {
                "label": workload.label,
                "steps": workload.steps,
                "fail": workload.fail,
                "expected_status": expected,
                "implementations": per_impl,
                "seconds": time.monotonic() - started,
                "load_average_1min": [load_before, os.getloadavg()[0]],
            }
            cpu = {k: round(v["cpu"]["deployment_ms_per_invocation"] or 0.0, 2) for k, v in per_impl.items()}
            p50 = {k: round(v["latency_ms"].get("p50", float("nan")), 1) for k, v in per_impl.items()}
            tput = {k: round(v["throughput"]["calls_per_s"] or 0.0, 1) for k, v in per_impl.items()}
            log(
                f"{workload.key}: p50 ms {p50}, calls/s {tput}, deployment CPU ms/call {cpu} "
                f"({time.monotonic() - started:.0f}s, load {os.getloadavg()[0]:.1f})"
            )
    return results
