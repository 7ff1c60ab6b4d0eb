"""One attempt of a step's action or compensation: the code that runs inside its `ctx.run_typed` entry.

`attempt` and `undo` are what runs when no interceptor wraps attempts; `intercepted_attempt` and
`intercepted_undo` run the same inside the interceptors' hooks.
"""

from __future__ import annotations

from restate import TerminalError

from ._cause import FailureCause
from ._chain import Chain
from ._codec import Unreadable
from ._current import StepCall, enter, leave
from ._encryption import EncryptionCodec
from ._nodes import Leaf
from ._registry import resolve_terminal_error
from ._sealing import StepSealer, seal_step


async def attempt(
    leaf: Leaf, value: object, call: StepCall, codec: EncryptionCodec | None = None, sealer: StepSealer | None = None
) -> bytes:
    """One attempt of the forward action: its journal value (encrypted by `codec`, if any; with a
    `sealer`, the value before encryption, which the sealer then encrypts)."""
    token = enter(call)
    try:
        result = await leaf.action(value)
    except TerminalError:
        raise
    except Exception as error:
        terminal = resolve_terminal_error(error, leaf.options.as_terminal_error)
        if terminal is None:
            raise
        raise terminal from error
    finally:
        leave(token)
    if codec is not None:
        return seal_step(codec, leaf, result, call)
    if sealer is not None:
        return sealer.plain(result)
    return leaf.codec.encode(result)


async def undo(leaf: Leaf, data: object, failed: bool, call: StepCall, cause: FailureCause) -> bytes:
    """One attempt of the compensation; journals an empty value."""
    compensation = leaf.compensation
    assert compensation is not None
    if isinstance(data, Unreadable):  # its data could not be read back from the journal
        raise TerminalError(f"not run: {data.reason}")
    kwargs: dict[str, object] = {}
    if leaf.compensation_takes_failed:
        kwargs["failed"] = failed
    if leaf.compensation_takes_cause:
        kwargs["cause"] = cause
    token = enter(call)
    try:
        await compensation(data, **kwargs)
    finally:
        leave(token)
    return b""


async def intercepted_attempt(
    leaf: Leaf, value: object, call: StepCall, chain: Chain, codec: EncryptionCodec | None = None
) -> bytes:
    """`attempt` inside the interceptors' `step_attempt` hooks (they see the value before it is encrypted)."""
    if codec is None:
        return await chain.step_attempt(leaf, call, lambda: attempt(leaf, value, call))
    sealer = StepSealer(codec, leaf, call)
    return sealer.seal(await chain.step_attempt(leaf, call, lambda: attempt(leaf, value, call, None, sealer)))


async def intercepted_undo(
    leaf: Leaf, data: object, failed: bool, call: StepCall, cause: FailureCause, chain: Chain
) -> bytes:
    """`undo` inside the interceptors' `compensation_attempt` hooks."""
    return await chain.compensation_attempt(leaf, call, cause, failed, lambda: undo(leaf, data, failed, call, cause))
