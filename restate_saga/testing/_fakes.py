"""`FakeContextFactory`: fresh `FakeContext`s for one test, and replays of their journals."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ._double import FakeContext


@dataclass(frozen=True, slots=True)
class _Start:
    state: dict[str, Any]
    promises: dict[str, Any]


@dataclass(eq=False)
class FakeContextFactory:
    """Makes `FakeContext`s (the pytest plugin's `fake_context` fixture is one per test).

    `factory(state=..., promises=..., key=...)` is a fresh context; each gets its own invocation
    id. `factory.replay_of(ctx)` is a context that replays what `ctx` journaled, from the state
    `ctx` started with: run the saga again on it to check that it is deterministic and that no
    journaled action runs twice (its `executed` lists what did run).
    """

    invocation_prefix: str = "inv_fake"
    created: list[FakeContext] = field(default_factory=list[FakeContext])
    _starts: dict[int, _Start] = field(default_factory=dict[int, _Start], repr=False)

    def __call__(
        self,
        *,
        state: Mapping[str, Any] | None = None,
        promises: Mapping[str, Any] | None = None,
        key: str = "fake-key",
        invocation_id: str | None = None,
    ) -> FakeContext:
        """A fresh context with this object state, preset durable promises and object key."""
        start = _Start(copy.deepcopy(dict(state or {})), copy.deepcopy(dict(promises or {})))
        ctx = FakeContext(
            invocation_id=invocation_id or f"{self.invocation_prefix}_{len(self.created)}",
            state=copy.deepcopy(start.state),
            promises=copy.deepcopy(start.promises),
            object_key=key,
        )
        self.created.append(ctx)
        self._starts[id(ctx)] = start
        return ctx

    def replay_of(self, ctx: FakeContext) -> FakeContext:
        """A context that replays `ctx`'s journal, starting from the state `ctx` was made with."""
        start = self._starts.get(id(ctx))
        if start is None:
            raise ValueError("replay_of needs a FakeContext made by this factory (it remembers how each one started)")
        replay = FakeContext(
            replay_from=list(ctx.journal),
            invocation_id=ctx.invocation_id,
            state=copy.deepcopy(start.state),
            promises=copy.deepcopy(start.promises),
            object_key=ctx.object_key,
        )
        self.created.append(replay)
        self._starts[id(replay)] = start
        return replay
