"""The operator's side without a server: published metadata, plans as JSON, colouring, CLI parsing,
and that importing restate_saga needs none of the `cli` extra."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import restate

from restate_saga import (
    CompensationPolicy,
    SagaContext,
    SagaStepOptions,
    SagaWorkflowOptions,
    StepRetryPolicy,
    create_remote_saga,
    create_saga_restate_workflow,
    create_saga_virtual_object,
    create_saga_workflow,
    fingerprint,
    hybrid_step,
    nested,
    parallel,
    remote_step,
    step,
    to_mermaid,
)
from restate_saga._metadata import FINGERPRINT, KIND, MAX_PLAN_CHARS, ON_FAILURE, PLAN, ROLE, VERSION
from restate_saga._plan_json import plan_from_json, plan_to_json
from restate_saga.admin import colour_mermaid
from restate_saga.cli._durations import parse_since, show_duration

ROOT = Path(__file__).resolve().parents[2]


async def act(n: int) -> int:
    return n + 1


async def undo(n: int) -> None:
    return None


def handler_roles(service: Any) -> dict[str, str | None]:
    return {name: (h.metadata or {}).get(ROLE) for name, h in service.handlers.items()}


def rich_pipeline() -> Any:
    retry = SagaStepOptions(retry=StepRetryPolicy(max_retry_attempts=2, initial_retry_interval=timedelta(seconds=0.5)))
    Payment = create_remote_saga("UnitPayment", step("Authorize", act, undo))
    return (
        step("A", act, undo, options=retry)
        .then(hybrid_step("B", act, undo))
        .then(parallel(step("P1", act, undo), step("P2", act), max_concurrency=1))
        .map(lambda pair: pair[0], label="first")
        .then(step("Slow", act, undo).with_timeout(timedelta(seconds=3)))
        .then(step("Cheap", act, undo).or_else(step("Fast", act, undo)))
        .then(nested("Inner", step("I1", act, undo)))
        .then(remote_step(Payment, "Pay"))
    )


def test_a_plan_round_trips_through_its_json() -> None:
    plan = rich_pipeline().plan
    again = plan_from_json(plan_to_json(plan))
    assert again == plan
    assert fingerprint(again) == fingerprint(plan) and to_mermaid(again) == to_mermaid(plan)


@pytest.mark.parametrize(
    "text", ['{"node": "teleport"}', '{"node": "step", "name": "A", "mode": "lazy"}', "[1, 2]", '{"node": "map"}']
)
def test_json_that_is_no_plan_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        plan_from_json(text)


def test_every_saga_service_publishes_its_kind_and_marks_its_saga_handlers() -> None:
    pipeline = step("A", act, undo).then(step("B", act, undo))
    service = create_saga_workflow("UnitService", pipeline)
    published = service.service_tag.metadata or {}
    assert published[KIND] == "service" and published[ON_FAILURE] == "continue" and published[VERSION]
    assert published[FINGERPRINT] == fingerprint(pipeline.plan)
    assert plan_from_json(published[PLAN]) == pipeline.plan
    assert handler_roles(service) == {"run": "saga"}

    async def code(saga: SagaContext, value: int) -> int:
        return value

    assert plan_from_json((create_saga_workflow("UnitCode", code).service_tag.metadata or {})[PLAN]).name == "code"

    escalating = SagaWorkflowOptions(compensation=CompensationPolicy(on_failure="escalate"))
    cart = create_saga_virtual_object("UnitCart", escalating)

    @cart.handler()
    async def add(saga: SagaContext, ctx: restate.ObjectContext, value: int) -> int:
        return value

    @cart.handler(kind="shared")
    async def peek(ctx: restate.ObjectSharedContext) -> int:
        return 0

    meta = cart.service_tag.metadata or {}
    assert meta[KIND] == "virtual_object" and meta[ON_FAILURE] == "escalate" and PLAN not in meta
    assert handler_roles(cart) == {"status": None, "add": "saga", "peek": None}

    flow = create_saga_restate_workflow("UnitFlow")

    @flow.main()
    async def run(saga: SagaContext, ctx: restate.WorkflowContext, value: int) -> int:
        return value

    @flow.handler()
    async def signal(ctx: restate.WorkflowSharedContext) -> None:
        return None

    assert (flow.service_tag.metadata or {})[KIND] == "workflow"
    assert handler_roles(flow) == {"run": "saga", "signal": None}

    remote = create_remote_saga("UnitRemote", pipeline)
    assert (remote.service_tag.metadata or {})[KIND] == "remote"
    assert handler_roles(remote) == {"run": "saga", "compensate": "compensate"}


def test_a_plan_too_large_to_publish_keeps_its_fingerprint() -> None:
    chain = step("S0", act, undo)
    for number in range(1, 400):
        chain = chain.then(step(f"S{number}", act, undo))
    assert len(plan_to_json(chain.plan)) > MAX_PLAN_CHARS
    published = create_saga_workflow("UnitLong", chain).service_tag.metadata or {}
    assert PLAN not in published and published[FINGERPRINT] == fingerprint(chain.plan)


def test_colouring_adds_classes_only_for_nodes_it_knows() -> None:
    plan = (step("A", act, undo).then(step("B", act, undo)).then(step("C", act, undo))).plan
    drawn = to_mermaid(plan)
    assert colour_mermaid(drawn, {"Nope": "failed"}) == drawn
    coloured = colour_mermaid(
        drawn, {"A": "succeeded", "B": "succeeded", "C": "failed"}, {"A": "succeeded"}, undone=["B"], ended=None
    )
    assert coloured.startswith(drawn.rstrip("\n"))
    added = coloured[len(drawn) :].splitlines()
    assert "    class s0,s1,u0 succeeded" in added and "    class s2 failed" in added
    assert "    class u1 undone" in added
    parked = colour_mermaid(drawn, {"A": "succeeded"}, {}, parked="B")
    assert "    class u1 parked" in parked.splitlines()


def test_since_spans_and_times() -> None:
    assert parse_since("90s") == timedelta(seconds=90)
    assert parse_since("15m") == timedelta(minutes=15)
    assert parse_since("1.5h") == timedelta(hours=1.5)
    assert parse_since("2d") == timedelta(days=2)
    assert parse_since("2025-01-31T12:00") == datetime(2025, 1, 31, 12, tzinfo=UTC)
    with pytest.raises(ValueError, match="expected a span like"):
        parse_since("yesterday")
    assert [show_duration(timedelta(seconds=s)) for s in (0.012, 3.44, 302, 7500, 200000)] == [
        "12 ms",
        "3.4 s",
        "5m 02s",
        "2h 05m",
        "2d 07h",
    ]
    assert show_duration(None) == "-"


def test_importing_restate_saga_needs_none_of_the_cli_extra() -> None:
    script = textwrap.dedent(
        """
        import importlib.abc, sys

        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("httpx", "typer", "rich"):
                    raise ImportError(f"No module named {name!r}")
                return None

        sys.meta_path.insert(0, Block())
        import restate_saga, restate_saga.admin, restate_saga.cli
        from restate_saga.admin import MissingExtraError, SagaAdmin
        try:
            SagaAdmin("http://127.0.0.1:9")
        except MissingExtraError as error:
            print(error)
        restate_saga.cli.main()
        """
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert (
        done.stdout.strip()
        == "restate_saga.admin and the restate-saga CLI need 'httpx': pip install 'restate_saga[cli]'"
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith("error: restate-saga needs the cli extra: pip install 'restate_saga[cli]'")
