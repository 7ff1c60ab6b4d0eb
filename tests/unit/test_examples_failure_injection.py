"""Every example saga, failed (and cancelled) at each of its steps in turn, rolls back exactly right."""

from __future__ import annotations

from examples.checkout import CheckoutInput, checkout_workflow
from examples.orders import OrderInput, order_workflow, payment_workflow
from examples.travel import Trip, travel_booking
from restate_saga.testing import check_compensations


async def test_checkout_rolls_back_correctly_at_every_step() -> None:
    report = await check_compensations(
        checkout_workflow, CheckoutInput(customer_id="ada", total=42), cancellation=True
    )
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
