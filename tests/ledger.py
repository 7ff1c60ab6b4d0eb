"""An in-memory record of side effects, keyed by a test's run id (the app shares the test's process)."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable

_lock = threading.Lock()
_events: defaultdict[str, list[str]] = defaultdict(list)


def new_run() -> str:
    """A fresh run id for one test invocation."""
    return uuid.uuid4().hex[:12]


def record(run: str, event: str) -> None:
    """Note that `event` happened in `run`."""
    with _lock:
        _events[run].append(event)


def events(run: str) -> list[str]:
    """Everything recorded for `run`, in order."""
    with _lock:
        return list(_events[run])


_released: set[str] = set()


def release(run: str, what: str) -> None:
    """Let an action of `run` that waits in `held(run, what)` go on (a test's signal to the app)."""
    with _lock:
        _released.add(f"{run}:{what}")


async def held(run: str, what: str, timeout: float = 30.0) -> None:
    """Wait (inside an action) until the test calls `release(run, what)`."""
    await until(lambda: f"{run}:{what}" in _released, f"release {what!r}", timeout)


async def until(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    """Wait (inside an action) until `condition()` holds; a TimeoutError naming `what` otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        with _lock:
            if condition():
                return
        if time.monotonic() >= deadline:
            raise TimeoutError(f"gave up waiting for {what} after {timeout}s")
        await asyncio.sleep(0.005)


def started(run: str, prefix: str) -> int:
    """How many events of `run` start with `prefix` and end with " start" (call under `until`)."""
    return sum(1 for e in _events[run] if e.startswith(prefix) and " start" in e)
