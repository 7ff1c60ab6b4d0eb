"""Nested sagas: inline saga code and reusable saga modules that share the caller's stack."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from typing_extensions import TypeVar

from ._context import SagaContext
from ._step import Step, as_step

I = TypeVar("I")
O = TypeVar("O")


async def run_nested_saga(saga: SagaContext, handler: Callable[[SagaContext], Awaitable[O]]) -> O:
    """Run inline saga code whose compensations join `saga` (they run if the outer saga fails)."""
    return await handler(saga)


def create_saga_module(handler: Callable[[SagaContext, I], Awaitable[O]], name: str | None = None) -> Step[I, O, None]:
    """A reusable piece of saga code (not a Restate service): call it as `await module(saga, value)`.

    It is a `Step`, so it also composes with `then` and the other combinators.
    """
    return as_step(handler, name=name)
