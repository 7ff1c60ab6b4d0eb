"""The soak benchmark keeps working: a short run through every kind of fault, every saga checked.

The full run (`python -m benchmarks.soak`: 10,000 sagas over 30 minutes) is a benchmark, not a
test; this runs its harness for a few seconds. Timings are never asserted, only that every saga
ended right and that the faults happened.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_a_short_soak_run_checks_every_saga(tmp_path: Path) -> None:
    seed = os.environ.get("SOAK_SEED", str(random.randrange(1_000_000)))
    out = tmp_path / "soak.json"
    command = [sys.executable, "-m", "benchmarks.soak", "--sagas", "80", "--duration", "12"]
    command += ["--chaos-interval", "2", "--seed", seed, "--out", str(out)]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, f"seed {seed}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    result = json.loads(out.read_text())
    assert result["ok"] and result["sagas"] == result["answered"] == 80, (seed, result["problems"])
    assert result["compensations"]["lost"] == result["compensations"]["duplicated"] == 0
    assert result["compensations"]["applied"] == result["compensations"]["expected"] > 0
    assert len(result["chaos_events"]) >= 1, (seed, result["chaos_events"])
