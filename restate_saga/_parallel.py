"""`parallel(...)`: steps that run concurrently on one input, with a typed tuple as output."""

from __future__ import annotations

from typing import Any, Literal, overload

from typing_extensions import TypeVar

from ._errors import StepDefinitionError
from ._nodes import Leaf, Parallel
from ._step import Step

I = TypeVar("I")
O1 = TypeVar("O1")
O2 = TypeVar("O2")
O3 = TypeVar("O3")
O4 = TypeVar("O4")
O5 = TypeVar("O5")

Compensation = Literal["sequential", "parallel"]


@overload
def parallel(
    a: Step[I, O1, object],
    b: Step[I, O2, object],
    /,
    *,
    name: str | None = None,
    compensation: Compensation = "sequential",
    max_concurrency: int | None = None,
) -> Step[I, tuple[O1, O2], None]: ...
@overload
def parallel(
    a: Step[I, O1, object],
    b: Step[I, O2, object],
    c: Step[I, O3, object],
    /,
    *,
    name: str | None = None,
    compensation: Compensation = "sequential",
    max_concurrency: int | None = None,
) -> Step[I, tuple[O1, O2, O3], None]: ...
@overload
def parallel(
    a: Step[I, O1, object],
    b: Step[I, O2, object],
    c: Step[I, O3, object],
    d: Step[I, O4, object],
    /,
    *,
    name: str | None = None,
    compensation: Compensation = "sequential",
    max_concurrency: int | None = None,
) -> Step[I, tuple[O1, O2, O3, O4], None]: ...
@overload
def parallel(
    a: Step[I, O1, object],
    b: Step[I, O2, object],
    c: Step[I, O3, object],
    d: Step[I, O4, object],
    e: Step[I, O5, object],
    /,
    *,
    name: str | None = None,
    compensation: Compensation = "sequential",
    max_concurrency: int | None = None,
) -> Step[I, tuple[O1, O2, O3, O4, O5], None]: ...
@overload
def parallel(
    *steps: Step[I, O1, object],
    name: str | None = None,
    compensation: Compensation = "sequential",
    max_concurrency: int | None = None,
) -> Step[I, tuple[O1, ...], None]: ...
def parallel(
    *steps: Step[Any, Any, object],
    name: str | None = None,
    compensation: Compensation = "sequential",
    max_concurrency: int | None = None,
) -> Step[Any, Any, None]:
    """Run single steps concurrently on the same input; the output is the tuple of their outputs.

    Each branch is one durable entry, started in order and awaited together. If any branch fails
    for good, the siblings still in flight are waited for, then exactly the branches that
    succeeded (and hybrid branches that registered) are compensated, then the earlier steps.
    `compensation="parallel"` undoes the group's branches concurrently; `max_concurrency` starts
    at most that many branches at a time (in order).
    """
    if len(steps) < 2:
        raise StepDefinitionError("parallel needs at least two steps")
    if max_concurrency is not None and max_concurrency < 1:
        raise StepDefinitionError(f"parallel: max_concurrency must be >= 1, got {max_concurrency}")
    if compensation not in ("sequential", "parallel"):
        raise StepDefinitionError(f"parallel: compensation must be 'sequential' or 'parallel', got {compensation!r}")
    branches: list[Leaf] = []
    for each in steps:
        if not isinstance(each.node, Leaf):
            raise StepDefinitionError(
                f"parallel: branch {each.name!r} is a composed pipeline; branches must be single steps "
                "(run a whole pipeline concurrently as a remote sub-saga instead)"
            )
        branches.append(each.node)
    names = [leaf.name for leaf in branches]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise StepDefinitionError(f"parallel: branch names must differ, repeated: {', '.join(duplicates)}")
    label = name or "parallel(" + ", ".join(names) + ")"
    return Step(label, Parallel(label, tuple(branches), compensation == "parallel", max_concurrency))
