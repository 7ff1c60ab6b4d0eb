"""Pivot discipline: compensatable steps, then one pivot, then only retriable steps.

After the pivot (the point of no return, e.g. charging the card) the saga can no longer roll
back; what follows must be able to finish: no compensation and no retry limit. Pyright rejects a
compensatable step after the pivot (a step with a compensation is not a `Step[..., Never]`),
and the builder checks the retry policies when it is built.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, Never, final

from typing_extensions import TypeVar

from ._errors import StepDefinitionError
from ._nodes import leaves_of
from ._step import Step

I = TypeVar("I", contravariant=True)
O = TypeVar("O", covariant=True)
O2 = TypeVar("O2")


@final
@dataclass(frozen=True, slots=True)
class Compensatable(Generic[I, O]):
    """Before the pivot: any steps."""

    steps: Step[I, O, object]

    def then(self, next_step: Step[O, O2, object], /) -> Compensatable[I, O2]:
        """Another compensatable step."""
        return Compensatable(self.steps.then(next_step))

    def pivot(self, pivot_step: Step[O, O2, object], /) -> Retriable[I, O2]:
        """The point of no return; only retriable steps may follow."""
        return Retriable(self.steps.then(pivot_step))


@final
@dataclass(frozen=True, slots=True)
class Retriable(Generic[I, O]):
    """After the pivot: steps without compensation that retry until they succeed."""

    steps: Step[I, O, object]

    def then(self, next_step: Step[O, O2, Never], /) -> Retriable[I, O2]:
        """Another retriable step (no compensation, no retry limit)."""
        for leaf in leaves_of(next_step.node):
            if leaf.compensation is not None:
                raise StepDefinitionError(f"step {leaf.name!r} has a compensation; none may follow the pivot")
            if leaf.options.retry is not None and leaf.options.retry.is_finite:
                raise StepDefinitionError(
                    f"step {leaf.name!r} has a finite retry policy; steps after the pivot must retry until they succeed"
                )
        return Retriable(self.steps.then(next_step))

    def build(self) -> Step[I, O, None]:
        """The whole saga as one pipeline."""
        return self.steps.map(_identity, label="pivot saga")


def _identity(value: O2) -> O2:
    return value


def compensatable(first: Step[I, O, object]) -> Compensatable[I, O]:
    """Start a pivot-disciplined saga with its first (compensatable) step."""
    return Compensatable(first)
