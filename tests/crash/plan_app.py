"""A saga whose plan depends on $PLAN_VERSION, to test redeploys under in-flight invocations."""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

import restate

from restate_saga import SagaContext, SagaWorkflowOptions, as_step, create_saga_workflow, step


async def act(value: str) -> str:
    return value


async def undo(value: str) -> None:
    return None


async def wait(saga: SagaContext, value: str) -> str:
    # "in flight" waits for longer than the test runs: the test resumes it explicitly after the redeploy
    await saga.ctx.sleep(timedelta(seconds=600 if value == "in flight" else 0.05))
    return value


last = "B" if os.environ.get("PLAN_VERSION", "1") == "1" else "B2"
pipeline = step("A", act, undo).then(as_step(wait, name="Wait")).then(step(last, act))
Versioned = create_saga_workflow("Versioned", pipeline, SagaWorkflowOptions(record_plan_fingerprint=True))
app: Any = restate.app(services=[Versioned])
