"""Fault injection for tests against a real server: fail a named step's next attempts on purpose.

Only `restate_saga.testing` arms it, and only for an app served in the test's own process.
When disarmed (always, in production) the cost is one module attribute check per attempt.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from restate import TerminalError

if TYPE_CHECKING:
    from ._nodes import Leaf


ARMED = False
failing: dict[str, int] = {}
"""Step name -> how many more attempts of it fail terminally."""
observed: list[Leaf] | None = None
"""When a list, every step attempt is appended to it (in attempt order)."""


def check(leaf: Leaf) -> None:
    """Record `leaf`, and raise the injected failure if its name is armed."""
    if observed is not None:
        observed.append(leaf)
    remaining = failing.get(leaf.name, 0)
    if remaining > 0:
        failing[leaf.name] = remaining - 1
        raise TerminalError(f"injected failure at step {leaf.name!r}", 500)
