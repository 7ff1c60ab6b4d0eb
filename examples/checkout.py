"""The checkout saga: create an order, charge the customer, ship. The seed's quick start, typed.

A saga is a sequence of steps where each step that changes the world has an "undo", its
compensation. If a later step fails for good, the compensations of the steps that already ran
are run, newest first: here the payment is refunded, then the order cancelled.

`lose_payment_answer` simulates a network failure after the card was charged: Restate retries the
step, and the payment service recognises the step's idempotency key and does not charge twice.
"""

from __future__ import annotations

import restate
from pydantic import BaseModel

from examples import external
from restate_saga import SagaContext, StepResponse, register_terminal_errors, saga_step_strict, saga_workflow

# Errors are transient by default: Restate retries the step until it succeeds. A refusal by a
# service is final, though: registering it as terminal makes the saga compensate at once.
register_terminal_errors([external.ServiceUnavailable])


class CheckoutInput(BaseModel):
    customer_id: str
    total: int = 10  # the seed's example request sends only customer_id
    decline_card: bool = False
    fail_shipping: bool = False
    lose_payment_answer: bool = False


class OrderCreated(BaseModel):
    order_id: str


class PaymentDone(BaseModel):
    payment_id: str


class CheckoutResult(BaseModel):
    order_id: str
    payment_id: str
    shipment_id: str


# A compensation receives what its step returned (its "compensation data"): here the order.
async def cancel_order(order: OrderCreated) -> None:
    await external.cancel_order(order.order_id)


# A strict step: its compensation is registered only once the action has succeeded.
@saga_step_strict("CreateOrder", compensate=cancel_order)
async def create_order(ctx: restate.Context, value: CheckoutInput) -> StepResponse[OrderCreated, OrderCreated]:
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
    lose_answer: bool = False


@saga_step_strict("ProcessPayment", compensate=refund_payment)
async def process_payment(ctx: restate.Context, value: ChargeRequest) -> StepResponse[PaymentDone, PaymentDone]:
    # The payment service deduplicates by the step's idempotency key (see examples/external.py),
    # so a retry of this action after a lost answer returns the first payment, not a second one.
    payment_id = await external.charge(
        value.order_id, value.amount, decline=value.decline, lose_answer=value.lose_answer
    )
    return StepResponse(PaymentDone(payment_id=payment_id))


class ShipRequest(BaseModel):
    order_id: str
    fail: bool


# The last step has no compensation: nothing runs after it that could fail.
@saga_step_strict("CreateShipment")
async def create_shipment(ctx: restate.Context, value: ShipRequest) -> StepResponse[str, str]:
    return StepResponse(await external.ship(value.order_id, fail=value.fail))


@saga_workflow("CheckoutWorkflow")
async def checkout_workflow(saga: SagaContext, value: CheckoutInput) -> CheckoutResult:
    """Order, payment, shipment; any permanent failure rolls back what already happened."""
    order = await create_order(saga, value)
    payment = await process_payment(
        saga,
        ChargeRequest(
            order_id=order.order_id,
            amount=value.total,
            decline=value.decline_card,
            lose_answer=value.lose_payment_answer,
        ),
    )
    shipment_id = await create_shipment(saga, ShipRequest(order_id=order.order_id, fail=value.fail_shipping))
    return CheckoutResult(order_id=order.order_id, payment_id=payment.payment_id, shipment_id=shipment_id)
