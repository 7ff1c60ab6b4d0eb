"""Services for the definition checks end to end: adjacent steps whose declared types fit.

`mismatched()` builds the shape that used to be served and to fail every call with a 400 on the
second step's input (blaming the caller); it is now refused when it is built.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from restate_saga import SagaWorkflowService, create_saga_workflow, step


class Cart(BaseModel):
    customer: str


@dataclass(frozen=True)
class Order:
    order_id: str


@dataclass(frozen=True)
class RushOrder(Order):
    courier: str


@dataclass(frozen=True)
class Payment:
    payment_id: str


class Receipt(BaseModel):
    payment_id: str
    courier: str


async def create_rush_order(cart: Cart) -> RushOrder:
    return RushOrder(f"order-{cart.customer}", "bike")


async def charge(order: Order) -> Payment:  # accepts the subclass RushOrder
    return Payment(f"pay-{order.order_id}")


async def receipt_fields(payment: Payment) -> dict[str, str]:
    return {"payment_id": payment.payment_id, "courier": "bike"}


async def issue(receipt: Receipt) -> str:  # built by validation from the mapping before it
    return f"{receipt.payment_id} by {receipt.courier}"


async def ship(payment: Payment) -> str:
    return payment.payment_id


linked = (
    step("CreateRushOrder", create_rush_order)
    .then(step("Charge", charge))
    .then(step("ReceiptFields", receipt_fields))
    .then(step("Issue", issue))
)

LinkedTypes = create_saga_workflow("LinkedTypes", linked)


def mismatched() -> SagaWorkflowService[Any, Any]:
    """`CreateRushOrder` returns a `RushOrder`, and `Ship` takes a `Payment`."""
    pipeline: Any = step("CreateRushOrder", create_rush_order)
    return create_saga_workflow("Mismatched", pipeline.then(step("Ship", ship)))


services = [LinkedTypes]
