"""The checkout saga: create an order, charge the customer, ship. The seed's quick start, typed.

If charging or shipping fails for good, the steps that already ran are undone newest first:
the payment is refunded, then the order cancelled.
"""

from __future__ import annotations

import restate
from pydantic import BaseModel

from examples import external
from restate_saga import SagaContext, StepResponse, register_terminal_errors, saga_step_strict, saga_workflow

# A refusal by a service is final: compensate at once instead of retrying.
register_terminal_errors([external.ServiceUnavailable])


class CheckoutInput(BaseModel):
    customer_id: str
    total: int
    decline_card: bool = False
    fail_shipping: bool = False


class OrderCreated(BaseModel):
    order_id: str


class PaymentDone(BaseModel):
    payment_id: str


class CheckoutResult(BaseModel):
    order_id: str
    payment_id: str
    shipment_id: str


async def cancel_order(order: OrderCreated) -> None:
    await external.cancel_order(order.order_id)


@saga_step_strict("CreateOrder", compensate=cancel_order)
async def create_order(
    ctx: restate.Context, value: CheckoutInput
) -> StepResponse[OrderCreated, OrderCreated]:
    # Runs inside one durable journal entry: if the service crashes after this returns,
    # Restate replays the recorded result instead of creating a second order.
    order_id = await external.create_order(value.customer_id, value.total)
    return StepResponse(OrderCreated(order_id=order_id))


async def refund_payment(payment: PaymentDone) -> None:
    await external.refund(payment.payment_id)


class ChargeRequest(BaseModel):
    order_id: str
    amount: int
    decline: bool


@saga_step_strict("ProcessPayment", compensate=refund_payment)
async def process_payment(
    ctx: restate.Context, value: ChargeRequest
) -> StepResponse[PaymentDone, PaymentDone]:
    payment_id = await external.charge(value.order_id, value.amount, decline=value.decline)
    return StepResponse(PaymentDone(payment_id=payment_id))


class ShipRequest(BaseModel):
    order_id: str
    fail: bool


@saga_step_strict("CreateShipment")
async def create_shipment(ctx: restate.Context, value: ShipRequest) -> StepResponse[str, str]:
    return StepResponse(await external.ship(value.order_id, fail=value.fail))


@saga_workflow("CheckoutWorkflow")
async def checkout_workflow(saga: SagaContext, value: CheckoutInput) -> CheckoutResult:
    """Order, payment, shipment; any permanent failure rolls back what already happened."""
    order = await create_order(saga, value)
    payment = await process_payment(
        saga, ChargeRequest(order_id=order.order_id, amount=value.total, decline=value.decline_card)
    )
    shipment_id = await create_shipment(saga, ShipRequest(order_id=order.order_id, fail=value.fail_shipping))
    return CheckoutResult(order_id=order.order_id, payment_id=payment.payment_id, shipment_id=shipment_id)
