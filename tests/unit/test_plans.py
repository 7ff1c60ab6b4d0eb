"""Plans as data: printing, diagrams, fingerprints, build-time validation, failure injection."""

from __future__ import annotations

import warnings
from datetime import timedelta

import pytest
from restate import TerminalError

from restate_saga import (
    FiniteCompensationRetryWarning,
    ParallelPlan,
    SagaContext,
    SagaStepOptions,
    SequencePlan,
    StepDefinitionError,
    StepPlan,
    StepRetryPolicy,
    create_saga_workflow,
    hybrid_step,
    parallel,
    step,
)
from restate_saga.testing import check_compensations


async def act(n: int) -> int:
    return n + 1


async def undo(n: int) -> None:
    return None


def checkout():
    return (
        step("CreateOrder", act, undo)
        .then(hybrid_step("Charge", act, undo))
        .then(parallel(step("Ship", act, undo), step("Notify", act)))
    )


def test_plan_is_frozen_data_that_prints_as_a_tree() -> None:
    plan = checkout().plan
    assert isinstance(plan, SequencePlan)
    assert plan.parts[0] == StepPlan("CreateOrder", True, "strict", None, None)
    assert plan.parts[1] == StepPlan("Charge", True, "hybrid", None, None)
    assert isinstance(plan.parts[2], ParallelPlan)
    assert str(checkout()) == "\n".join(
        [
            "step 'CreateOrder' (undo: strict)",
            "step 'Charge' (undo: hybrid)",
            "parallel 'parallel(Ship, Notify)' (undo in reverse):",
            "  step 'Ship' (undo: strict)",
            "  step 'Notify' (no undo)",
        ]
    )
    with pytest.raises(AttributeError):
        plan.parts = ()  # type: ignore[misc]


def test_mermaid_diagram_of_a_known_pipeline() -> None:
    assert checkout().to_mermaid() == "\n".join(
        [
            "flowchart LR",
            '    s0["CreateOrder"]',
            '    s1["Charge"]',
            '    s2["Ship"]',
            '    s3["Notify"]',
            '    done(["done"])',
            '    u2["undo Ship"]',
            '    u1["undo Charge"]',
            '    u0["undo CreateOrder"]',
            '    rolled_back(["rolled back"])',
            "    s0 --> s1",
            "    s1 --> s2",
            "    s1 --> s3",
            "    s2 --> done",
            "    s3 --> done",
            "    u2 -.-> u1",
            "    u1 -.-> u0",
            "    u0 -.-> rolled_back",
            "    s0 -. fails .-> rolled_back",
            "    s1 -. fails .-> u1",
            "    s2 -. fails .-> u1",
            "    s3 -. fails .-> u2",
            "",
        ]
    )


def test_dot_diagram_of_a_known_pipeline() -> None:
    dot = step("A", act, undo).then(step("B", act)).to_dot()
    assert dot == "\n".join(
        [
            "digraph saga {",
            "    rankdir=LR;",
            "    node [shape=box];",
            '    s0 [label="A"];',
            '    s1 [label="B"];',
            '    done [label="done", shape=oval];',
            '    u0 [label="undo A", style=dashed];',
            '    rolled_back [label="rolled back", shape=oval];',
            "    s0 -> s1;",
            "    s1 -> done;",
            "    u0 -> rolled_back [style=dashed];",
            '    s0 -> rolled_back [style=dotted, label="fails"];',
            '    s1 -> u0 [style=dotted, label="fails"];',
            "}",
            "",
        ]
    )


def test_fingerprint_is_stable_and_changes_with_the_shape_not_the_retry_options() -> None:
    assert checkout().fingerprint == checkout().fingerprint
    retried = step("A", act, undo, options=SagaStepOptions(retry=StepRetryPolicy(max_retry_attempts=3)))
    assert retried.fingerprint == step("A", act, undo).fingerprint
    assert step("A", act, undo).fingerprint != step("B", act, undo).fingerprint
    assert step("A", act, undo).fingerprint != step("A", act).fingerprint
    assert step("A", act, undo).fingerprint != hybrid_step("A", act, undo).fingerprint
    assert len(checkout().fingerprint) == 16


def test_duplicate_step_names_along_one_path_are_refused_when_the_service_is_built() -> None:
    pipeline = step("A", act, undo).then(step("B", act)).then(step("A", act))
    with pytest.raises(StepDefinitionError, match="step name 'A' appears twice along one path"):
        create_saga_workflow("Dup", pipeline)
    # the two branches of a fallback are different paths
    create_saga_workflow("Alt", step("A", act).or_else(step("A", act)).then(step("B", act)))
    with pytest.raises(StepDefinitionError, match="branch names must differ"):
        parallel(step("X", act), step("X", act))


def test_with_timeout_needs_a_single_step_or_group_and_a_positive_duration() -> None:
    with pytest.raises(StepDefinitionError, match="single step or a parallel group"):
        step("A", act).then(step("B", act)).with_timeout(timedelta(seconds=1))
    with pytest.raises(StepDefinitionError, match="must be positive"):
        step("A", act).with_timeout(timedelta(0))


def test_finite_compensation_retry_warns_unless_acknowledged() -> None:
    with pytest.warns(FiniteCompensationRetryWarning, match="compensation_retry is finite"):
        SagaStepOptions(compensation_retry=StepRetryPolicy(max_retry_attempts=5))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        SagaStepOptions(compensation_retry=StepRetryPolicy(max_retry_attempts=5), allow_compensation_to_give_up=True)
        SagaStepOptions(compensation_retry=StepRetryPolicy(initial_retry_interval=timedelta(seconds=1)))


async def test_failure_injection_passes_on_a_correct_saga() -> None:
    report = await check_compensations(checkout(), 0, cancellation=True)
    assert report.ok, str(report)
    by_step = {(o.kind, o.step): o.actual for o in report.outcomes}
    assert by_step[("failure", "CreateOrder")] == ()
    assert by_step[("failure", "Charge")] == ("compensate:Charge", "compensate:CreateOrder")  # hybrid: own undo
    assert by_step[("failure", "Notify")] == ("compensate:Ship", "compensate:Charge", "compensate:CreateOrder")
    assert by_step[("cancellation", "CreateOrder")] == ("compensate:CreateOrder",)
    assert len(report.outcomes) == 8


async def test_failure_injection_finds_a_broken_compensation() -> None:
    async def broken_undo(n: int) -> None:
        raise KeyError("order_id")  # a bug: the data has no such key

    saga = step("A", act, undo).then(step("B", act, broken_undo)).then(step("C", act))
    report = await check_compensations(saga, 0)
    assert not report.ok
    assert [o.step for o in report.problems] == ["C"]
    assert "KeyError" in (report.problems[0].problem or "")
    with pytest.raises(AssertionError, match="failure at #2 'C'"):
        report.raise_for_problems()


async def test_failure_injection_finds_handler_code_that_forgets_to_compensate() -> None:
    async def careless(saga: SagaContext, n: int) -> int:
        n = await step("A", act, undo)(saga, n)
        try:
            return await step("B", act)(saga, n)
        except TerminalError:
            saga.take()  # "forgets" what it did
            raise

    report = await check_compensations(careless, 0)
    assert [o.step for o in report.problems] == ["B"]
    assert "expected compensations ['compensate:A'], got []" in (report.problems[0].problem or "")


async def test_pivot_builder_runs_and_refuses_steps_that_could_give_up_after_the_pivot() -> None:
    from typing import Any, cast

    from restate_saga import compensatable
    from restate_saga.testing import FakeContext

    saga = compensatable(step("Reserve", act, undo)).pivot(step("Charge", act, undo)).then(step("Email", act)).build()
    assert await saga.run(FakeContext().as_context(), 1) == 4
    limited = step("Email", act, options=SagaStepOptions(retry=StepRetryPolicy(max_retry_attempts=2)))
    with pytest.raises(StepDefinitionError, match="finite retry policy"):
        compensatable(step("Reserve", act, undo)).pivot(step("Charge", act, undo)).then(limited)
    with pytest.raises(StepDefinitionError, match="has a compensation"):
        compensatable(step("A", act)).pivot(step("B", act)).then(cast(Any, step("C", act, undo)))
