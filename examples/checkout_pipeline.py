"""The checkout saga again, this time as a typed pipeline of step values.

`checkout.py` writes the saga as code that calls decorated steps; here the same three steps are
composed with `then`, each receiving the state the previous one returned. Because the pipeline
is a value, its shape is known before it runs: `print(checkout_pipeline)` shows it,
`checkout_pipeline.to_mermaid()` draws it (see the README), and `parallel`, `or_else` and
`with_timeout` compose the same way.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel

from examples import external
from restate_saga import create_saga_workflow, step


class Checkout(BaseModel):
    """The state that flows through the pipeline; each step fills in what it created."""

    customer_id: str
    total: int
    decline_card: bool = False
    fail_shipping: bool = False
    order_id: str = ""
    payment_id: str = ""
    shipment_id: str = ""


async def create_order(state: Checkout) -> Checkout:
    return state.model_copy(update={"order_id": await external.create_order(state.customer_id, state.total)})


async def cancel_order(state: Checkout) -> None:
    await external.cancel_order(state.order_id)


async def charge(state: Checkout) -> Checkout:
    payment_id = await external.charge(state.order_id, state.total, decline=state.decline_card)
    return state.model_copy(update={"payment_id": payment_id})


async def refund(state: Checkout) -> None:
    await external.refund(state.payment_id)


async def ship(state: Checkout) -> Checkout:
    return state.model_copy(update={"shipment_id": await external.ship(state.order_id, fail=state.fail_shipping)})


checkout_pipeline = (
    step("CreateOrder", create_order, cancel_order)
    .then(step("ProcessPayment", charge, refund).with_timeout(timedelta(seconds=30)))
    .then(step("CreateShipment", ship))
)

CheckoutPipeline = create_saga_workflow("CheckoutPipeline", checkout_pipeline)

if __name__ == "__main__":
    print(checkout_pipeline)
    print()
    print(checkout_pipeline.to_mermaid())
