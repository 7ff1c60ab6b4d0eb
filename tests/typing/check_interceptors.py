"""Type tests for interceptors: typed hook inputs, configuration, and what must stay an error."""

from __future__ import annotations

from typing import assert_type

import restate

from restate_saga import (
    FailureCause,
    Proceed,
    SagaFinished,
    SagaInterceptor,
    SagaOutcome,
    SagaWorkflowOptions,
    Step,
    StepAttempt,
    register_interceptors,
    run_saga,
)
from restate_saga.ext.otel import OpenTelemetryInterceptor
from restate_saga.testing import FaultInjector


class Timing(SagaInterceptor):
    async def step_attempt(self, attempt: StepAttempt, proceed: Proceed) -> None:
        assert_type(attempt.attempt, int)
        assert_type(attempt.idempotency_key, str)
        assert_type(attempt.saga.invocation_id, str)
        await proceed()

    def saga_finished(self, event: SagaFinished) -> None:
        assert_type(event.outcome, SagaOutcome)
        assert_type(event.cause, FailureCause | None)


options = SagaWorkflowOptions(interceptors=[Timing(), OpenTelemetryInterceptor(), FaultInjector()])
register_interceptors(Timing())


async def handler(ctx: restate.Context, pipeline: Step[int, str, None]) -> None:
    assert_type(await pipeline.run(ctx, 1, interceptors=[Timing()], name="Numbers"), str)

    async def body(saga: object, value: int) -> str:
        return str(value)

    assert_type(await run_saga(ctx, body, 1, interceptors=[Timing()]), str)
    await pipeline.run(ctx, 1, [Timing()])  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]  # keyword-only


class WrongHook(SagaInterceptor):
    def step_done(self, event: int) -> None:  # type: ignore[override]  # pyright: ignore[reportIncompatibleMethodOverride]
        del event


register_interceptors(object())  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]  # only interceptors
