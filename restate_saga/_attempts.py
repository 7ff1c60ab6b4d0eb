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
from ._nodes import Leaf
from ._registry import resolve_terminal_error


async def attempt(leaf: Leaf, value: object, call: StepCall) -> bytes:
    """One attempt of the forward action: its journal value."""
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


async def intercepted_attempt(leaf: Leaf, value: object, call: StepCall, chain: Chain) -> bytes:
    """`attempt` inside the interceptors' `step_attempt` hooks."""
    return await chain.step_attempt(leaf, call, lambda: attempt(leaf, value, call))


async def intercepted_undo(
    leaf: Leaf, data: object, failed: bool, call: StepCall, cause: FailureCause, chain: Chain
) -> bytes:
    """`undo` inside the interceptors' `compensation_attempt` hooks."""
    return await chain.compensation_attempt(leaf, call, cause, failed, lambda: undo(leaf, data, failed, call, cause))
