"""`SagaContext`: the Restate context of one invocation plus its compensation stack."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NoReturn, cast, final
from weakref import WeakKeyDictionary

import restate

from ._chain import Chain
from ._encryption import EncryptionCodec
from ._errors import ContextMisuseError
from ._interceptors import SagaInterceptor, check_interceptors
from ._nodes import Leaf
from ._options import DEFAULT_COMPENSATION_POLICY, CompensationPolicy


@dataclass(frozen=True, slots=True)
class PendingCompensation:
    """A compensation registered on the saga's stack, with the data it will receive."""

    leaf: Leaf
    data: object
    failed: bool
    position: int

    @property
    def step(self) -> str:
        """The name of the step this compensation undoes."""
        return self.leaf.name


@dataclass(frozen=True, slots=True)
class PendingRemote:
    """A remote sub-saga to undo by calling its service's `compensate` handler."""

    step: str
    service: str
    key: str
    position: int


@dataclass(frozen=True, slots=True)
class PendingGroup:
    """The compensations of a parallel group, to run concurrently."""

    entries: tuple[PendingCompensation | PendingRemote, ...]


Pending = PendingCompensation | PendingRemote | PendingGroup


_positions: WeakKeyDictionary[object, list[int]] = WeakKeyDictionary()
"""The next step position of each running invocation, keyed by its Restate context."""


@final
class SagaContext:
    """The Restate context of one saga invocation and its stack of compensations.

    Steps push onto the stack as they run; on a terminal failure the saga pops it, running each
    compensation once, newest first. Nested sagas and embedded workflows share one stack.
    """

    __slots__ = ("_invocation_id", "_stack", "chain", "codec", "ctx", "policy")

    def __init__(
        self,
        ctx: restate.Context,
        policy: CompensationPolicy = DEFAULT_COMPENSATION_POLICY,
        *,
        interceptors: Sequence[SagaInterceptor] = (),
        name: str | None = None,
        codec: EncryptionCodec | None = None,
    ) -> None:
        self.ctx = ctx
        self.policy = policy
        self.chain = Chain(ctx, check_interceptors(interceptors, "interceptors") if interceptors else (), name)
        """The interceptors this saga reports to (the global ones, then `interceptors`, then the log)."""
        self.codec = codec
        """Encrypts the journal values of this saga's steps (None: journaled as they are)."""
        self._stack: list[Pending | None] = []
        self._invocation_id: str | None = None

    @property
    def invocation_id(self) -> str:
        """The id of the Restate invocation running this saga."""
        if self._invocation_id is None:
            self._invocation_id = self.ctx.request().id
        return self._invocation_id

    def next_position(self) -> int:
        """The place of the next step in this invocation (deterministic across replays).

        Counted per Restate context, not per saga: two sagas run by one handler never share a
        position, so their steps never share an idempotency key.
        """
        counter = _positions.setdefault(self.ctx, [0])
        position = counter[0]
        counter[0] = position + 1
        return position

    # -- the compensation stack ------------------------------------------------------------

    def push(self, entry: Pending) -> None:
        """Register a compensation (or a group of them) on top of the stack."""
        self._stack.append(entry)

    def reserve(self, entry: PendingCompensation) -> int:
        """Register a compensation before its action runs (hybrid steps); returns its slot."""
        self._stack.append(entry)
        return len(self._stack) - 1

    def fill(self, slot: int, entry: PendingCompensation | None) -> None:
        """Replace a reserved compensation once its action settled (None: nothing to undo)."""
        self._stack[slot] = entry

    def mark(self) -> int:
        """The current height of the stack, for `take(since=...)`."""
        return len(self._stack)

    def take(self, since: int = 0) -> list[Pending]:
        """Remove and return the entries registered since `mark` (all by default), oldest first.

        Taken entries are off the stack: whatever happens next, they are not undone twice.
        """
        taken = [entry for entry in self._stack[since:] if entry is not None]
        del self._stack[since:]
        return taken

    @property
    def entries(self) -> Sequence[Pending]:
        """The registered entries, oldest first, parallel groups kept together (a snapshot)."""
        return tuple(entry for entry in self._stack if entry is not None)

    @property
    def compensations(self) -> Sequence[PendingCompensation | PendingRemote]:
        """The compensations that would run now, oldest first (a read-only snapshot)."""
        return tuple(member for entry in self._stack if entry is not None for member in members(entry))

    def __repr__(self) -> str:
        names = ", ".join(entry.step for entry in self.compensations)
        return f"SagaContext(compensations=[{names}])"


def members(entry: Pending) -> tuple[PendingCompensation | PendingRemote, ...]:
    """The compensations an entry stands for (a group's members, or the entry itself)."""
    return entry.entries if isinstance(entry, PendingGroup) else (entry,)


class _SealedContext:
    """Stands in for the Restate context inside an action, where the real one must not be used."""

    __slots__ = ("_step",)

    def __init__(self, step: str) -> None:
        self._step = step

    def __getattr__(self, attribute: str) -> NoReturn:
        raise ContextMisuseError(self._step, attribute)

    def __repr__(self) -> str:
        return f"<sealed Restate context of step {self._step!r}>"


def sealed_context(step: str) -> restate.Context:
    """A context whose every use raises `ContextMisuseError` naming `step`."""
    return cast(restate.Context, _SealedContext(step))
