"""What interceptors cost per step, in process (FakeContext): none, a no-op one, OpenTelemetry.

    .venv/bin/python -m benchmarks.interceptors [--steps 1000] [--rounds 30]

Runs the same 1,000-step pipeline (success, and last step failing) with no interceptor, with one
that overrides every hook and does nothing, and with `OpenTelemetryInterceptor` on the
OpenTelemetry SDK (spans recorded, not exported). Runs are interleaved round by round and timed
in CPU seconds of this process (steadier than wall time on a shared machine); the figures are
medians per step and ratios against "none" measured in the same process.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import time
from collections.abc import Sequence
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider
from restate import TerminalError

from benchmarks.apps.ours import chain_pipeline
from benchmarks.workloads import SAGA_INPUT
from restate_saga import (
    CompensationAttempt,
    CompensationDone,
    CompensationFailed,
    Proceed,
    RollbackStarted,
    SagaFinished,
    SagaInterceptor,
    SagaStarted,
    Step,
    StepAttempt,
    StepDone,
    StepFailed,
)
from restate_saga.ext.otel import OpenTelemetryInterceptor
from restate_saga.testing import FakeContext

__all__ = ["NoOp", "measure"]


class NoOp(SagaInterceptor):
    """Overrides every hook and does nothing (the cost of the chain itself)."""

    async def step_attempt(self, attempt: StepAttempt, proceed: Proceed) -> None:
        await proceed()

    async def compensation_attempt(self, attempt: CompensationAttempt, proceed: Proceed) -> None:
        await proceed()

    def saga_started(self, event: SagaStarted) -> None: ...
    def step_done(self, event: StepDone) -> None: ...
    def step_failed(self, event: StepFailed) -> None: ...
    def rollback_started(self, event: RollbackStarted) -> None: ...
    def compensation_done(self, event: CompensationDone) -> None: ...
    def compensation_failed(self, event: CompensationFailed) -> None: ...
    def saga_finished(self, event: SagaFinished) -> None: ...


async def _once(pipeline: Step[Any, Any, object], interceptors: Sequence[SagaInterceptor]) -> float:
    fake = FakeContext()
    started = time.process_time()
    try:
        await pipeline.run(fake.as_context(), dict(SAGA_INPUT), interceptors=interceptors)
    except TerminalError:
        pass
    return time.process_time() - started


async def _interleaved(
    pipeline: Step[Any, Any, object], variants: dict[str, Sequence[SagaInterceptor]], rounds: int
) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {name: [] for name in variants}
    for interceptors in variants.values():  # warm-up
        await _once(pipeline, interceptors)
    names = list(variants)
    for index in range(rounds):
        for name in names[index % len(names) :] + names[: index % len(names)]:
            gc.collect()
            times[name].append(await _once(pipeline, variants[name]))
    return times


def measure(steps: int, rounds: int) -> list[dict[str, Any]]:
    """Per-step CPU time of each variant, success and failure paths."""
    otel = OpenTelemetryInterceptor(tracer_provider=TracerProvider(), meter_provider=MeterProvider())
    variants: dict[str, Sequence[SagaInterceptor]] = {"none": (), "no-op": (NoOp(),), "opentelemetry": (otel,)}
    results: list[dict[str, Any]] = []
    for fail in (False, True):
        pipeline = chain_pipeline(steps, fail)
        times = asyncio.run(_interleaved(pipeline, variants, rounds))
        base = statistics.median(times["none"])
        for name, samples in times.items():
            median = statistics.median(samples)
            results.append(
                {
                    "steps": steps,
                    "fail": fail,
                    "interceptors": name,
                    "us_per_step": median / steps * 1e6,
                    "ratio_to_none": median / base,
                    "runs": len(samples),
                }
            )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.interceptors")
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()
    results = measure(args.steps, args.rounds)
    if args.json:
        print(json.dumps(results, indent=1))
        return
    print("| steps | path | interceptors | CPU us/step | ratio to none |\n| ---: | :--- | :--- | ---: | ---: |")
    for row in results:
        path = "last fails" if row["fail"] else "success"
        figures = f"{row['us_per_step']:.2f} | {row['ratio_to_none']:.2f}"
        print(f"| {row['steps']} | {path} | {row['interceptors']} | {figures} |")


if __name__ == "__main__":
    main()
