"""Type tests for variance: a step is accepted wherever its types are compatible.

`Step[I, O, C]` is contravariant in its input and covariant in its output and compensation data;
so are the pivot builders and `SagaWorkflowService`. `RemoteSagaRef` is covariant in its output.
Checked by pyright strict and mypy strict, never executed.
"""

from __future__ import annotations

from typing import Never, assert_type

from restate_saga import (
    Compensatable,
    RemoteSagaRef,
    Retriable,
    SagaContext,
    SagaWorkflowService,
    Step,
    compensatable,
    create_saga_workflow,
    parallel,
    remote_saga_ref,
    step,
)


class Base:
    pass


class Sub(Base):
    pass


async def base_to_sub(value: Base) -> Sub:
    return Sub()


async def base_to_base(value: Base) -> Base:
    return value


async def sub_to_sub(value: Sub) -> Sub:
    return value


async def sub_to_int(value: Sub) -> int:
    return 1


async def base_to_str(value: Base) -> str:
    return ""


async def undo_sub(value: Sub) -> None:
    return None


async def undo_base(value: Base) -> None:
    return None


refine = step("Refine", base_to_sub)
assert_type(refine, Step[Base, Sub, Never])
widen = step("Widen", base_to_base, undo_base)
narrow = step("Narrow", sub_to_sub, undo_sub)
assert_type(narrow, Step[Sub, Sub, Sub])

# --- assignments that hold by variance -------------------------------------------------------

out_covariant: Step[Base, Base, object] = refine  # a narrower output, no compensation data
in_contravariant: Step[Sub, Sub, Never] = refine  # a wider input
data_covariant: Step[Sub, Sub, Base] = narrow  # narrower compensation data
never_data: Step[Base, Sub, Sub] = refine  # `Never` data fits any data type


def takes_base_step(s: Step[Base, Base, object]) -> Step[Base, Base, object]:
    return s


takes_base_step(refine)
takes_base_step(widen)

# --- composition through related types -------------------------------------------------------

assert_type(narrow.then(widen), Step[Sub, Base, None])  # Sub output fed to a Base input
assert_type(refine.then(narrow), Step[Base, Sub, None])
assert_type(refine.map(lambda sub: [sub]), Step[Base, list[Sub], None])
assert_type(parallel(refine, widen), Step[Base, tuple[Sub, Base], None])
assert_type(parallel(widen, narrow), Step[Sub, tuple[Base, Sub], None])  # the narrower input wins
assert_type(parallel(narrow, widen), Step[Sub, tuple[Sub, Base], None])
assert_type(parallel(refine, widen, refine, widen, refine, widen), Step[Base, tuple[Base, ...], None])
assert_type(widen.or_else(refine), Step[Base, Base, None])  # the alternative may return less
assert_type(narrow.or_else(step("SubFromBase", base_to_sub)), Step[Sub, Sub, None])  # and accept more

# --- the pivot builder, services and remote references ---------------------------------------

builder = compensatable(refine)
assert_type(builder, Compensatable[Base, Sub])
as_wider: Compensatable[Sub, Base] = builder
after_pivot = builder.pivot(narrow)
assert_type(after_pivot, Retriable[Base, Sub])
retriable_wider: Retriable[Sub, object] = after_pivot
assert_type(after_pivot.then(step("Report", base_to_str)).build(), Step[Base, str, None])


async def saga_code(saga: SagaContext, value: Base) -> Sub:
    return await refine(saga, value)


service = create_saga_workflow("Refining", saga_code)
assert_type(service, SagaWorkflowService[Base, Sub])
service_wider: SagaWorkflowService[Sub, Base] = service
assert_type(service.as_step(), Step[Base, Sub, None])

ref = remote_saga_ref("Remote", Base, Sub)
assert_type(ref, RemoteSagaRef[Base, Sub])
ref_wider_output: RemoteSagaRef[Base, Base] = ref

# --- what variance must still refuse ---------------------------------------------------------

wider_output: Step[Base, Sub, object] = widen  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]
narrower_input: Step[Base, Sub, Sub] = narrow  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]
wider_data: Step[Sub, Sub, Never] = narrow  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]
widen.then(narrow)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
takes_base_step(narrow)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
builder_narrower: Compensatable[Base, Sub] = compensatable(widen)  # type: ignore[arg-type]  # pyright: ignore[reportAssignmentType]
service_narrower: SagaWorkflowService[Base, Base] = create_saga_workflow("N", narrow)  # type: ignore[arg-type]  # pyright: ignore[reportAssignmentType]
ref_wider_input: RemoteSagaRef[Sub, Sub] = ref  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]
parallel(refine, step("SubInt", sub_to_int)).then(narrow)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
refine.or_else(widen)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]  # the alternative returns more
narrow.or_else(widen)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
