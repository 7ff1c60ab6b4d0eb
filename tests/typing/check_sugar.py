"""Type tests for the seed API: decorators and constructors keep the step types."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Never, assert_type

import restate
from pydantic import BaseModel

from restate_saga import (
    SagaContext,
    SagaWorkflowService,
    Step,
    StepResponse,
    create_saga_module,
    create_saga_step,
    create_saga_step_strict,
    create_saga_workflow,
    run_nested_saga,
    saga_step,
    saga_step_strict,
    saga_workflow,
)


class CheckoutInput(BaseModel):
    customer_id: str


class OrderRef(BaseModel):
    order_id: str


async def cancel_order(data: OrderRef) -> None:
    return None


@saga_step_strict("CreateOrder", compensate=cancel_order)
async def create_order(ctx: restate.Context, value: CheckoutInput) -> StepResponse[OrderRef, OrderRef]:
    return StepResponse(OrderRef(order_id=value.customer_id))


assert_type(create_order, Step[CheckoutInput, OrderRef, OrderRef])


async def refund(data: str | OrderRef, failed: bool = False) -> None:
    return None


@saga_step("Charge", compensate=refund)
async def charge(ctx: restate.Context, order: OrderRef) -> StepResponse[int, str]:
    return StepResponse(10, compensation_data="auth-1")


assert_type(charge, Step[OrderRef, int, str | OrderRef])


@saga_step("Validate")
async def validate(ctx: restate.Context, value: CheckoutInput) -> StepResponse[bool, None]:
    if not value.customer_id:
        return StepResponse.permanent_failure("customer required", None)
    return StepResponse(True, compensation_data=None)


assert_type(validate, Step[CheckoutInput, bool, Never])
assert_type(create_order.then(charge), Step[CheckoutInput, int, None])


async def run_create(ctx: restate.Context, value: CheckoutInput) -> StepResponse[OrderRef, OrderRef]:
    return StepResponse(OrderRef(order_id="o"))


assert_type(create_saga_step_strict("CreateOrder", run_create, cancel_order), Step[CheckoutInput, OrderRef, OrderRef])


async def cancel_any(data: OrderRef | CheckoutInput, failed: bool = False) -> None:
    return None


assert_type(
    create_saga_step("CreateOrder", run_create, cancel_any),
    Step[CheckoutInput, OrderRef, OrderRef | CheckoutInput],
)


@saga_workflow("Checkout")
async def checkout(saga: SagaContext, value: CheckoutInput) -> dict[str, str]:
    order = await create_order(saga, value)
    assert_type(order, OrderRef)
    return {"order_id": order.order_id}


assert_type(checkout, SagaWorkflowService[CheckoutInput, dict[str, str]])
assert_type(create_saga_workflow("Pipeline", create_order.then(charge)), SagaWorkflowService[CheckoutInput, int])


async def parent(saga: SagaContext, value: CheckoutInput) -> str:
    result = await checkout.run_as_step(saga, value)
    assert_type(result, dict[str, str])

    async def inline(inner: SagaContext) -> int:
        return await charge(inner, OrderRef(order_id="o"))

    assert_type(await run_nested_saga(saga, inline), int)
    module = create_saga_module(checkout.saga_handler)
    assert_type(await module(saga, value), dict[str, str])
    return result["order_id"]


# --- wrong uses must be reported -----------------------------------------------------------


@saga_step_strict("Bad", compensate=cancel_order)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
async def wrong_data(ctx: restate.Context, value: CheckoutInput) -> StepResponse[OrderRef, int]:
    return StepResponse(OrderRef(order_id="o"), compensation_data=1)


async def wrong_input(saga: SagaContext) -> None:
    await create_order(saga, OrderRef(order_id="o"))  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]


# --- keyed sagas: virtual objects and Restate workflows ---------------------------------------

from restate_saga import create_saga_restate_workflow, create_saga_virtual_object  # noqa: E402

carts = create_saga_virtual_object("Carts")
orders = create_saga_restate_workflow("Orders")


@carts.handler()
async def checkout_cart(saga: SagaContext, ctx: restate.ObjectContext, value: CheckoutInput) -> OrderRef:
    return await create_order(saga, value)


assert_type(checkout_cart, Callable[[SagaContext, restate.ObjectContext, CheckoutInput], Awaitable[OrderRef]])


@carts.handler(kind="shared")
async def peek(ctx: restate.ObjectSharedContext) -> int:
    return 0


async def read_peek(ctx: restate.ObjectSharedContext) -> None:
    assert_type(await peek(ctx), int)  # a shared handler is kept as it is


@orders.main()
async def place(saga: SagaContext, ctx: restate.WorkflowContext, value: CheckoutInput) -> str:
    return (await create_order(saga, value)).order_id


assert_type(place, Callable[[SagaContext, restate.WorkflowContext, CheckoutInput], Awaitable[str]])


@carts.handler()  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]  # an exclusive handler needs `saga`
async def without_saga(ctx: restate.ObjectContext, value: CheckoutInput) -> None:
    return None


@orders.main()  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
async def main_without_saga(ctx: restate.WorkflowContext, value: CheckoutInput) -> None:
    return None
