"""The benchmark suite keeps working: its smoke configuration runs and reports every measurement.

Timings are never asserted here (they depend on the machine); only that the run produced its
JSON with every implementation and workload, and counts that must hold anywhere: the journal of
restate_saga has exactly the entries of the hand-written saga, and every saga ran as expected.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks.config import SMOKE
from benchmarks.workloads import IMPLEMENTATIONS, WORKLOADS

REPO = Path(__file__).resolve().parents[1]


def test_smoke_benchmark_reports_every_implementation_and_workload(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--smoke", "--out", str(tmp_path), "--name", "smoke"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    data: dict[str, Any] = json.loads((tmp_path / "smoke.json").read_text())
    assert data["config"]["name"] == "smoke"
    assert data["machine"]["cpu_count"] >= 1

    server = data["server"]
    assert list(server) == list(SMOKE.workloads)
    for workload in (w for w in WORKLOADS if w.key in SMOKE.workloads):
        impls = server[workload.key]["implementations"]
        assert set(impls) == {impl.key for impl in IMPLEMENTATIONS}
        for key, measured in impls.items():
            journal = measured["journal"]
            assert journal["samples"] >= 1, key
            assert journal["identical_across_samples"], key
            assert journal["run_entries"] == workload.expected_runs, (workload.key, key)
            assert measured["unexpected_statuses"] == {}, (workload.key, key)
            assert measured["latency_ms"]["n"] >= 1
            assert measured["throughput"]["calls"] >= SMOKE.clients
        assert impls["restate_saga"]["journal"]["entries"] == impls["handwritten"]["journal"]["entries"]
        assert impls["restate_saga"]["journal"]["run_entries"] == impls["handwritten"]["journal"]["run_entries"]
        assert set(data["ratios"][workload.key]) == {"vs_handwritten", "vs_reference"}

    check = data["inprocess"]["journal_check"]
    assert check["same_names_in_order"]
    assert check["entries_restate_saga"] == check["entries_handwritten"]
    assert {r["steps"] for r in data["inprocess"]["run"]} == set(SMOKE.inprocess_steps)
    assert {b["steps"] for b in data["inprocess"]["build"]} == set(SMOKE.inprocess_steps)
    assert set(data["imports"]) == {"restate_saga", "reference"}
    assert data["imports"]["reference"]["module"] != data["imports"]["restate_saga"]["module"]
    encryption = data["encryption"]
    assert encryption["bytes"]["steps"] == min(SMOKE.inprocess_steps)
    assert encryption["bytes"]["full_bytes_per_step"] > encryption["bytes"]["plain_bytes_per_step"]
    assert encryption["bytes"]["selective_overhead_bytes_max"] > 0
    assert set(encryption["run"]) >= {"plain_us_per_step", "full_us_per_step", "selective_us_per_step"}
    assert len(data["targets"]) == 11
    if data["chart"] is not None:
        assert (tmp_path / "smoke.png").stat().st_size > 10_000
