"""`FaultInjector`: an interceptor that fails chosen steps' next attempts on purpose, for tests."""

from __future__ import annotations

import threading
from collections.abc import Generator, Mapping
from contextlib import contextmanager

from .._errors import AttemptRejectedError
from .._interceptors import Proceed, SagaInterceptor, StepAttempt, register_interceptors, unregister_interceptors


class FaultInjector(SagaInterceptor):
    """Fails the next attempts of named steps for good, and records every step attempt it sees.

    Configure it like any interceptor (a service's `SagaWorkflowOptions(interceptors=...)`, or
    `installed()` for every saga of this process); `fail(step, times)` arms it.
    """

    def __init__(self, failing: Mapping[str, int] | None = None) -> None:
        self._lock = threading.Lock()
        self._failing: dict[str, int] = dict(failing or {})
        self.attempts: list[StepAttempt] = []
        """Every step attempt seen, in order."""

    def fail(self, step: str, times: int = 1) -> None:
        """Fail the next `times` attempts of `step` terminally (status 500)."""
        with self._lock:
            self._failing[step] = times

    def disarm(self) -> None:
        """Fail nothing more."""
        with self._lock:
            self._failing.clear()

    async def step_attempt(self, attempt: StepAttempt, proceed: Proceed) -> None:
        with self._lock:
            self.attempts.append(attempt)
            remaining = self._failing.get(attempt.step, 0)
            if remaining > 0:
                self._failing[attempt.step] = remaining - 1
        if remaining > 0:
            raise AttemptRejectedError(f"injected failure at step {attempt.step!r}", 500)
        await proceed()

    @contextmanager
    def installed(self) -> Generator[FaultInjector]:
        """Register this injector for every saga of this process while the block runs."""
        register_interceptors(self)
        try:
            yield self
        finally:
            unregister_interceptors(self)
