"""In-process measurements (no server): per-step overhead on FakeContext, pipeline build, import time."""

from __future__ import annotations

import asyncio
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from restate import TerminalError

from benchmarks.apps import handwritten, ours
from benchmarks.config import Config
from benchmarks.harness import REPO
from benchmarks.workloads import SAGA_INPUT, step_name
from restate_saga import Step, step
from restate_saga.testing import FakeContext

__all__ = ["import_times", "run_inprocess_benchmarks"]


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


async def _time_hand(steps: list[handwritten.LongStep]) -> float:
    fake = FakeContext()
    started = time.perf_counter()
    try:
        await handwritten.run_chain(fake.as_context(), steps, dict(SAGA_INPUT))
    except TerminalError:
        pass
    return time.perf_counter() - started


async def _time_lib(pipeline: Step[Any, Any, object]) -> float:
    fake = FakeContext()
    started = time.perf_counter()
    try:
        await pipeline.run(fake.as_context(), dict(SAGA_INPUT))
    except TerminalError:
        pass
    return time.perf_counter() - started


async def _check_same_journal(steps: int, fail: bool) -> dict[str, Any]:
    """Both sagas journal the same entries, in the same order, on the FakeContext."""
    hand, lib = FakeContext(), FakeContext()
    try:
        await handwritten.run_chain(hand.as_context(), handwritten.long_steps(steps, fail), dict(SAGA_INPUT))
    except TerminalError:
        pass
    try:
        await ours.chain_pipeline(steps, fail).run(lib.as_context(), dict(SAGA_INPUT))
    except TerminalError:
        pass
    return {
        "entries_handwritten": len(hand.journal),
        "entries_restate_saga": len(lib.journal),
        "same_names_in_order": [e.name for e in hand.journal] == [e.name for e in lib.journal],
    }


def _per_step(
    steps: int,
    fail: bool,
    repeats: int,
    deadline: float,
) -> dict[str, Any]:
    """Median time per step of the hand-written loop and of the pipeline, interleaved run by run."""
    hand_steps = handwritten.long_steps(steps, fail)
    pipeline = ours.chain_pipeline(steps, fail)

    async def measure() -> tuple[list[float], list[float]]:
        times: dict[str, list[float]] = {"hand": [], "lib": []}
        await _time_hand(hand_steps)  # warm-up (adapter caches, code paths)
        await _time_lib(pipeline)
        for index in range(repeats):
            pair: list[tuple[str, Callable[[], Awaitable[float]]]] = [
                ("hand", lambda: _time_hand(hand_steps)),
                ("lib", lambda: _time_lib(pipeline)),
            ]
            if index % 2:
                pair.reverse()
            for key, timed in pair:
                gc.collect()
                times[key].append(await timed())
            if time.monotonic() > deadline and index >= 2:
                break
        return times["hand"], times["lib"]

    hand, lib = asyncio.run(measure())
    # Entries per run: a step each, plus a compensation per earlier step on the failing path.
    entries = steps + (steps - 1 if fail else 0)
    hand_us = _median(hand) / steps * 1e6
    lib_us = _median(lib) / steps * 1e6
    return {
        "steps": steps,
        "fail": fail,
        "journal_entries": entries,
        "runs": len(hand),
        "handwritten_us_per_step": hand_us,
        "restate_saga_us_per_step": lib_us,
        "overhead_us_per_step": lib_us - hand_us,
        "handwritten_min_us_per_step": min(hand) / steps * 1e6,
        "restate_saga_min_us_per_step": min(lib) / steps * 1e6,
    }


async def _noop(value: dict[str, Any]) -> dict[str, Any]:
    return value


async def _undo(data: dict[str, Any]) -> None:
    del data


def _build_times(steps: int, repeats: int, deadline: float) -> dict[str, Any]:
    """Time to build `steps` leaves with `step(...)` and to chain them with `.then`, separately."""
    leaf_times: list[float] = []
    chain_times: list[float] = []
    names = [step_name(i) for i in range(1, steps + 1)]
    for _ in range(repeats):
        gc.collect()
        started = time.perf_counter()
        leaves = [step(name, _noop, _undo) for name in names]
        built = time.perf_counter()
        pipeline: Step[dict[str, Any], dict[str, Any], object] = leaves[0]
        for leaf in leaves[1:]:
            pipeline = pipeline.then(leaf)
        chained = time.perf_counter()
        leaf_times.append(built - started)
        chain_times.append(chained - built)
        del leaves, pipeline
        if time.monotonic() > deadline and len(leaf_times) >= 2:
            break
    leaf_ms = _median(leaf_times) * 1e3
    chain_ms = _median(chain_times) * 1e3
    return {
        "steps": steps,
        "runs": len(leaf_times),
        "leaves_ms": leaf_ms,
        "then_ms": chain_ms,
        "total_ms": leaf_ms + chain_ms,
        "us_per_step": (leaf_ms + chain_ms) * 1e3 / steps,
        "then_us_per_step": chain_ms * 1e3 / steps,
    }


_THEN_PROBE = """
import json, sys, time
from typing import Any
from restate_saga import step

async def noop(value: dict[str, Any]) -> dict[str, Any]:
    return value

async def undo(data: dict[str, Any]) -> None:
    del data

steps = int(sys.argv[1])
leaves = [step(f"Step{i}", noop, undo) for i in range(1, steps + 1)]
started = time.perf_counter()
pipeline = leaves[0]
for leaf in leaves[1:]:
    pipeline = pipeline.then(leaf)
elapsed = time.perf_counter() - started
print(json.dumps({"seconds": elapsed, "name_chars": len(pipeline.name)}))
"""


def _then_scaling(sizes: tuple[int, ...]) -> list[dict[str, Any]]:
    """`.then` alone, chaining prebuilt leaves, each size in a fresh interpreter (as at import time).

    Fresh processes matter: the cost of the growing composite name depends on the allocator's
    state, and a long-lived benchmark process hides part of it.
    """
    results: list[dict[str, Any]] = []
    for steps in sorted(sizes):
        done = subprocess.run(
            [sys.executable, "-c", _THEN_PROBE, str(steps)],
            capture_output=True,
            text=True,
            cwd=REPO,
            timeout=180,
            check=True,
        )
        data = json.loads(done.stdout)
        results.append(
            {
                "steps": steps,
                "then_ms": data["seconds"] * 1e3,
                "then_us_per_step": data["seconds"] * 1e6 / steps,
                "pipeline_name_chars": data["name_chars"],
            }
        )
    return results


def run_inprocess_benchmarks(config: Config) -> dict[str, Any]:
    """Per-step overhead against a hand-written loop on the same FakeContext, and build costs."""

    def deadline_for(share: float) -> float:
        return time.monotonic() + config.inprocess_budget_seconds * share

    small, large = min(config.inprocess_steps), max(config.inprocess_steps)
    results: dict[str, Any] = {
        "journal_check": asyncio.run(_check_same_journal(small, True)),
        "run": [],
        "build": [],
    }
    for steps in config.inprocess_steps:
        results["run"].append(_per_step(steps, False, config.inprocess_repeats, deadline_for(0.25)))
    results["run"].append(_per_step(small, True, config.inprocess_repeats, deadline_for(0.15)))
    for steps in config.inprocess_steps:
        results["build"].append(_build_times(steps, config.inprocess_repeats, deadline_for(0.15)))
    results["then_scaling"] = _then_scaling(config.then_scaling_steps)
    run_small = next(r for r in results["run"] if r["steps"] == small and not r["fail"])
    run_large = next(r for r in results["run"] if r["steps"] == large and not r["fail"])
    build_small = next(b for b in results["build"] if b["steps"] == small)
    build_large = next(b for b in results["build"] if b["steps"] == large)
    scaling = results["then_scaling"]
    results["linearity"] = {
        "then_scaling_per_step_ratio": scaling[-1]["then_us_per_step"] / scaling[0]["then_us_per_step"],
        "then_scaling_sizes": [scaling[0]["steps"], scaling[-1]["steps"]],
        "small": small,
        "large": large,
        "size_ratio": large / small,
        # Per-step cost at the large size over the small size: 1.0 is perfectly linear growth.
        "run_per_step_ratio": run_large["restate_saga_us_per_step"] / run_small["restate_saga_us_per_step"],
        "handwritten_run_per_step_ratio": run_large["handwritten_us_per_step"] / run_small["handwritten_us_per_step"],
        "build_per_step_ratio": build_large["us_per_step"] / build_small["us_per_step"],
        "build_plus_run_small_ms": build_small["total_ms"] + run_small["restate_saga_us_per_step"] * small / 1e3,
        "build_plus_run_large_ms": build_large["total_ms"] + run_large["restate_saga_us_per_step"] * large / 1e3,
    }
    return results


_IMPORT_PROBE = """
import json, time
t0 = time.perf_counter()
import restate
t1 = time.perf_counter()
import restate_saga
t2 = time.perf_counter()
from restate_saga import *
t3 = time.perf_counter()
print(json.dumps({"restate": t1 - t0, "restate_saga": t2 - t1, "face": t3 - t2, "file": restate_saga.__file__}))
"""


def import_times(python: Path, repeats: int) -> dict[str, Any]:
    """`import restate`, then `import restate_saga`, then every public name (`from restate_saga import *`),
    in fresh interpreters with bytecode cached; medians in ms.

    `import restate_saga` loads only the package face; a public name loads its module when first used,
    so the last figure is what a program using all of the API pays on top.
    """
    restate_ms: list[float] = []
    saga_ms: list[float] = []
    face_ms: list[float] = []
    module_file = ""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    with tempfile.TemporaryDirectory() as cwd:  # not the repo: its restate_saga must not shadow the venv's
        # one run that writes the bytecode caches, so that every measured run reads them
        subprocess.run([str(python), "-c", _IMPORT_PROBE], capture_output=True, cwd=cwd, env=env, check=True)
        for _ in range(repeats):
            done = subprocess.run(
                [str(python), "-c", _IMPORT_PROBE], capture_output=True, text=True, cwd=cwd, env=env, check=True
            )
            data = json.loads(done.stdout)
            restate_ms.append(data["restate"] * 1e3)
            saga_ms.append(data["restate_saga"] * 1e3)
            face_ms.append(data["face"] * 1e3)
            module_file = data["file"]
    return {
        "python": str(python),
        "module": module_file,
        "repeats": repeats,
        "import_restate_ms": _median(restate_ms),
        "import_restate_saga_after_restate_ms": _median(saga_ms),
        "import_whole_face_after_package_ms": _median(face_ms),
        "samples_ms": saga_ms,
    }


def this_python() -> Path:
    return Path(sys.executable)
