"""The interceptors of one saga run: builds each hook's input, keeps replays quiet, isolates failures.

An event is new when the handler has consumed every command its journal held at the start of
this attempt: until then it is re-executing code that already ran (and reported) before. The
SDK's state machine knows (`is_replaying`). An event is decided at the point where it happens,
before the next journal entry is written (a parked escalation decides before its park record).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal
from weakref import WeakKeyDictionary

import restate
from restate import TerminalError

from ._cause import FailureCause, cause_of, is_cancellation
from ._current import StepCall
from ._errors import AttemptRejectedError, SagaCompensatedError, StepFailedError
from ._interceptors import (
    CompensationAttempt,
    CompensationDone,
    CompensationFailed,
    EscalationParked,
    EscalationResumed,
    Proceed,
    RollbackStarted,
    SagaFinished,
    SagaInfo,
    SagaInterceptor,
    SagaOutcome,
    SagaStarted,
    StepAttempt,
    StepDone,
    StepFailed,
    registered_interceptors,
)
from ._logs import SAGA_LOG
from ._nodes import Leaf


@dataclass(frozen=True, slots=True)
class Hooks:
    """The interceptors that override each hook, in call order."""

    step_attempt: tuple[SagaInterceptor, ...] = ()
    compensation_attempt: tuple[SagaInterceptor, ...] = ()
    saga_started: tuple[SagaInterceptor, ...] = ()
    step_done: tuple[SagaInterceptor, ...] = ()
    step_failed: tuple[SagaInterceptor, ...] = ()
    rollback_started: tuple[SagaInterceptor, ...] = ()
    compensation_done: tuple[SagaInterceptor, ...] = ()
    compensation_failed: tuple[SagaInterceptor, ...] = ()
    escalation_parked: tuple[SagaInterceptor, ...] = ()
    escalation_resumed: tuple[SagaInterceptor, ...] = ()
    saga_finished: tuple[SagaInterceptor, ...] = ()
    observes_replays: bool = False
    """Whether some interceptor must also see replayed events."""


def _overrides(interceptor: SagaInterceptor, hook: str) -> bool:
    return getattr(type(interceptor), hook) is not getattr(SagaInterceptor, hook)


def hooks_of(interceptors: tuple[SagaInterceptor, ...]) -> Hooks:
    """Which interceptors take part in each hook (those that override it)."""

    def having(hook: str) -> tuple[SagaInterceptor, ...]:
        return tuple(i for i in interceptors if _overrides(i, hook))

    return Hooks(
        step_attempt=having("step_attempt"),
        compensation_attempt=having("compensation_attempt"),
        saga_started=having("saga_started"),
        step_done=having("step_done"),
        step_failed=having("step_failed"),
        rollback_started=having("rollback_started"),
        compensation_done=having("compensation_done"),
        compensation_failed=having("compensation_failed"),
        escalation_parked=having("escalation_parked"),
        escalation_resumed=having("escalation_resumed"),
        saga_finished=having("saga_finished"),
        observes_replays=any(i.observes_replays for i in interceptors),
    )


_BUILT_IN = hooks_of((SAGA_LOG,))
_cached: tuple[tuple[SagaInterceptor, ...], Hooks] = ((), _BUILT_IN)


def _hooks_for(extra: tuple[SagaInterceptor, ...]) -> Hooks:
    """Hooks of the global interceptors, then `extra`, then the built-in log (the common case cached)."""
    global _cached
    every = (*registered_interceptors(), *extra)
    key, hooks = _cached
    if every == key:
        return hooks
    hooks = hooks_of((*every, SAGA_LOG))
    if not extra:  # the global set changes rarely; per-service sets vary and are not cached
        _cached = (every, hooks)
    return hooks


def is_replaying(ctx: restate.Context) -> bool:
    """Whether the handler is still re-executing commands its journal already holds."""
    machine: Any = getattr(ctx, "vm", None)
    if machine is not None:
        return bool(machine.is_replaying())
    probe: Any = getattr(ctx, "is_replaying", None)  # the in-process double
    return bool(probe()) if callable(probe) else False


# --- what this process remembers about running invocations ---------------------------------------


@dataclass(slots=True)
class _Memory:
    attempts: dict[str, int] = field(default_factory=dict[str, int])

    def bump(self, key: str) -> int:
        """Count one more attempt of `key`; returns its number (1 for the first)."""
        count = self.attempts.get(key, 0) + 1
        self.attempts[key] = count
        return count


_MAX_REMEMBERED = 16_384
_memory: dict[str, _Memory] = {}


def _remember(invocation_id: str) -> _Memory:
    memory = _memory.get(invocation_id)
    if memory is None:
        memory = _memory[invocation_id] = _Memory()
        if len(_memory) > _MAX_REMEMBERED:  # invocations that ended elsewhere (or were killed)
            del _memory[next(iter(_memory))]
    return memory


def _forget(invocation_id: str) -> None:
    _memory.pop(invocation_id, None)


_saga_counts: WeakKeyDictionary[object, list[int]] = WeakKeyDictionary()


def _next_saga_index(ctx: restate.Context) -> int:
    counter = _saga_counts.setdefault(ctx, [0])
    index = counter[0]
    counter[0] = index + 1
    return index


def _default_name(ctx: restate.Context) -> str:
    handler: Any = getattr(ctx, "handler", None)
    tag: Any = getattr(handler, "service_tag", None)
    if tag is not None:
        return f"{tag.name}.{handler.name}"
    return "saga"


# --- attempts --------------------------------------------------------------------------------------


class _Once:
    """Runs the inner part of the chain at most once; later calls repeat its failure."""

    __slots__ = ("_inner", "error", "started")

    def __init__(self, inner: Proceed) -> None:
        self._inner = inner
        self.started = False
        self.error: Exception | None = None

    async def __call__(self) -> None:
        if self.started:
            if self.error is not None:
                raise self.error
            return
        self.started = True
        try:
            await self._inner()
        except Exception as error:
            self.error = error
            raise


Invoke = Callable[[SagaInterceptor, Proceed], Awaitable[None]]


def _layer(interceptor: SagaInterceptor, hook: str, invoke: Invoke, inner: Proceed) -> Proceed:
    async def proceed() -> None:
        once = _Once(inner)
        try:
            await invoke(interceptor, once)
        except Exception as error:
            if error is not once.error:  # the attempt's own failure passing through is not a fault
                if isinstance(error, AttemptRejectedError) and not once.started:
                    raise  # a deliberate veto: the attempt fails for good without running
                _report(interceptor, hook, error)
        await once()  # the attempt runs even if the hook never proceeded; its failure propagates

    return proceed


async def _around(
    interceptors: tuple[SagaInterceptor, ...],
    hook: str,
    invoke: Invoke,
    run: Callable[[], Awaitable[bytes]],
    view: Callable[[bytes], Exception | None],
) -> bytes:
    """Run `run` inside the interceptors' hooks; its result (or failure) is what they cannot change."""
    result: list[bytes] = []

    async def innermost() -> None:
        raw = await run()
        result.append(raw)
        seen = view(raw)
        if seen is not None:
            raise seen

    proceed: Proceed = innermost
    for interceptor in reversed(interceptors):
        proceed = _layer(interceptor, hook, invoke, proceed)
    try:
        await proceed()
    except Exception:
        if result:  # the attempt succeeded; interceptors were shown its permanent failure
            return result[0]
        raise
    return result[0]


def _report(interceptor: SagaInterceptor, hook: str, error: Exception) -> None:
    SAGA_LOG.logger.error(
        "interceptor %r raised in %s; ignored (the saga goes on)",
        interceptor,
        hook,
        exc_info=error,
        extra={"interceptor": repr(interceptor), "hook": hook},
    )


def _no_view(raw: bytes) -> Exception | None:
    return None


# --- the chain -----------------------------------------------------------------------------------


class Chain:
    """The interceptors of one saga run against one Restate context."""

    __slots__ = ("_ctx", "_index", "_info", "_name", "attempts", "hooks")

    def __init__(self, ctx: restate.Context, interceptors: tuple[SagaInterceptor, ...], name: str | None) -> None:
        self._ctx = ctx
        self._name = name
        self._info: SagaInfo | None = None
        self._index = _next_saga_index(ctx)
        self.hooks = _hooks_for(interceptors)
        self.attempts: Chain | None = None
        """This chain when some interceptor wraps attempts (passed into the durable actions), else None."""
        if self.hooks.step_attempt or self.hooks.compensation_attempt:
            _ = self.info  # read here, in the handler, never first inside an action
            self.attempts = self

    @property
    def info(self) -> SagaInfo:
        """The saga run, as hook inputs name it."""
        if self._info is None:
            request = self._ctx.request()
            self._info = SagaInfo(
                self._name or _default_name(self._ctx),
                request.id,
                self._index,
                MappingProxyType(dict(getattr(request, "headers", None) or {})),
                MappingProxyType(dict(getattr(request, "attempt_headers", None) or {})),
            )
        return self._info

    def _key(self, step: str, position: int, compensating: bool) -> str:
        return StepCall(step, self.info.invocation_id, position, compensating).idempotency_key

    def _fresh(self) -> bool | None:
        """True for a new event, False for a replayed one that some interceptor still observes,
        None when nobody is to be told."""
        if not is_replaying(self._ctx):
            return True
        return False if self.hooks.observes_replays else None

    def _deliver(
        self, interceptors: tuple[SagaInterceptor, ...], hook: str, fresh: bool, call: Callable[[SagaInterceptor], None]
    ) -> None:
        for interceptor in interceptors:
            if fresh or interceptor.observes_replays:
                try:
                    call(interceptor)
                except Exception as error:
                    _report(interceptor, hook, error)

    # -- attempts (inside the durable action) ---------------------------------------------------

    async def step_attempt(self, leaf: Leaf, call: StepCall, run: Callable[[], Awaitable[bytes]]) -> bytes:
        """Run one attempt of `leaf`'s action inside the `step_attempt` hooks."""
        attempt = StepAttempt(
            self.info,
            leaf.name,
            call.position,
            _remember(call.invocation_id).bump(call.idempotency_key),
            call.idempotency_key,
            "hybrid" if leaf.mode.value == "hybrid" else "strict",
            leaf.compensation is not None,
        )

        async def invoke(interceptor: SagaInterceptor, proceed: Proceed) -> None:
            await interceptor.step_attempt(attempt, proceed)

        def view(raw: bytes) -> Exception | None:
            if raw[:1] != b"!":
                return None
            decoded = leaf.codec.decode(raw)
            return StepFailedError(leaf.name, decoded.failure or "permanent failure", decoded.status_code)

        return await _around(self.hooks.step_attempt, "step_attempt", invoke, run, view)

    async def compensation_attempt(
        self, leaf: Leaf, call: StepCall, cause: FailureCause, failed: bool, run: Callable[[], Awaitable[bytes]]
    ) -> bytes:
        """Run one attempt of `leaf`'s compensation inside the `compensation_attempt` hooks."""
        attempt = CompensationAttempt(
            self.info,
            leaf.name,
            call.position,
            _remember(call.invocation_id).bump(call.idempotency_key),
            call.idempotency_key,
            cause,
            failed,
        )

        async def invoke(interceptor: SagaInterceptor, proceed: Proceed) -> None:
            await interceptor.compensation_attempt(attempt, proceed)

        return await _around(self.hooks.compensation_attempt, "compensation_attempt", invoke, run, _no_view)

    # -- events (in the handler) ------------------------------------------------------------------

    def saga_started(self) -> None:
        """The saga starts (reported unless this is a replay)."""
        hooks = self.hooks.saga_started
        if hooks and (fresh := self._fresh()) is not None:
            event = SagaStarted(self.info)
            self._deliver(hooks, "saga_started", fresh, lambda i: i.saga_started(event))

    def step_done(self, step: str, position: int) -> None:
        """A step's result is journaled and it succeeded."""
        hooks = self.hooks.step_done
        if hooks and (fresh := self._fresh()) is not None:
            event = StepDone(self.info, step, position, self._key(step, position, False))
            self._deliver(hooks, "step_done", fresh, lambda i: i.step_done(event))

    def step_failed(self, step: str, position: int | None, error: TerminalError) -> None:
        """A step failed for good."""
        hooks = self.hooks.step_failed
        if hooks and (fresh := self._fresh()) is not None:
            key = None if position is None else self._key(step, position, False)
            event = StepFailed(self.info, step, position, key, error)
            self._deliver(hooks, "step_failed", fresh, lambda i: i.step_failed(event))

    def rollback_started(self, error: TerminalError, steps: tuple[str, ...]) -> None:
        """Compensations of `steps` (newest first) are about to run because of `error`."""
        hooks = self.hooks.rollback_started
        if hooks and (fresh := self._fresh()) is not None:
            event = RollbackStarted(self.info, error, cause_of(error, ""), steps)
            self._deliver(hooks, "rollback_started", fresh, lambda i: i.rollback_started(event))

    def compensation_done(self, step: str, position: int, cause: FailureCause) -> None:
        """A compensation's result is journaled and it succeeded."""
        hooks = self.hooks.compensation_done
        if hooks and (fresh := self._fresh()) is not None:
            event = CompensationDone(self.info, step, position, self._key(step, position, True), cause)
            self._deliver(hooks, "compensation_done", fresh, lambda i: i.compensation_done(event))

    def compensation_failed(
        self,
        step: str,
        position: int,
        cause: FailureCause,
        error: TerminalError,
        *,
        fresh: bool | Literal["ask"] | None = "ask",
    ) -> None:
        """A compensation failed for good (`fresh`: as `fresh()` said, when it parks)."""
        hooks = self.hooks.compensation_failed
        if fresh == "ask":
            fresh = self._fresh() if hooks else None
        if hooks and fresh is not None:
            event = CompensationFailed(self.info, step, position, self._key(step, position, True), cause, error)
            self._deliver(hooks, "compensation_failed", fresh, lambda i: i.compensation_failed(event))

    def fresh(self) -> bool | None:
        """Whether an event at this point is new (True), replayed but observed (False), or told to
        nobody (None); for a caller that must decide before its next journal entry."""
        return self._fresh()

    def escalation_parked(
        self, step: str, position: int, cause: FailureCause, awakeable_id: str, reason: str, fresh: bool | None
    ) -> None:
        """A failed compensation parks on `awakeable_id`."""
        hooks = self.hooks.escalation_parked
        if hooks and fresh is not None:
            key = self._key(step, position, True)
            event = EscalationParked(self.info, step, position, key, cause, awakeable_id, reason)
            self._deliver(hooks, "escalation_parked", fresh, lambda i: i.escalation_parked(event))

    def escalation_resumed(self, step: str, position: int, cause: FailureCause, decision: str) -> None:
        """A parked compensation was answered with `decision` (or cancelled)."""
        hooks = self.hooks.escalation_resumed
        if hooks and (fresh := self._fresh()) is not None:
            event = EscalationResumed(self.info, step, position, self._key(step, position, True), cause, decision)
            self._deliver(hooks, "escalation_resumed", fresh, lambda i: i.escalation_resumed(event))

    def saga_finished(self, error: SagaCompensatedError | None, trigger: TerminalError | None) -> None:
        """The saga ends: succeeded (no error), or rolled back because of `trigger`."""
        hooks = self.hooks.saga_finished
        if hooks and (fresh := self._fresh()) is not None:
            outcome: SagaOutcome = "succeeded"
            cause = None if trigger is None else cause_of(trigger, "")
            if error is not None and (error.compensation_failures or error.not_compensated):
                outcome = "compensation_failed"
            elif trigger is not None:
                outcome = "cancelled" if is_cancellation(trigger) else "compensated"
            event = SagaFinished(self.info, outcome, error, cause)
            self._deliver(hooks, "saga_finished", fresh, lambda i: i.saga_finished(event))
        _forget(self.info.invocation_id)
