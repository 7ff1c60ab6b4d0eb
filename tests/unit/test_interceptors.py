"""The interceptor chain on the in-process double: order, inputs, isolation, vetoes, replays, logs."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from restate import TerminalError

from restate_saga import (
    CompensationAttempt,
    CompensationDone,
    CompensationFailed,
    Proceed,
    RollbackStarted,
    SagaCompensatedError,
    SagaFinished,
    SagaInterceptor,
    SagaStarted,
    SagaStepOptions,
    SagaWorkflowOptions,
    Step,
    StepAttempt,
    StepDone,
    StepFailed,
    StepResponse,
    StepRetryPolicy,
    clear_interceptors,
    register_interceptors,
    registered_interceptors,
    step,
    unregister_interceptors,
)
from restate_saga.testing import FakeContext, FaultInjector

Data = dict[str, Any]


class Recorder(SagaInterceptor):
    """Records every hook as `(label, hook, detail)`."""

    def __init__(self, label: str, log: list[tuple[str, str, str]]) -> None:
        self.label = label
        self.log = log

    def _add(self, hook: str, detail: str = "") -> None:
        self.log.append((self.label, hook, detail))

    async def step_attempt(self, attempt: StepAttempt, proceed: Proceed) -> None:
        self._add("step_attempt", f"{attempt.step}#{attempt.attempt}@{attempt.position}")
        try:
            await proceed()
        except Exception as error:
            self._add("step_attempt_failed", f"{attempt.step}:{type(error).__name__}")
            raise

    async def compensation_attempt(self, attempt: CompensationAttempt, proceed: Proceed) -> None:
        self._add("compensation_attempt", f"{attempt.step}:{attempt.cause.kind}")
        await proceed()

    def saga_started(self, event: SagaStarted) -> None:
        self._add("saga_started", event.saga.name)

    def step_done(self, event: StepDone) -> None:
        self._add("step_done", event.step)

    def step_failed(self, event: StepFailed) -> None:
        self._add("step_failed", event.step)

    def rollback_started(self, event: RollbackStarted) -> None:
        self._add("rollback_started", ",".join(event.steps))

    def compensation_done(self, event: CompensationDone) -> None:
        self._add("compensation_done", event.step)

    def compensation_failed(self, event: CompensationFailed) -> None:
        self._add("compensation_failed", event.step)

    def saga_finished(self, event: SagaFinished) -> None:
        self._add("saga_finished", event.outcome)


def pipeline(ran: list[str], *, fail_at: str = "", undo_fails: str = "") -> Step[Data, Data, None]:
    def make(name: str) -> Step[Data, Data, Data]:
        async def action(data: Data) -> Data:
            ran.append(name)
            if name == fail_at:
                raise TerminalError(f"{name} refused", 409)
            return data

        async def undo(data: Data) -> None:
            ran.append(f"undo {name}")
            if name == undo_fails:
                raise TerminalError(f"undo {name} refused")

        return step(name, action, undo)

    return make("A").then(make("B")).then(make("C"))


@pytest.fixture(autouse=True)
def no_global_interceptors() -> Iterator[None]:
    clear_interceptors()
    yield
    clear_interceptors()


async def test_hooks_run_in_order_global_first_with_every_event_of_a_compensated_saga() -> None:
    log: list[tuple[str, str, str]] = []
    register_interceptors(Recorder("global", log))
    ran: list[str] = []
    fake = FakeContext(invocation_id="inv_1")
    with pytest.raises(SagaCompensatedError):
        await pipeline(ran, fail_at="C").run(fake.as_context(), {}, interceptors=[Recorder("run", log)], name="Trip")
    hooks = [(label, hook, detail) for label, hook, detail in log if label == "run"]
    assert hooks == [
        ("run", "saga_started", "Trip"),
        ("run", "step_attempt", "A#1@0"),
        ("run", "step_done", "A"),
        ("run", "step_attempt", "B#1@1"),
        ("run", "step_done", "B"),
        ("run", "step_attempt", "C#1@2"),
        ("run", "step_attempt_failed", "C:TerminalError"),
        ("run", "step_failed", "C"),
        ("run", "rollback_started", "B,A"),
        ("run", "compensation_attempt", "B:later_failure"),
        ("run", "compensation_done", "B"),
        ("run", "compensation_attempt", "A:later_failure"),
        ("run", "compensation_done", "A"),
        ("run", "saga_finished", "compensated"),
    ]
    # the global interceptor sees the same, first; its attempt hook wraps the run's (outermost)
    expected: list[tuple[str, str, str]] = []
    for _, hook, detail in hooks:
        order = ("run", "global") if hook == "step_attempt_failed" else ("global", "run")
        expected.extend((label, hook, detail) for label in order)
    assert log == expected
    assert ran == ["A", "B", "C", "undo B", "undo A"]


async def test_inputs_name_the_saga_invocation_step_position_attempt_key_and_cause() -> None:
    seen: list[object] = []

    class Keep(SagaInterceptor):
        async def step_attempt(self, attempt: StepAttempt, proceed: Proceed) -> None:
            seen.append(attempt)
            await proceed()

        async def compensation_attempt(self, attempt: CompensationAttempt, proceed: Proceed) -> None:
            seen.append(attempt)
            await proceed()

        def step_failed(self, event: StepFailed) -> None:
            seen.append(event)

        def saga_finished(self, event: SagaFinished) -> None:
            seen.append(event)

    fake = FakeContext(invocation_id="inv_7", headers={"traceparent": "00-abc"})
    with pytest.raises(SagaCompensatedError):
        await pipeline([], fail_at="B").run(fake.as_context(), {}, interceptors=[Keep()], name="Trip")
    first, failing, failed, undo_a, finished = seen
    assert isinstance(first, StepAttempt)
    assert (first.saga.name, first.saga.invocation_id, first.saga.index) == ("Trip", "inv_7", 0)
    assert dict(first.saga.headers) == {"traceparent": "00-abc"}
    assert (first.step, first.position, first.attempt, first.idempotency_key) == ("A", 0, 1, "inv_7:0:A")
    assert (first.mode, first.compensable) == ("strict", True)
    assert isinstance(failing, StepAttempt) and failing.idempotency_key == "inv_7:1:B"
    assert isinstance(failed, StepFailed)
    assert (failed.step, failed.position, failed.idempotency_key) == ("B", 1, "inv_7:1:B")
    assert "B refused" in failed.error.message and failed.error.status_code == 409
    assert isinstance(undo_a, CompensationAttempt)
    assert (undo_a.step, undo_a.position, undo_a.idempotency_key) == ("A", 0, "inv_7:0:A:undo")
    assert (undo_a.cause.kind, undo_a.cause.failed_step) == ("later_failure", "B")
    assert isinstance(finished, SagaFinished) and finished.outcome == "compensated"
    assert finished.error is not None and finished.error.failed_step == "B"
    assert finished.cause is not None and finished.cause.kind == "later_failure"


async def test_attempt_numbers_count_retries() -> None:
    attempts: list[int] = []
    tries = {"n": 0}

    class Count(SagaInterceptor):
        async def step_attempt(self, attempt: StepAttempt, proceed: Proceed) -> None:
            attempts.append(attempt.attempt)
            await proceed()

    async def flaky(data: Data) -> Data:
        tries["n"] += 1
        if tries["n"] < 3:
            raise RuntimeError("try again")
        return data

    options = SagaStepOptions(retry=StepRetryPolicy(max_retry_attempts=5))
    saga = step("Flaky", flaky, options=options)
    await saga.run(FakeContext(invocation_id="inv_retry").as_context(), {}, interceptors=[Count()])
    assert attempts == [1, 2, 3]


class Broken(SagaInterceptor):
    """Raises in every hook, in every way an attempt hook can misbehave."""

    def __init__(self, mode: str) -> None:
        self.mode = mode

    async def _misbehave(self, proceed: Proceed) -> None:
        if self.mode == "before":
            raise RuntimeError("broken before proceeding")
        if self.mode == "skip":
            return  # never proceeds
        if self.mode == "twice":
            await proceed()
            await proceed()
            return
        if self.mode == "swallow":
            try:
                await proceed()
            except Exception:
                return
            return
        await proceed()
        raise TerminalError("broken after proceeding")  # even a terminal error after the attempt is ignored

    async def step_attempt(self, attempt: StepAttempt, proceed: Proceed) -> None:
        await self._misbehave(proceed)

    async def compensation_attempt(self, attempt: CompensationAttempt, proceed: Proceed) -> None:
        await self._misbehave(proceed)

    def _raise(self, *_: object) -> None:
        raise ValueError("broken hook")

    saga_started = step_done = step_failed = rollback_started = _raise  # type: ignore[assignment]
    compensation_done = compensation_failed = saga_finished = _raise  # type: ignore[assignment]


async def _outcome(saga: Step[Data, Data, None], fake: FakeContext, **run: Any) -> tuple[str, list[str]]:
    try:
        result = await saga.run(fake.as_context(), {"x": 1}, **run)
    except TerminalError as error:
        return f"{type(error).__name__}: {error.message} ({error.status_code})", [e.name for e in fake.journal]
    return f"ok {result}", [e.name for e in fake.journal]


@pytest.mark.parametrize("mode", ["before", "skip", "twice", "swallow", "after"])
@pytest.mark.parametrize("case", [{}, {"fail_at": "C"}, {"fail_at": "C", "undo_fails": "A"}])
async def test_an_interceptor_that_raises_changes_no_outcome(
    mode: str, case: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    plain_ran: list[str] = []
    expected = await _outcome(pipeline(plain_ran, **case), FakeContext())
    broken_ran: list[str] = []
    with caplog.at_level(logging.ERROR, logger="restate_saga"):
        actual = await _outcome(pipeline(broken_ran, **case), FakeContext(), interceptors=[Broken(mode)])
    assert actual == expected
    assert broken_ran == plain_ran  # every action and compensation ran exactly once
    reports = [r for r in caplog.records if r.getMessage().startswith("interceptor ")]
    assert reports, "a raising interceptor is logged"
    assert all(getattr(r, "hook", None) for r in reports)


async def test_a_veto_fails_the_attempt_for_good_without_running_it() -> None:
    ran: list[str] = []
    injector = FaultInjector({"B": 1})
    fake = FakeContext()
    with pytest.raises(SagaCompensatedError) as raised:
        await pipeline(ran).run(fake.as_context(), {}, interceptors=[injector])
    assert "injected failure at step 'B'" in raised.value.message
    assert ran == ["A", "undo A"]
    assert [a.step for a in injector.attempts] == ["A", "B"]
    assert [e.name for e in fake.journal] == ["A", "B", "compensate:A"]


async def test_a_permanent_failure_is_shown_to_attempt_hooks_as_a_step_failure() -> None:
    errors: list[Exception] = []

    class Watch(SagaInterceptor):
        async def step_attempt(self, attempt: StepAttempt, proceed: Proceed) -> None:
            try:
                await proceed()
            except Exception as error:
                errors.append(error)
                raise

    async def refuse(data: Data) -> StepResponse[Data, Data]:
        return StepResponse.permanent_failure("seat taken", {"hold": "h1"}, status_code=409)

    async def undo(data: Data) -> None: ...

    fake = FakeContext()
    with pytest.raises(SagaCompensatedError, match="seat taken"):
        await step("Book", refuse, undo).run(fake.as_context(), {}, interceptors=[Watch()])
    assert [type(e).__name__ for e in errors] == ["StepFailedError"]
    assert fake.journal[0].value is not None and fake.journal[0].value.startswith(b"!")  # journaled as before


async def test_interceptors_add_no_journal_entry() -> None:
    plain, watched = FakeContext(), FakeContext()
    with pytest.raises(SagaCompensatedError):
        await pipeline([], fail_at="C").run(plain.as_context(), {})
    with pytest.raises(SagaCompensatedError):
        await pipeline([], fail_at="C").run(watched.as_context(), {}, interceptors=[Recorder("r", [])])
    assert watched.journal == plain.journal


async def test_a_replay_reports_only_what_had_not_happened_yet() -> None:
    first = FakeContext(invocation_id="inv_r")
    await pipeline([]).run(first.as_context(), {})
    log: list[tuple[str, str, str]] = []
    ran: list[str] = []
    # the service died after B's result was journaled: a new attempt replays A and B
    replay = FakeContext(invocation_id="inv_r", replay_from=first.journal[:2])
    await pipeline(ran).run(replay.as_context(), {}, interceptors=[Recorder("r", log)], name="Trip")
    assert ran == ["C"]
    # A ran and was reported before; B is the last journaled entry: the code after it had not run
    assert [hook for _, hook, _ in log] == ["step_done", "step_attempt", "step_done", "saga_finished"]
    assert [detail for _, hook, detail in log if hook == "step_done"] == ["B", "C"]


async def test_an_interceptor_that_observes_replays_sees_them() -> None:
    first = FakeContext()
    await pipeline([]).run(first.as_context(), {})
    done: list[str] = []

    class Durable(SagaInterceptor):
        observes_replays = True

        def step_done(self, event: StepDone) -> None:
            done.append(event.step)

    await pipeline([]).run(FakeContext(replay_from=first.journal[:2]).as_context(), {}, interceptors=[Durable()])
    assert done == ["A", "B", "C"]


def test_options_and_registration_refuse_what_is_not_an_interceptor() -> None:
    with pytest.raises(TypeError, match=r"SagaWorkflowOptions.interceptors\[1\] must be a SagaInterceptor"):
        SagaWorkflowOptions(interceptors=[SagaInterceptor(), object()])  # type: ignore[list-item]
    with pytest.raises(TypeError, match=r"register_interceptors\[0\]"):
        register_interceptors("nope")  # type: ignore[arg-type]
    one, two = SagaInterceptor(), SagaInterceptor()
    register_interceptors(one, two, one)
    assert registered_interceptors() == (one, two)
    unregister_interceptors(one)
    assert registered_interceptors() == (two,)
    assert SagaWorkflowOptions(interceptors=[one]).interceptors == (one,)


async def test_structured_log_lines_per_outcome_and_failed_compensation(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="restate_saga"):
        await pipeline([]).run(FakeContext(invocation_id="inv_ok").as_context(), {}, name="Trip")
        with pytest.raises(SagaCompensatedError):
            await pipeline([], fail_at="C", undo_fails="A").run(
                FakeContext(invocation_id="inv_bad").as_context(), {}, name="Trip"
            )
    records = [r for r in caplog.records if r.name == "restate_saga"]
    assert [(r.levelname, getattr(r, "outcome", None) or getattr(r, "step", None)) for r in records] == [
        ("INFO", "succeeded"),
        ("ERROR", "A"),
        ("ERROR", "compensation_failed"),
    ]
    ok, undo, bad = (r.__dict__ for r in records)
    assert (ok["saga"], ok["invocation_id"]) == ("Trip", "inv_ok")
    assert records[0].getMessage() == "saga Trip succeeded (inv_ok)"
    assert undo["idempotency_key"] == "inv_bad:0:A:undo"
    assert (undo["cause"], undo["failed_step"]) == ("later_failure", "C")
    assert undo["error"] == "undo A refused"
    assert bad["compensations_failed"] == ["A"]
    assert bad["failed_step"] == "C" and bad["status_code"] == 409


async def test_a_cancelled_saga_finishes_as_cancelled() -> None:
    outcomes: list[tuple[str, str | None]] = []

    class Outcome(SagaInterceptor):
        def saga_finished(self, event: SagaFinished) -> None:
            outcomes.append((event.outcome, None if event.cause is None else event.cause.kind))

    with pytest.raises(SagaCompensatedError) as raised:
        await pipeline([]).run(FakeContext(cancel_at=1).as_context(), {}, interceptors=[Outcome()])
    assert raised.value.status_code == 409
    assert outcomes == [("cancelled", "cancelled")]
