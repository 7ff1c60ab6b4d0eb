"""The seed's step API: `create_saga_step(_strict)` and `@saga_step(_strict)`, building `Step` values.

Their actions take `(ctx, value)` for compatibility. The action runs inside one durable
`ctx.run_typed` entry, where the Restate context must not be used: the `ctx` it receives
raises `ContextMisuseError` on any use, instead of hanging or corrupting the journal.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Never, overload

import restate
from typing_extensions import TypeVar

from ._context import sealed_context
from ._definitions import awaitable_call
from ._nodes import Mode
from ._options import SagaStepOptions
from ._response import StepResponse
from ._step import Step, leaf_step

if TYPE_CHECKING:
    from ._compensations import Compensation

I = TypeVar("I")
O = TypeVar("O")
C = TypeVar("C")

SeedAction = Callable[[restate.Context, I], Awaitable[StepResponse[O, C]]]
"""A seed-style action: `async def run(ctx, value) -> StepResponse[O, C]`."""


def _build(
    name: str,
    run: Callable[[restate.Context, Any], Awaitable[object]],
    compensate: Callable[..., Awaitable[object]] | None,
    mode: Mode,
    options: SagaStepOptions | None,
) -> Step[Any, Any, Any]:
    sealed = sealed_context(name)
    call = awaitable_call(f"step {name!r}", "the action", run)

    async def action(value: object) -> object:
        return await call(sealed, value)

    return leaf_step(name, action, compensate, mode, options, hints_from=run, input_position=1)


@overload
def create_saga_step(
    name: str, run: SeedAction[I, O, object], compensate: None = None, options: SagaStepOptions | None = None
) -> Step[I, O, Never]: ...
@overload
def create_saga_step(
    name: str,
    run: SeedAction[I, O, C],
    compensate: Compensation[C | I],
    options: SagaStepOptions | None = None,
) -> Step[I, O, C | I]: ...
def create_saga_step(
    name: str,
    run: SeedAction[Any, Any, Any],
    compensate: Compensation[Any] | None = None,
    options: SagaStepOptions | None = None,
) -> Step[Any, Any, Any]:
    """A hybrid step: compensation registered before the action; it receives the input if the action failed."""
    return _build(name, run, compensate, Mode.HYBRID, options)


@overload
def create_saga_step_strict(
    name: str, run: SeedAction[I, O, object], compensate: None = None, options: SagaStepOptions | None = None
) -> Step[I, O, Never]: ...
@overload
def create_saga_step_strict(
    name: str,
    run: SeedAction[I, O, C],
    compensate: Compensation[C],
    options: SagaStepOptions | None = None,
) -> Step[I, O, C]: ...
def create_saga_step_strict(
    name: str,
    run: SeedAction[Any, Any, Any],
    compensate: Compensation[Any] | None = None,
    options: SagaStepOptions | None = None,
) -> Step[Any, Any, Any]:
    """A strict step: compensation registered only after the action succeeded."""
    return _build(name, run, compensate, Mode.STRICT, options)


@overload
def saga_step(
    name: str, compensate: None = None, options: SagaStepOptions | None = None
) -> Callable[[SeedAction[I, O, object]], Step[I, O, Never]]: ...
@overload
def saga_step(
    name: str, compensate: Callable[[C], Awaitable[object]], options: SagaStepOptions | None = None
) -> Callable[[SeedAction[I, O, C]], Step[I, O, C]]: ...
@overload
def saga_step(
    name: str, compensate: Compensation[C], options: SagaStepOptions | None = None
) -> Callable[[SeedAction[I, O, C]], Step[I, O, C]]: ...
def saga_step(
    name: str,
    compensate: Compensation[Any] | None = None,
    options: SagaStepOptions | None = None,
) -> Callable[[SeedAction[Any, Any, Any]], Step[Any, Any, Any]]:
    """Decorator: the function becomes a hybrid `Step` (see `create_saga_step`).

    On a failed action the compensation receives the step's *input*. A decorator factory cannot
    see the input type when it checks `compensate`, so type the compensation's data as `C | I`
    yourself (or use `create_saga_step` / `hybrid_step`, which check it).
    """

    def decorate(run: SeedAction[Any, Any, Any]) -> Step[Any, Any, Any]:
        return _build(name, run, compensate, Mode.HYBRID, options)

    return decorate


@overload
def saga_step_strict(
    name: str, compensate: None = None, options: SagaStepOptions | None = None
) -> Callable[[SeedAction[I, O, object]], Step[I, O, Never]]: ...
@overload
def saga_step_strict(
    name: str, compensate: Callable[[C], Awaitable[object]], options: SagaStepOptions | None = None
) -> Callable[[SeedAction[I, O, C]], Step[I, O, C]]: ...
@overload
def saga_step_strict(
    name: str, compensate: Compensation[C], options: SagaStepOptions | None = None
) -> Callable[[SeedAction[I, O, C]], Step[I, O, C]]: ...
def saga_step_strict(
    name: str,
    compensate: Compensation[Any] | None = None,
    options: SagaStepOptions | None = None,
) -> Callable[[SeedAction[Any, Any, Any]], Step[Any, Any, Any]]:
    """Decorator: the function becomes a strict `Step` (see `create_saga_step_strict`)."""

    def decorate(run: SeedAction[Any, Any, Any]) -> Step[Any, Any, Any]:
        return _build(name, run, compensate, Mode.STRICT, options)

    return decorate
