"""Type tests for the step algebra: checked by pyright strict, never executed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import assert_type

from restate_saga import SagaContext, Step, StepResponse, as_step, hybrid_step, nested, step


@dataclass(frozen=True)
class Cart:
    customer: str
    total: int


@dataclass(frozen=True)
class Order:
    order_id: str
    total: int


@dataclass(frozen=True)
class Payment:
    payment_id: str


async def create_order(cart: Cart) -> Order:
    return Order("o-1", cart.total)


async def cancel_order(order: Order) -> None:
    return None


async def charge(order: Order) -> StepResponse[Payment, str]:
    return StepResponse(Payment("p-1"), compensation_data="auth-1")


async def refund(auth_id: str) -> None:
    return None


async def ship(payment: Payment) -> str:
    return "ship-1"


create = step("CreateOrder", create_order, cancel_order)
assert_type(create, Step[Cart, Order, Order])

pay = step("Charge", charge, refund)
assert_type(pay, Step[Order, Payment, str])

pipeline = create.then(pay).then(step("Ship", ship))
assert_type(pipeline, Step[Cart, str, None])

mapped = pipeline.map(len)
assert_type(mapped, Step[Cart, int, None])


async def hybrid_undo(data: Order | Cart, failed: bool = False) -> None:
    return None


hybrid = hybrid_step("CreateOrder", create_order, hybrid_undo)
assert_type(hybrid, Step[Cart, Order, Order | Cart])


async def payment_saga(saga: SagaContext, order: Order) -> Payment:
    return await pay(saga, order)


embedded = as_step(payment_saga)
assert_type(embedded, Step[Order, Payment, None])
assert_type(create.then(embedded), Step[Cart, Payment, None])
assert_type(nested("Payment", pay.then(step("Ship", ship))), Step[Order, str, None])
assert_type(nested("Payment", payment_saga), Step[Order, Payment, None])


async def run_it(saga: SagaContext) -> None:
    assert_type(await pipeline(saga, Cart("c", 3)), str)


# --- wrong compositions must be reported -------------------------------------------------

create.then(step("Ship", ship))  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
pay.then(pay)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
step("Bad", create_order, refund)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType, reportCallIssue]
pipeline.map(lambda n: n + 1)  # type: ignore[operator]  # pyright: ignore[reportOperatorIssue, reportUnknownLambdaType]


# --- running: as a whole saga, inside one, and what an action sees -------------------------------

import restate  # noqa: E402

from restate_saga import StepCall, current_step, run_saga  # noqa: E402


async def handler(ctx: restate.Context, cart: Cart) -> None:
    assert_type(await pipeline.run(ctx, cart), str)
    assert_type(await run_saga(ctx, pipeline, cart), str)
    assert_type(await run_saga(ctx, payment_saga, Order("o", 1)), Payment)
    assert_type(pipeline.validate(), Step[Cart, str, None])
    assert_type(current_step(), StepCall)
    await pipeline.run(ctx, Order("o", 1))  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
