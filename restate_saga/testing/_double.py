"""`FakeContext`: a fast in-process stand-in for the Restate context, for unit tests.

It runs each `ctx.run_typed` action at once and journals its result. Given the journal of an
earlier run it replays instead: recorded results come back and their actions do not run again,
as on a real server. It is a double for unit tests; the real semantics are tested end to end.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Coroutine, Generator
from dataclasses import dataclass, field
from typing import Any, cast

import restate
from restate import RunOptions, TerminalError

from .._codec import adapter_for


class JournalMismatch(AssertionError):
    """A replay asked for a different entry than the journal holds (a non-deterministic saga)."""


@dataclass(frozen=True, slots=True)
class FakeEntry:
    """One journaled `run`: its name and either its value or its terminal failure."""

    name: str
    value: bytes | None = None
    failure: str | None = None
    status_code: int = 500


@dataclass(eq=False)
class FakeContext:
    """A Restate context double that journals `run_typed` entries in memory.

    `replay_from` replays an earlier journal. Transient errors are retried at once up to the
    run's `max_attempts`; without a limit they propagate, as an invocation retry would.
    """

    replay_from: list[FakeEntry] = field(default_factory=list[FakeEntry])
    invocation_id: str = "inv_fake"
    fail_at: int | None = None
    """Fail the forward step with this index (0-based, compensations not counted) without running it."""
    cancel_at: int | None = None
    """Deliver a cancellation while the forward step with this index is in flight (it still completes)."""
    timeout_at: int | None = None
    """Let the deadline raced with the forward step of this index pass first (the step still completes,
    as on a real server); no effect on a step without a deadline."""
    state: dict[str, Any] = field(default_factory=dict[str, Any])
    """Virtual object / workflow state (`get`, `set`, `clear`)."""
    promises: dict[str, Any] = field(default_factory=dict[str, Any])
    """Values of durable promises, as if already resolved (`promise(name).value()`)."""
    object_key: str = "fake-key"
    headers: dict[str, str] = field(default_factory=dict[str, str])
    """Headers of the simulated invocation (e.g. a `traceparent`)."""
    journal: list[FakeEntry] = field(default_factory=list[FakeEntry])
    executed: list[str] = field(default_factory=list[str])
    actions: list[Callable[..., Any]] = field(default_factory=list[Callable[..., Any]])
    """The function passed to each `run_typed`, in call order."""
    arguments: list[tuple[Any, ...]] = field(default_factory=list[tuple[Any, ...]])
    """The positional arguments passed with each `run_typed` action, in call order."""
    _forward: int = field(default=0, repr=False)

    def as_context(self) -> restate.Context:
        """This double, typed as the Restate context that sagas expect."""
        return cast(restate.Context, self)

    def run_typed(
        self,
        name: str,
        action: Callable[..., Awaitable[Any] | Any],
        options: RunOptions[Any] = RunOptions(),  # noqa: B008 - mirrors the SDK's signature
        /,
        *args: Any,
        **kwargs: Any,
    ) -> Awaitable[Any]:
        """Run (or replay) one durable action."""
        self.actions.append(action)
        self.arguments.append(args)
        signal: TerminalError | None = None
        inject_failure = late = False
        if not name.startswith("compensate:"):
            index = self._forward
            self._forward += 1
            inject_failure = index == self.fail_at
            late = index == self.timeout_at
            if index == self.cancel_at:
                signal = TerminalError("cancelled", 409)
        return FakeFuture(self._run(name, action, options, args, kwargs, inject_failure), signal, late)

    async def _run(
        self,
        name: str,
        action: Callable[..., Any],
        options: RunOptions[Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        inject_failure: bool = False,
    ) -> Any:
        index = len(self.journal)
        if index < len(self.replay_from):
            entry = self.replay_from[index]
            if entry.name != name:
                raise JournalMismatch(f"journal entry {index} is {entry.name!r}, the saga asked for {name!r}")
        elif inject_failure:
            entry = FakeEntry(name, failure="injected failure")
        else:
            entry = await self._execute(name, action, options, args, kwargs)
        self.journal.append(entry)
        if entry.failure is not None:
            raise TerminalError(entry.failure, entry.status_code)
        return options.serde.deserialize(entry.value or b"")

    async def _execute(
        self,
        name: str,
        action: Callable[..., Any],
        options: RunOptions[Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> FakeEntry:
        attempts = 0
        while True:
            attempts += 1
            self.executed.append(name)
            try:
                result = action(*args, **kwargs)
                if inspect.isawaitable(result):
                    result = await result
                return FakeEntry(name, value=options.serde.serialize(result))
            except TerminalError as error:
                return FakeEntry(name, failure=error.message, status_code=error.status_code)
            except Exception as error:
                if options.max_attempts is None:
                    raise
                if attempts >= options.max_attempts:
                    tries = "1 attempt" if attempts == 1 else f"{attempts} attempts"
                    return FakeEntry(name, failure=f"{error!r} (after {tries})")

    def request(self) -> Any:
        """A minimal request: its `id`, and `headers` (none but those set in `headers`)."""
        return _FakeRequest(self.invocation_id, dict(self.headers), {})

    def is_replaying(self) -> bool:
        """True while journaled entries of `replay_from` remain to be replayed (as the SDK reports)."""
        return len(self.journal) < len(self.replay_from)

    def sleep(self, delta: Any, name: str | None = None) -> Awaitable[None]:
        """A durable timer; the double never waits (deadlines are not simulated)."""
        return _Elapsed()

    def key(self) -> str:
        """The virtual object / workflow key."""
        return self.object_key

    async def get(self, name: str, serde: Any = None, type_hint: Any = None, entry_name: Any = None) -> Any:
        """A state value (validated into `type_hint` when given), or None."""
        value = self.state.get(name)
        if value is None or type_hint is None:
            return value
        return adapter_for(type_hint).validate_python(value)

    def set(self, name: str, value: Any, serde: Any = None, entry_name: Any = None) -> None:
        """Set a state value."""
        self.state[name] = value

    def clear(self, name: str, entry_name: Any = None) -> None:
        """Clear a state value."""
        self.state.pop(name, None)

    def promise(self, name: str, serde: Any = None, type_hint: Any = None) -> FakePromise:
        """A durable promise whose value comes from `promises`."""
        return FakePromise(self, name, type_hint)


@dataclass(frozen=True, slots=True)
class _FakeRequest:
    id: str
    headers: dict[str, str]
    attempt_headers: dict[str, str]


class _Elapsed:
    """An already elapsed timer."""

    __slots__ = ()

    def __await__(self) -> Generator[Any, None, None]:
        return
        yield


@dataclass(frozen=True, slots=True)
class FakePromise:
    """A durable promise of the double: `value()` returns the preset value."""

    context: FakeContext
    name: str
    type_hint: Any

    async def value(self) -> Any:
        """The preset value (validated into the promise's type when it has one)."""
        if self.name not in self.context.promises:
            raise LookupError(f"FakeContext has no value for promise {self.name!r}; preset it in `promises`")
        value = self.context.promises[self.name]
        return value if self.type_hint is None else adapter_for(self.type_hint).validate_python(value)

    async def resolve(self, value: Any) -> None:
        """Resolve the promise."""
        self.context.promises[self.name] = value


class FakeFuture:
    """The awaitable a `FakeContext.run_typed` returns; may carry a simulated cancellation signal,
    or outlast its deadline (`deadline_passed`)."""

    __slots__ = ("_coroutine", "cancel_signal", "deadline_passed")

    def __init__(
        self, coroutine: Coroutine[Any, Any, Any], cancel_signal: TerminalError | None, deadline_passed: bool = False
    ) -> None:
        self._coroutine = coroutine
        self.cancel_signal = cancel_signal
        self.deadline_passed = deadline_passed

    def __await__(self) -> Generator[Any, None, Any]:
        return self._coroutine.__await__()
