"""Encryption wired into a saga: where each journal value is sealed and opened, and what a saga
does when a journaled value cannot be decrypted.

A journaled value that cannot be read (a missing key, an altered or copied value) never makes an
action run again: its result is in the journal. What happens next must be the same on every
later replay, whatever the keyring is by then, so nothing may be journaled after such a value
that a replay with the key back would not journal too:

- in the middle of a replay (more of the journal follows), the attempt fails with
  `ReplayBlockedError` (retryable, nothing runs again) until the key is restored; the invocation
  then continues exactly as journaled;
- at the newest entry of the journal, the saga ends terminally (`JournalUnreadableError`, or a
  `DecryptionError` for an input or kept state) without running a compensation, and reports
  every step done so far as left undone.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import TypeVar, cast

import restate
from restate import TerminalError

from ._chain import is_replaying
from ._codec import Decoded
from ._context import PendingCompensation, SagaContext
from ._current import StepCall
from ._encryption import DecryptionError, EncryptionCodec, JournalUnreadableError, ReplayBlockedError
from ._envelope import Binding
from ._nodes import Leaf, Remote
from ._payload_checks import require_payload_checks_off
from ._serde import decode_input, encode_output

T = TypeVar("T")


def journal_continues(ctx: object) -> bool:
    """Whether the invocation is still replaying recorded entries (more of its journal follows):
    the SDK's answer, or the in-process double's."""
    return is_replaying(cast(restate.Context, ctx))


def _block_if_replaying(ctx: object, error: DecryptionError) -> None:
    """In the middle of a replay, an unreadable value blocks the invocation (see the module docstring)."""
    if journal_continues(ctx):
        raise ReplayBlockedError(error) from None


# --- steps -------------------------------------------------------------------------------------


def seal_step(codec: EncryptionCodec, leaf: Leaf, result: object, call: StepCall) -> bytes:
    """A step's journal value, encrypted for its invocation, step and position (inside its action)."""
    return codec.encode(lambda: leaf.codec.encode(result), Binding.step(call.invocation_id, call.step), call.position)


class StepSealer:
    """Seals a step's journal value in two halves, so that the interceptors around its attempt see
    the plaintext form (a permanent failure, say) and the journal gets the envelope."""

    __slots__ = ("_call", "_codec", "_leaf", "_secrets")

    def __init__(self, codec: EncryptionCodec, leaf: Leaf, call: StepCall) -> None:
        self._codec, self._leaf, self._call = codec, leaf, call
        self._secrets: list[object] | None = None

    def plain(self, result: object) -> bytes:
        """The step's journal value before encryption (its secrets kept aside, in selective mode)."""
        plain, self._secrets = self._codec.take_out(lambda: self._leaf.codec.encode(result))
        return plain

    def seal(self, plain: bytes) -> bytes:
        """The journal value: `plain` (from `plain`) encrypted."""
        binding = Binding.step(self._call.invocation_id, self._call.step)
        return self._codec.seal(plain, self._secrets, binding, self._call.position)


def open_step(saga: SagaContext, codec: EncryptionCodec, leaf: Leaf, position: int, slot: int, raw: bytes) -> Decoded:
    """A step's journaled result, decrypted; see the module docstring when it cannot be."""
    try:
        return codec.decode(raw, Binding.step(saga.invocation_id, leaf.name), leaf.codec.decode, position)
    except DecryptionError as error:
        _block_if_replaying(saga.ctx, error)
        if leaf.compensation is not None:
            # It ran, but what its undo needs cannot be read. The saga ends without a rollback; should
            # a rollback run anyway (a parallel sibling failed first), this undo fails and is reported.
            entry = PendingCompensation(
                dataclasses.replace(leaf, compensation=_cannot_undo(error)), None, False, position
            )
            if slot >= 0:
                saga.fill(slot, entry)
            else:
                saga.push(entry)
        raise JournalUnreadableError(leaf.name, error) from error


def _cannot_undo(error: DecryptionError) -> Callable[..., Awaitable[object]]:
    async def cannot_undo(data: object, **_: object) -> None:
        key = f" (key {error.key_id!r})" if error.key_id else ""
        raise TerminalError(f"left undone: its journal value cannot be decrypted{key}; undo it by hand")

    return cannot_undo


# --- remote sub-sagas ---------------------------------------------------------------------------


def seal_remote_input(
    saga: SagaContext, codec: EncryptionCodec, node: Remote, key: str, dump: Callable[[], bytes]
) -> bytes:
    """The payload of a call to a remote sub-saga (caller side)."""
    require_payload_checks_off(saga.ctx, f"the input of remote saga {node.service!r} (step {node.name!r})")
    return codec.encode(dump, Binding.remote_input(node.service, key))


def open_remote_output(
    saga: SagaContext, codec: EncryptionCodec, node: Remote, key: str, raw: bytes, read: Callable[[bytes], object]
) -> object:
    """A remote sub-saga's result (caller side), decrypted, then `read`. The run is already
    registered for compensation, so an unreadable result fails the saga and the remote saga is
    still undone."""
    try:
        return codec.decode(raw, Binding.remote_output(node.service, key), read)
    except DecryptionError as error:
        _block_if_replaying(saga.ctx, error)
        raise JournalUnreadableError(node.name, error) from error


def open_value(
    ctx: restate.Context, codec: EncryptionCodec, binding: Binding, raw: bytes, load: Callable[[bytes], T], status: int
) -> T:
    """A handler's input or a remote saga's payload or kept state, decrypted (callee side)."""
    try:
        return codec.decode(raw, binding, load, status_code=status)
    except DecryptionError as error:
        _block_if_replaying(ctx, error)
        raise


def seal_value(codec: EncryptionCodec, binding: Binding, dump: Callable[[], bytes]) -> bytes:
    """A handler's result or a remote saga's result or kept state, encrypted."""
    return codec.encode(dump, binding)


def open_input(
    saga: SagaContext, codec: EncryptionCodec, service: str, handler: str, key: str | None, tp: object, raw: bytes
) -> object:
    """A saga handler's input, sealed by its caller (`EncryptionCodec.seal_input`), decrypted and validated."""
    binding = Binding.input(service, handler, key)
    target = f"{service}.{handler}"
    return open_value(saga.ctx, codec, binding, raw, lambda plain: decode_input(target, tp, plain), 400)


def seal_output(saga: SagaContext, codec: EncryptionCodec, target: str, tp: object, result: object) -> bytes:
    """A saga handler's result, encrypted for its invocation (the caller reads it with `open_output`)."""
    return seal_value(codec, Binding.output(saga.invocation_id), lambda: encode_output(target, tp, result))
