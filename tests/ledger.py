"""An in-memory record of side effects, keyed by a test's run id (the app shares the test's process)."""

from __future__ import annotations

import threading
import uuid
from collections import defaultdict

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
