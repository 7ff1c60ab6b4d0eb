"""The shapes a compensation may take, for the type checkers (never imported at run time).

A compensation is called as `compensate(data)`, plus `failed=` and `cause=` by keyword when it
has parameters of those names. A function whose `failed` or `cause` has a default fits the plain
`Callable[[C], Awaitable[object]]`; these protocols also admit the ones where they are required.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol, TypeAlias, TypeVar

from ._cause import FailureCause

C = TypeVar("C")
C_contra = TypeVar("C_contra", contravariant=True)


class TakesFailed(Protocol[C_contra]):
    """`async def undo(data, *, failed: bool)` (keyword-only or not)."""

    def __call__(self, data: C_contra, /, *, failed: bool) -> Awaitable[object]: ...


class TakesCause(Protocol[C_contra]):
    """`async def undo(data, *, cause: FailureCause)` (keyword-only or not)."""

    def __call__(self, data: C_contra, /, *, cause: FailureCause) -> Awaitable[object]: ...


class TakesFailedAndCause(Protocol[C_contra]):
    """`async def undo(data, *, failed: bool, cause: FailureCause)` (keyword-only or not)."""

    def __call__(self, data: C_contra, /, *, failed: bool, cause: FailureCause) -> Awaitable[object]: ...


Compensation: TypeAlias = (
    Callable[[C], Awaitable[object]] | TakesFailed[C] | TakesCause[C] | TakesFailedAndCause[C]
)
"""A compensation of data `C`, in any of the forms it is called correctly in."""
