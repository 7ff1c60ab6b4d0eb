"""The in-process cost per step of this tree's restate_saga against another commit's, in one process.

    .venv/bin/python -m benchmarks.versus main [--steps 1000] [--rounds 40]

`git archive <ref> restate_saga` is unpacked into a temporary folder under the package name
`restate_saga_base` (its imports are relative, so both versions load side by side). The same
pipeline (success, and last step failing) is built with each and run on each one's FakeContext,
interleaved round by round, timed in CPU seconds of this process; the figures are medians (and
minimums) per step and the ratio new / base. No interceptor is configured: this is how a change
to the engine is checked to cost nothing measurable.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib
import io
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from restate import TerminalError

from benchmarks.harness import REPO

__all__ = ["compare"]


def _load_base(ref: str, folder: Path) -> tuple[ModuleType, ModuleType]:
    archive = subprocess.run(["git", "archive", ref, "restate_saga"], cwd=REPO, capture_output=True, check=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(folder, filter="data")
    (folder / "restate_saga").rename(folder / "restate_saga_base")
    sys.path.insert(0, str(folder))
    return importlib.import_module("restate_saga_base"), importlib.import_module("restate_saga_base.testing")


def _pipeline(package: ModuleType, steps: int, fail: bool) -> Any:
    async def undo(data: dict[str, Any]) -> None:
        del data

    def leaf(index: int) -> Any:
        async def action(data: dict[str, Any]) -> dict[str, Any]:
            if fail and index == steps:
                raise TerminalError("declined by the last step")
            return data

        return package.step(f"Step{index}", action, undo)

    pipeline = leaf(1)
    for index in range(2, steps + 1):
        pipeline = pipeline.then(leaf(index))
    return pipeline


async def _once(pipeline: Any, fake_type: Any) -> float:
    fake = fake_type()
    started = time.process_time()
    try:
        await pipeline.run(fake.as_context(), {"order": 1})
    except TerminalError:
        pass
    return time.process_time() - started


async def _interleaved(pairs: list[tuple[Any, Any]], rounds: int) -> list[list[float]]:
    times: list[list[float]] = [[] for _ in pairs]
    for pipeline, fake_type in pairs:  # warm-up
        await _once(pipeline, fake_type)
    for index in range(rounds):
        order = list(range(len(pairs)))
        if index % 2:
            order.reverse()
        for which in order:
            gc.collect()
            times[which].append(await _once(*pairs[which]))
    return times


def compare(ref: str, steps: int, rounds: int) -> list[dict[str, Any]]:
    """Per-step CPU time of `ref`'s package and of this tree's, success and failure paths."""
    import restate_saga
    import restate_saga.testing

    with tempfile.TemporaryDirectory() as folder:
        base, base_testing = _load_base(ref, Path(folder))
        results: list[dict[str, Any]] = []
        for fail in (False, True):
            pairs = [
                (_pipeline(base, steps, fail), base_testing.FakeContext),
                (_pipeline(restate_saga, steps, fail), restate_saga.testing.FakeContext),
            ]
            old, new = asyncio.run(_interleaved(pairs, rounds))
            results.append(
                {
                    "steps": steps,
                    "fail": fail,
                    "base_us_per_step": statistics.median(old) / steps * 1e6,
                    "new_us_per_step": statistics.median(new) / steps * 1e6,
                    "ratio_median": statistics.median(new) / statistics.median(old),
                    "ratio_min": min(new) / min(old),
                    "runs": len(new),
                }
            )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.versus")
    parser.add_argument("ref", help="the commit to compare with (e.g. main)")
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()
    print(f"| steps | path | {args.ref} CPU us/step | this tree CPU us/step | ratio (median) | ratio (min) |")
    print("| ---: | :--- | ---: | ---: | ---: | ---: |")
    for row in compare(args.ref, args.steps, args.rounds):
        path = "last fails" if row["fail"] else "success"
        figures = f"{row['base_us_per_step']:.2f} | {row['new_us_per_step']:.2f}"
        print(f"| {row['steps']} | {path} | {figures} | {row['ratio_median']:.3f} | {row['ratio_min']:.3f} |")


if __name__ == "__main__":
    main()
