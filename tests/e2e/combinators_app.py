"""Services for the combinator tests: parallel groups, fallbacks, timeouts, causes, remote sub-sagas."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import restate
from restate import TerminalError

from restate_saga import (
    FailureCause,
    SagaContext,
    create_remote_saga,
    create_saga_workflow,
    hybrid_step,
    parallel,
    remote_step,
    step,
)
from tests.ledger import held, record, started, until

Data = dict[str, Any]


def branch(name: str, *, hybrid: bool = False) -> Any:
    """A step that records start/done, may be slow or fail (per input), and records its undo and cause."""

    async def action(data: Data) -> Data:
        record(data["run"], f"{name} start")
        await asyncio.sleep(float(data.get("delay", {}).get(name, 0)))
        if name in data.get("hold", []):  # until the test releases it (e.g. once its deadline fired)
            await held(data["run"], name)
        if name in data.get("fail", []):
            record(data["run"], f"{name} failed")
            raise TerminalError(f"{name} refused", 409)
        record(data["run"], f"{name} done")
        return {**data, "last": name}

    async def undo(data: Data, failed: bool = False, cause: FailureCause | None = None) -> None:
        assert cause is not None
        record(data["run"], f"undo {name} start failed={failed} cause={cause.kind}:{cause.failed_step}")
        barrier = int(data.get("undo_barrier", 0))
        if barrier:  # wait until this many undos have started: only concurrent undos get here
            await until(lambda: started(data["run"], "undo ") >= barrier, f"{barrier} undos started")
        record(data["run"], f"undo {name} done")

    return (hybrid_step if hybrid else step)(name, action, undo)


def outputs(results: tuple[Data, ...]) -> list[str]:
    return [r["last"] for r in results]


async def finish(results: tuple[Data, Data, Data, Data]) -> list[str]:
    record(results[0]["run"], "Finish")
    return [r["last"] for r in results]


ParallelSaga = create_saga_workflow(
    "ParallelSaga",
    branch("Start")
    .then(parallel(branch("A"), branch("B"), branch("C"), branch("D", hybrid=True)))
    .then(step("Finish", finish)),
)


async def finish_any(results: tuple[Data, ...]) -> list[str]:
    record(results[0]["run"], "Finish")
    return [r["last"] for r in results]


async def first_of(results: tuple[Data, ...]) -> Data:
    return results[0]


ParallelUndo = create_saga_workflow(
    "ParallelUndo",
    branch("Start")
    .then(parallel(branch("A"), branch("B"), branch("C"), compensation="parallel"))
    .then(step("FirstOf", first_of))
    .then(branch("Last")),
)
Throttled = create_saga_workflow(
    "Throttled", parallel(branch("A"), branch("B"), branch("C"), max_concurrency=1).then(step("Finish", finish_any))
)

# --- fallback ------------------------------------------------------------------------------------

Fallback = create_saga_workflow(
    "FallbackSaga",
    branch("Start").then(branch("P1").then(branch("P2")).or_else(branch("Alt"))).then(branch("End")),
)

# --- timeout ---------------------------------------------------------------------------------------

TimeoutSaga = create_saga_workflow(
    "TimeoutSaga",
    branch("Start").then(branch("Slow", hybrid=True).with_timeout(timedelta(milliseconds=300))).then(branch("End")),
)
RelaxedTimeoutSaga = create_saga_workflow(
    "RelaxedTimeoutSaga", branch("Start").then(branch("Fast").with_timeout(timedelta(seconds=30))).then(branch("End"))
)
GroupTimeout = create_saga_workflow(
    "GroupTimeout",
    branch("Start").then(parallel(branch("A"), branch("B")).with_timeout(timedelta(milliseconds=300))),
)

# --- cancellation cause --------------------------------------------------------------------------


async def wait_then(saga: SagaContext, data: Data) -> Data:
    await branch("Start")(saga, data)
    record(data["run"], "waiting")
    await saga.ctx.sleep(timedelta(seconds=60))
    return data


CancelCause = create_saga_workflow("CancelCause", wait_then)

# --- remote sub-saga ------------------------------------------------------------------------------

PaymentSaga = create_remote_saga("PaymentSaga", branch("Authorize").then(branch("Capture")))
OrderWithRemote = create_saga_workflow(
    "OrderWithRemote", branch("Reserve").then(remote_step(PaymentSaga)).then(branch("Ship"))
)

services: list[Any] = [
    ParallelSaga,
    ParallelUndo,
    Throttled,
    Fallback,
    TimeoutSaga,
    RelaxedTimeoutSaga,
    GroupTimeout,
    CancelCause,
    PaymentSaga,
    OrderWithRemote,
]

# --- escalation: a compensation that cannot succeed parks the saga for an operator ---------------

from restate_saga import CompensationPolicy, SagaWorkflowOptions, create_saga_restate_workflow  # noqa: E402

_undo_attempts: dict[str, int] = {}


async def fragile(data: Data) -> Data:
    record(data["run"], "Fragile")
    return data


async def undo_fragile(data: Data) -> None:
    run = data["run"]
    _undo_attempts[run] = _undo_attempts.get(run, 0) + 1
    record(run, f"undo Fragile attempt {_undo_attempts[run]}")
    if _undo_attempts[run] == 1:
        raise TerminalError("ledger locked")


escalating = create_saga_restate_workflow(
    "Escalating", SagaWorkflowOptions(compensation=CompensationPolicy(on_failure="escalate"))
)


@escalating.main("run")
async def escalating_run(saga: SagaContext, ctx: restate.WorkflowContext, data: Data) -> Data:
    data = await branch("Start")(saga, data)
    data = await step("Fragile", fragile, undo_fragile)(saga, data)
    return await branch("Doomed")(saga, data)


services.append(escalating)
