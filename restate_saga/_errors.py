"""The exceptions restate_saga raises.

Every one derives from `RestateSagaError` and keeps its builtin or SDK base: terminal ones are
`restate.TerminalError`s, a definition error is a `ValueError`. Catch `RestateSagaError` for
everything of this library, or the base for just that kind.
"""

from __future__ import annotations

from dataclasses import dataclass

from restate import TerminalError


class RestateSagaError(Exception):
    """The root of every exception restate_saga raises."""


class MissingExtraError(RestateSagaError, ImportError):
    """An optional part of restate_saga needs an extra that is not installed; the message says which."""

    def __init__(self, feature: str, extra: str, missing_module: str | None) -> None:
        super().__init__(
            f"the {extra!r} extra is needed for {feature} but is not installed (no module {missing_module!r}): "
            f"pip install 'restate_saga[{extra}]'",
            name=missing_module,
        )
        self.feature = feature
        self.extra = extra


class StepDefinitionError(RestateSagaError, ValueError):
    """A step, pipeline or saga service was defined wrongly; raised when it is built, before any run."""


class NoMainHandlerError(StepDefinitionError, RuntimeError):
    """A long-running workflow was used (`run_as_step`) before a `@main()` handler was registered.

    A `RuntimeError` too, as in restate-saga 0.1.0.
    """


class StepFailedError(RestateSagaError, TerminalError):
    """A step failed for good (terminal error, retries exhausted or a permanent failure)."""

    def __init__(self, step: str, reason: str, status_code: int = 500) -> None:
        super().__init__(f"step {step!r} failed: {reason}", status_code)
        self.step = step
        self.reason = reason


class StepTimeoutError(StepFailedError):
    """A step (or parallel group) did not finish before its durable deadline; status 408."""

    def __init__(self, step: str, timeout_seconds: float) -> None:
        super().__init__(step, f"timed out after {timeout_seconds:g}s", 408)
        self.timeout_seconds = timeout_seconds


class AttemptRejectedError(RestateSagaError, TerminalError):
    """Raised by an interceptor's attempt hook, before it proceeds, to fail that attempt for good on
    purpose (injected faults in tests, a kill switch): the step (or compensation) then fails with
    this message and status. Any other exception of an interceptor is logged and ignored."""

    def __init__(self, message: str, status_code: int = 500) -> None:
        super().__init__(message, status_code)


class JournalValueMismatchError(StepFailedError):
    """A step's journaled value does not match the step's declared type, and nothing was journaled
    after it: the step fails for good and the saga rolls back.

    `what` is "output" or "compensation data", `problems` names each offending field. When the
    journal holds more entries after the value (the usual case after a redeploy), a roll-back would
    contradict the journal: `StepDataChangedError` is raised instead.
    """

    def __init__(self, step: str, what: str, type_name: str, problems: str) -> None:
        super().__init__(
            step,
            f"its journaled {what} does not match the declared type {type_name}: {problems}. If a redeploy "
            "changed this step's data model under in-flight invocations, give the step an upgrade from the "
            "earlier shape (Step.with_upgrade), or serve the earlier version as its own deployment",
        )
        self.what = what
        self.type_name = type_name
        self.problems = problems


class StepDataChangedError(RestateSagaError, RuntimeError):
    """An in-flight invocation replays a journaled value that does not match its step's declared type
    any more (a redeploy changed the model: a new required field, a changed type).

    Deliberately not terminal, like `PlanChangedError`: the journal already holds what the saga did
    after that step, so neither going on nor rolling back can agree with it. Restate retries the
    invocation — replaying its journal, running no action again — and, under its default retry
    policy, pauses it. Deploy an upgrade for the step (`Step.with_upgrade`) and the invocation goes
    on at its next retry (or resume it: `PATCH /invocations/{id}/resume`), serve the earlier version,
    or kill it.
    """

    def __init__(self, step: str, what: str, type_name: str, problems: str) -> None:
        super().__init__(
            f"step {step!r}: this invocation's journaled {what} does not match the declared type {type_name}: "
            f"{problems}. The journal holds later entries, so the saga can neither go on nor roll back under "
            "this deployment; no action runs again while it waits. Deploy an upgrade for the step "
            "(Step.with_upgrade) and resume the invocation, serve the earlier version, or kill it"
        )
        self.step = step
        self.what = what
        self.type_name = type_name
        self.problems = problems


class ValueLimitError(RestateSagaError, TerminalError):
    """A value too large (`kind` "bytes") or too deeply nested (`kind` "levels") to be journaled or sent.

    Terminal, and raised before the value reaches restate-server, which would otherwise refuse the
    message and retry the invocation — running the step's action again — until it is paused.
    """

    def __init__(self, message: str, limit: int, kind: str, status_code: int = 500) -> None:
        super().__init__(message, status_code)
        self.limit = limit
        self.kind = kind


class InvalidInputError(RestateSagaError, TerminalError):
    """An input did not validate against its declared type; always status 400."""

    def __init__(self, target: str, details: str) -> None:
        super().__init__(f"invalid input for {target}: {details}", 400)
        self.target = target
        self.details = details


class ContextMisuseError(RestateSagaError, TerminalError):
    """The Restate context was used inside a step's action or compensation, where it must not be."""

    def __init__(self, step: str, attribute: str) -> None:
        super().__init__(
            f"step {step!r} used ctx.{attribute} inside its action: a step's action runs inside one "
            "durable ctx.run_typed entry, where the Restate context must not be used. Do the durable "
            "work (calls, sleeps, state) in the saga handler between steps instead.",
            500,
        )
        self.step = step
        self.attribute = attribute


class PlanChangedError(RestateSagaError, RuntimeError):
    """An in-flight invocation started under another plan than the deployed one.

    Deliberately not terminal: Restate keeps retrying (then pauses) instead of rolling back with
    code that no longer matches the journal; register the old deployment or kill the invocation.
    """

    def __init__(self, saga: str, started: str, deployed: str) -> None:
        super().__init__(
            f"saga {saga!r}: this invocation started with plan {started} but the deployed plan is {deployed}. "
            "Serve the previous version for in-flight invocations (register it as its own deployment) "
            "or kill them; restate_saga will not replay a journal against a different plan."
        )
        self.saga = saga
        self.started = started
        self.deployed = deployed


@dataclass(frozen=True, slots=True)
class CompensationFailure:
    """One compensation that failed terminally during a rollback."""

    step: str
    reason: str


class SagaCompensatedError(RestateSagaError, TerminalError):
    """A saga failed and was rolled back; names the original failure and any failed compensation.

    Keeps the status code of the original failure (a 4xx stays a 4xx).
    """

    def __init__(
        self,
        reason: str,
        status_code: int,
        failed_step: str | None,
        compensation_failures: tuple[CompensationFailure, ...] = (),
        not_compensated: tuple[str, ...] = (),
    ) -> None:
        message = reason
        if compensation_failures:
            listed = "; ".join(f"{f.step!r} ({f.reason})" for f in compensation_failures)
            message = f"{message} [compensations that failed: {listed}]"
        if not_compensated:
            message = f"{message} [left undone after the rollback stopped: {', '.join(map(repr, not_compensated))}]"
        super().__init__(message, status_code)
        self.reason = reason
        self.failed_step = failed_step
        self.compensation_failures = compensation_failures
        self.not_compensated = not_compensated
