"""Every example saga, failed (and cancelled) at each of its steps in turn, rolls back exactly right."""

from __future__ import annotations

from examples.checkout import CheckoutInput, checkout_workflow
from examples.orders import OrderInput, order_workflow, payment_workflow
from examples.travel import Trip, travel_booking
from restate_saga.testing import check_compensations


async def test_checkout_rolls_back_correctly_at_every_step() -> None:
    report = await check_compensations(checkout_workflow, CheckoutInput(customer_id="ada", total=42), cancellation=True)
    assert report.ok, str(report)
    assert [o.step for o in report.outcomes if o.kind == "failure"] == [
        "CreateOrder",
        "ProcessPayment",
        "CreateShipment",
    ]
    last = next(o for o in report.outcomes if o.kind == "failure" and o.step == "CreateShipment")
    assert last.actual == ("compensate:ProcessPayment", "compensate:CreateOrder")


async def test_travel_pipeline_rolls_back_correctly_at_every_step() -> None:
    report = await check_compensations(travel_booking, Trip(trip_id="t-1"), cancellation=True)
    assert report.ok, str(report)
    assert len(report.outcomes) == 6


async def test_composed_order_and_payment_roll_back_correctly_at_every_step() -> None:
    report = await check_compensations(order_workflow, OrderInput(customer_id="c", total=5), cancellation=True)
    assert report.ok, str(report)
    steps = [o.step for o in report.outcomes if o.kind == "failure"]
    assert steps == ["CreateOrder", "AuthorizePayment", "CapturePayment", "CreateShipment"]
    assert (await check_compensations(payment_workflow, {"reference": "r", "amount": 3})).ok


async def test_checkout_pipeline_rolls_back_correctly_at_every_step() -> None:
    from examples.checkout_pipeline import Checkout, checkout_pipeline

    report = await check_compensations(checkout_pipeline, Checkout(customer_id="c", total=3), cancellation=True)
    assert report.ok, str(report)
    assert len(report.outcomes) == 6


async def test_cart_handlers_roll_back_correctly_at_every_step() -> None:
    from examples.cart import CART, AddItem, CheckoutRequest, add_item, checkout
    from restate_saga.testing import FakeContext, keyed

    adding = await check_compensations(keyed(add_item), AddItem(item="book"), cancellation=True)
    assert adding.ok, str(adding)
    cart = {"lines": [{"item": "book", "quantity": 1, "reservation_id": "res-1"}]}
    paying = await check_compensations(
        keyed(checkout), CheckoutRequest(), cancellation=True, context=lambda: FakeContext(state={CART: cart})
    )
    assert paying.ok, str(paying)
    assert [o.step for o in paying.outcomes if o.kind == "failure"] == ["ChargeCart", "ShipCart"]
    assert [o.step for o in adding.outcomes if o.kind == "failure"] == ["ReserveStock", "CheckPurchaseLimit"]


async def test_approval_workflow_rolls_back_correctly_at_every_step() -> None:
    from examples.approval import APPROVAL, PurchaseRequest, run
    from restate_saga.testing import FakeContext, keyed

    approved = {"approved": True, "reviewer": "rita"}
    report = await check_compensations(
        keyed(run),
        PurchaseRequest(department="ops", item="laptop", supplier="acme", amount=900),
        cancellation=True,
        context=lambda: FakeContext(promises={APPROVAL: approved}),
    )
    assert report.ok, str(report)
    assert len(report.outcomes) >= 4
