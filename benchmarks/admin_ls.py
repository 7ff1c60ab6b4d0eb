"""How fast `restate-saga ls` answers over many saga invocations (issue 13's target: 1,000 in < 2 s).

Starts a restate-server and the example app, runs N travel bookings (a third of them fail at the
car and compensate), waits until all have completed, then times `SagaAdmin.list(limit=None)` in
process and the `restate-saga ls` console script (a fresh process each time, so its figure
includes interpreter start-up), in JSON and as a table: wall clock, and the CLI's own CPU time
(steadier on a shared machine). Prints the figures and writes them to
`benchmarks/results/admin_ls.json`. Timings are reported, never asserted.

    .venv/bin/python -m benchmarks.admin_ls [--sagas 1000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

from restate_saga.admin import SagaAdmin
from restate_saga.testing import AppProcess, RestateServer, register_deployment

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "admin_ls.json"


async def start_sagas(ingress: str, count: int) -> None:
    """Start `count` travel bookings without waiting for them (16 at a time)."""
    limit = asyncio.Semaphore(16)
    async with httpx.AsyncClient(timeout=60) as client:

        async def one(number: int) -> None:
            async with limit:
                payload = {"trip_id": f"bench-{number}", "fail_car": number % 3 == 0}
                answer = await client.post(f"{ingress}/TravelBooking/run/send", json=payload)
                answer.raise_for_status()

        await asyncio.gather(*(one(n) for n in range(count)))


def wait_completed(admin_url: str, count: int, timeout: float = 600) -> float:
    """Seconds until `count` TravelBooking invocations have completed."""
    started = time.monotonic()
    query = (
        "SELECT count(*) AS n FROM sys_invocation WHERE target_service_name = 'TravelBooking' AND status = 'completed'"
    )
    with httpx.Client(timeout=30) as client:
        while True:
            rows = client.post(f"{admin_url}/query", json={"query": query}, headers={"accept": "application/json"})
            if int(rows.json()["rows"][0]["n"]) >= count:
                return time.monotonic() - started
            if time.monotonic() - started > timeout:
                raise TimeoutError(f"fewer than {count} sagas completed within {timeout}s")
            time.sleep(0.5)


def timed(run: object, rounds: int) -> list[float]:
    """Wall-clock seconds of `rounds` calls of `run`."""
    assert callable(run)
    figures: list[float] = []
    for _ in range(rounds):
        started = time.perf_counter()
        run()
        figures.append(time.perf_counter() - started)
    return figures


def main() -> int:
    """Run the measurement; exit 0 when it could be made."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sagas", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    script = Path(sys.executable).parent / "restate-saga"
    server = RestateServer()
    app = AppProcess("examples.app:app", cwd=ROOT, env={"EXAMPLES_QUIET": "1"})
    try:
        server.start()
        app.start()
        register_deployment(server.admin_url, f"{app.url}/restate/v1")
        asyncio.run(start_sagas(server.ingress_url, args.sagas))
        ran_for = wait_completed(server.admin_url, args.sagas)
        with SagaAdmin(server.admin_url) as admin:
            listed = admin.list(limit=None)
            in_process = timed(lambda: admin.list(limit=None), args.rounds)
        env = {**os.environ, "RESTATE_ADMIN_URL": server.admin_url}

        cpu: dict[str, list[float]] = {"json": [], "table": []}

        def cli(form: str) -> None:
            extra = ["--json"] if form == "json" else []
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            command = [str(script), "ls", "--limit", str(args.sagas), *extra]
            subprocess.run(command, env=env, check=True, capture_output=True)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu[form].append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)

        as_json = timed(lambda: cli("json"), args.rounds)
        as_table = timed(lambda: cli("table"), args.rounds)
    finally:
        app.stop()
        server.stop()
    statuses: dict[str, int] = {}
    for summary in listed:
        statuses[summary.status] = statuses.get(summary.status, 0) + 1
    report = {
        "sagas": len(listed),
        "statuses": statuses,
        "sagas_completed_in_s": round(ran_for, 1),
        "list_in_process_s": {"median": round(statistics.median(in_process), 3), "max": round(max(in_process), 3)},
        "cli_ls_json_s": {"median": round(statistics.median(as_json), 3), "max": round(max(as_json), 3)},
        "cli_ls_table_s": {"median": round(statistics.median(as_table), 3), "max": round(max(as_table), 3)},
        "cli_cpu_s": {form: round(statistics.median(figures), 3) for form, figures in cpu.items()},
        "rounds": args.rounds,
        "load_average_1m": round(os.getloadavg()[0], 2),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
