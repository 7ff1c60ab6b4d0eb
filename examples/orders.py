"""Composed sagas: a payment saga embedded into an order saga.

`PaymentWorkflow` is a saga of its own (authorize the card, then capture the money) and a Restate
service you can call directly. `OrderWorkflow` runs it *inside* its own saga with
`payment_workflow.run_as_step(saga, ...)`: the payment's steps join the order's journal and its
compensations join the order's stack. So when shipping fails after the payment went through, the
whole chain is undone, newest first: refund the capture, void the authorization, cancel the order.
"""

from __future__ import annotations

from pydantic import BaseModel

from examples import external
from restate_saga import SagaContext, register_terminal_errors, saga_workflow, step

register_terminal_errors([external.ServiceUnavailable])  # a refusal is final: compensate at once

# -- the payment saga ------------------------------------------------------------------------


class PaymentRequest(BaseModel):
    reference: str
    amount: int


class Authorization(BaseModel):
    auth_id: str


class Captured(BaseModel):
    payment_id: str


class PaymentResult(BaseModel):
    auth_id: str
    payment_id: str


async def authorize(request: PaymentRequest) -> Authorization:
    return Authorization(auth_id=await external.authorize(request.reference, request.amount))


async def void(auth: Authorization) -> None:
    await external.void_authorization(auth.auth_id)


async def capture(auth: Authorization) -> Captured:
    return Captured(payment_id=await external.capture(auth.auth_id))


async def refund(captured: Captured) -> None:
    await external.refund(captured.payment_id)


authorize_step = step("AuthorizePayment", authorize, void)
capture_step = step("CapturePayment", capture, refund)


@saga_workflow("PaymentWorkflow")
async def payment_workflow(saga: SagaContext, request: PaymentRequest) -> PaymentResult:
    """Authorize, then capture. Called directly it is a saga of its own; embedded, it joins the caller's."""
    auth = await authorize_step(saga, request)
    captured = await capture_step(saga, auth)
    return PaymentResult(auth_id=auth.auth_id, payment_id=captured.payment_id)


# -- the order saga --------------------------------------------------------------------------


class OrderInput(BaseModel):
    customer_id: str
    total: int
    fail_shipping: bool = False


class Order(BaseModel):
    order_id: str


class Shipping(BaseModel):
    order_id: str
    fail: bool


class OrderResult(BaseModel):
    order_id: str
    payment_id: str
    shipment_id: str


async def create_order(request: OrderInput) -> Order:
    return Order(order_id=await external.create_order(request.customer_id, request.total))


async def cancel_order(order: Order) -> None:
    await external.cancel_order(order.order_id)


async def create_shipment(shipping: Shipping) -> str:
    return await external.ship(shipping.order_id, fail=shipping.fail)


create_order_step = step("CreateOrder", create_order, cancel_order)
create_shipment_step = step("CreateShipment", create_shipment)


@saga_workflow("OrderWorkflow")
async def order_workflow(saga: SagaContext, request: OrderInput) -> OrderResult:
    """Create the order, run the payment saga as a step, ship; a failure anywhere undoes it all."""
    order = await create_order_step(saga, request)
    # Not a call to another service: the payment saga runs right here, in this invocation.
    payment = await payment_workflow.run_as_step(saga, PaymentRequest(reference=order.order_id, amount=request.total))
    shipment_id = await create_shipment_step(saga, Shipping(order_id=order.order_id, fail=request.fail_shipping))
    return OrderResult(order_id=order.order_id, payment_id=payment.payment_id, shipment_id=shipment_id)
