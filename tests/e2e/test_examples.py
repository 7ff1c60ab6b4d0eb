"""Every example service, end to end: a real restate-server and `examples.app:app` under hypercorn.

The app runs in a child process (as in production), so side effects are read from its GET /ledger
endpoint: the simulated services' record, filtered by invocation id. Journal entries come from the
server's SQL API. The last tests check the services' idempotency in-process, without a server.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import httpx
import pytest

from examples import external
from examples.travel import Trip, travel_booking
from restate_saga.testing import (
    AppProcess,
    CallResult,
    FakeContext,
    RestateServer,
    RestateTestBed,
    register_deployment,
)

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Examples:
    """The running example app: calls through the ingress, journals, and the app's ledger."""

    bed: RestateTestBed
    app_url: str

    def call(self, service: str, handler: str, payload: Any = None, key: str | None = None) -> CallResult:
        return self.bed.call(service, handler, payload, key=key)

    def ledger(self, invocation_id: str | None) -> list[dict[str, Any]]:
        assert invocation_id is not None
        answer = httpx.get(f"{self.app_url}/ledger", params={"invocation": invocation_id}, timeout=10)
        answer.raise_for_status()
        return cast(list[dict[str, Any]], answer.json())

    def effects(self, invocation_id: str | None) -> list[str]:
        """The side effects applied for one invocation, in order, as "service: what"."""
        return [f"{e['service']}: {e['what']}" for e in self.ledger(invocation_id) if not e["repeated"]]

    def runs(self, invocation_id: str | None) -> list[str]:
        """The names of the invocation's run entries: steps, then `compensate:` entries."""
        assert invocation_id is not None
        return self.bed.run_entries(invocation_id)


@pytest.fixture(scope="module")
def examples() -> Iterator[Examples]:
    with RestateServer() as server, AppProcess("examples.app:app", cwd=ROOT) as app:
        register_deployment(server.admin_url, f"{app.url}/restate/v1")
        bed = RestateTestBed.attached(server)
        try:
            yield Examples(bed, app.url)
        finally:
            bed.close()


def an_id(text: str, prefix: str) -> str:
    """The first id like `ord-12` in `text`."""
    found = re.search(rf"\b{prefix}-\d+\b", text)
    assert found is not None, f"no {prefix}-id in {text!r}"
    return found.group(0)


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


# -- checkout.py --------------------------------------------------------------------------------


def test_checkout_succeeds_with_one_side_effect_per_step(examples: Examples) -> None:
    result = examples.call("CheckoutWorkflow", "run", {"customer_id": "ada", "total": 42})
    assert result.status_code == 200, result.body
    answer = result.json()
    order, payment, shipment = answer["order_id"], answer["payment_id"], answer["shipment_id"]
    assert examples.runs(result.invocation_id) == ["CreateOrder", "ProcessPayment", "CreateShipment"]
    assert examples.effects(result.invocation_id) == [
        f"orders: created {order} for ada (total 42)",
        f"payments: charged 42 for {order} as {payment}",
        f"shipping: booked {shipment} for {order}",
    ]


def test_checkout_shipping_failure_refunds_then_cancels(examples: Examples) -> None:
    result = examples.call("CheckoutWorkflow", "run", {"customer_id": "bob", "total": 17, "fail_shipping": True})
    assert result.status_code == 500
    assert "step 'CreateShipment' failed: ServiceUnavailable: no courier for ord-" in result.message
    assert examples.runs(result.invocation_id) == [
        "CreateOrder",
        "ProcessPayment",
        "CreateShipment",
        "compensate:ProcessPayment",
        "compensate:CreateOrder",
    ]
    effects = examples.effects(result.invocation_id)
    order, payment = an_id(effects[0], "ord"), an_id(effects[1], "pay")
    assert effects == [
        f"orders: created {order} for bob (total 17)",
        f"payments: charged 17 for {order} as {payment}",
        f"payments: refunded {payment}",
        f"orders: cancelled {order}",
    ]
    # Each compensation reaches the service with its step's own "undo" idempotency key.
    keys = [event["idempotency_key"] for event in examples.ledger(result.invocation_id)]
    assert keys == [
        f"{result.invocation_id}:0:CreateOrder",
        f"{result.invocation_id}:1:ProcessPayment",
        f"{result.invocation_id}:1:ProcessPayment:undo",
        f"{result.invocation_id}:0:CreateOrder:undo",
    ]


def test_checkout_declined_card_cancels_only_the_order(examples: Examples) -> None:
    result = examples.call("CheckoutWorkflow", "run", {"customer_id": "eve", "total": 99, "decline_card": True})
    assert result.status_code == 500
    assert "step 'ProcessPayment' failed: ServiceUnavailable: card declined" in result.message
    assert examples.runs(result.invocation_id) == ["CreateOrder", "ProcessPayment", "compensate:CreateOrder"]
    effects = examples.effects(result.invocation_id)
    order = an_id(effects[0], "ord")
    assert effects == [f"orders: created {order} for eve (total 99)", f"orders: cancelled {order}"]


def test_checkout_lost_payment_answer_is_retried_and_charges_once(examples: Examples) -> None:
    result = examples.call("CheckoutWorkflow", "run", {"customer_id": "dan", "total": 5, "lose_payment_answer": True})
    assert result.status_code == 200, result.body
    payment = result.json()["payment_id"]
    # Restate ran the payment action twice (the first answer was lost) but journaled it once...
    assert examples.runs(result.invocation_id) == ["CreateOrder", "ProcessPayment", "CreateShipment"]
    charges = [e for e in examples.ledger(result.invocation_id) if e["service"] == "payments"]
    assert [(e["what"].endswith(f"as {payment}"), e["repeated"]) for e in charges] == [(True, False), (True, True)]
    # ...and both requests carried the same idempotency key, so the card was charged once.
    assert charges[0]["idempotency_key"] == charges[1]["idempotency_key"]
    assert [e for e in examples.effects(result.invocation_id) if e.startswith("payments")] == [
        f"payments: charged 5 for {result.json()['order_id']} as {payment}"
    ]


# -- checkout_pipeline.py -------------------------------------------------------------------------


def test_checkout_pipeline_succeeds_and_rolls_back_like_the_handler_version(examples: Examples) -> None:
    done = examples.call("CheckoutPipeline", "run", {"customer_id": "pia", "total": 12})
    assert done.status_code == 200, done.body
    assert done.json()["shipment_id"].startswith("shp-")
    assert examples.runs(done.invocation_id) == ["CreateOrder", "ProcessPayment", "CreateShipment"]
    failed = examples.call("CheckoutPipeline", "run", {"customer_id": "pia", "total": 12, "fail_shipping": True})
    assert "step 'CreateShipment' failed" in failed.message
    effects = examples.effects(failed.invocation_id)
    order, payment = an_id(effects[0], "ord"), an_id(effects[1], "pay")
    assert effects[2:] == [f"payments: refunded {payment}", f"orders: cancelled {order}"]


# -- travel.py ----------------------------------------------------------------------------------


def test_travel_booking_succeeds(examples: Examples) -> None:
    trip = unique("trip")
    result = examples.call("TravelBooking", "run", {"trip_id": trip})
    assert result.status_code == 200, result.body
    answer = result.json()
    assert answer["trip_id"] == trip and answer["flight"].startswith("flight-")
    assert examples.runs(result.invocation_id) == ["BookFlight", "BookHotel", "BookCar"]
    assert examples.effects(result.invocation_id) == [
        f"travel: booked {answer['flight']} for {trip}",
        f"travel: booked {answer['hotel']} for {trip}",
        f"travel: booked {answer['car']} for {trip}",
    ]


def test_travel_car_failure_cancels_hotel_then_flight(examples: Examples) -> None:
    trip = unique("trip")
    result = examples.call("TravelBooking", "run", {"trip_id": trip, "fail_car": True})
    assert result.status_code == 500
    assert f"step 'BookCar' failed: ServiceUnavailable: no car available for {trip}" in result.message
    assert examples.runs(result.invocation_id) == [
        "BookFlight",
        "BookHotel",
        "BookCar",
        "compensate:BookHotel",
        "compensate:BookFlight",
    ]
    effects = examples.effects(result.invocation_id)
    flight, hotel = an_id(effects[0], "flight"), an_id(effects[1], "hotel")
    assert effects == [
        f"travel: booked {flight} for {trip}",
        f"travel: booked {hotel} for {trip}",
        f"travel: cancelled {hotel}",
        f"travel: cancelled {flight}",
    ]


# -- approval.py --------------------------------------------------------------------------------

PURCHASE = {"department": "it", "item": "laptop", "supplier": "acme", "amount": 900}


def run_approval(examples: Examples, decision: dict[str, Any]) -> tuple[str, CallResult]:
    """Start the workflow without waiting, signal the decision, then attach to the run's result."""
    key = unique("po")
    invocation_id = examples.bed.send("PurchaseApproval", "run", PURCHASE, key=key)
    signal = examples.call("PurchaseApproval", "approve", decision, key=key)
    assert signal.status_code == 200, signal.body
    return key, examples.bed.attach(invocation_id)


def test_approved_purchase_places_the_order(examples: Examples) -> None:
    key, result = run_approval(examples, {"approved": True, "reviewer": "grace"})
    assert result.status_code == 200, result.body
    answer = result.json()
    assert answer["approved_by"] == "grace"
    assert examples.runs(result.invocation_id) == ["HoldBudget", "PlacePurchaseOrder"]
    assert examples.effects(result.invocation_id) == [
        f"finance: held 900 of the it budget as {answer['hold_id']}",
        f"suppliers: ordered laptop from acme as {answer['purchase_order_id']}",
    ]
    assert examples.call("PurchaseApproval", "status", key=key).json() == "approved by grace"


def test_rejected_purchase_fails_and_releases_the_budget(examples: Examples) -> None:
    key, result = run_approval(examples, {"approved": False, "reviewer": "grace", "reason": "too dear"})
    assert result.status_code == 403
    assert result.message == "rejected by grace: too dear"
    assert examples.runs(result.invocation_id) == ["HoldBudget", "compensate:HoldBudget"]
    effects = examples.effects(result.invocation_id)
    hold = an_id(effects[0], "hold")
    assert effects == [f"finance: held 900 of the it budget as {hold}", f"finance: released {hold}"]
    assert examples.call("PurchaseApproval", "status", key=key).json() == "rejected by grace"


# -- cart.py ------------------------------------------------------------------------------------


def items(examples: Examples, cart: str) -> list[tuple[str, int]]:
    answer = examples.call("ShoppingCart", "get_items", key=cart)
    assert answer.status_code == 200, answer.body
    return [(line["item"], line["quantity"]) for line in answer.json()["lines"]]


def test_cart_add_item_over_the_limit_releases_the_reservation(examples: Examples) -> None:
    cart = unique("cart")
    added = examples.call("ShoppingCart", "add_item", {"item": "book", "quantity": 2}, key=cart)
    assert added.status_code == 200, added.body
    reservation = added.json()["lines"][0]["reservation_id"]
    assert examples.effects(added.invocation_id) == [f"inventory: reserved 2 book as {reservation}"]

    refused = examples.call("ShoppingCart", "add_item", {"item": "book", "quantity": 2}, key=cart)
    assert refused.status_code == 500
    assert "step 'CheckPurchaseLimit' failed" in refused.message and "at most 3 book" in refused.message
    assert examples.runs(refused.invocation_id) == ["ReserveStock", "CheckPurchaseLimit", "compensate:ReserveStock"]
    effects = examples.effects(refused.invocation_id)
    second = an_id(effects[0], "res")
    assert effects == [f"inventory: reserved 2 book as {second}", f"inventory: released {second} (2 book)"]
    assert items(examples, cart) == [("book", 2)]


def test_cart_unknown_item_fails_at_the_first_step_with_nothing_to_undo(examples: Examples) -> None:
    cart = unique("cart")
    result = examples.call("ShoppingCart", "add_item", {"item": "kite"}, key=cart)
    assert result.status_code == 500
    assert "step 'ReserveStock' failed: ServiceUnavailable: unknown item 'kite'" in result.message
    assert examples.runs(result.invocation_id) == ["ReserveStock"]
    assert examples.effects(result.invocation_id) == []
    assert items(examples, cart) == []


def test_cart_checkout_refunds_on_shipping_failure_then_succeeds(examples: Examples) -> None:
    cart = unique("cart")
    for item, quantity in (("book", 2), ("pen", 1)):
        added = examples.call("ShoppingCart", "add_item", {"item": item, "quantity": quantity}, key=cart)
        assert added.status_code == 200, added.body

    failed = examples.call("ShoppingCart", "checkout", {"fail_shipping": True}, key=cart)
    assert failed.status_code == 500
    assert "step 'ShipCart' failed" in failed.message
    assert examples.runs(failed.invocation_id) == ["ChargeCart", "ShipCart", "compensate:ChargeCart"]
    effects = examples.effects(failed.invocation_id)
    payment = an_id(effects[0], "pay")
    assert effects == [f"payments: charged 26 for cart {cart} as {payment}", f"payments: refunded {payment}"]
    assert items(examples, cart) == [("book", 2), ("pen", 1)]  # the cart keeps its items

    done = examples.call("ShoppingCart", "checkout", {}, key=cart)
    assert done.status_code == 200, done.body
    receipt = done.json()
    assert receipt["total"] == 2 * 12 + 2
    assert examples.runs(done.invocation_id) == ["ChargeCart", "ShipCart"]
    assert examples.effects(done.invocation_id) == [
        f"payments: charged 26 for cart {cart} as {receipt['payment_id']}",
        f"shipping: booked {receipt['shipment_id']} for cart {cart}",
    ]
    assert items(examples, cart) == []

    empty = examples.call("ShoppingCart", "checkout", {}, key=cart)
    assert (empty.status_code, empty.message) == (400, "the cart is empty")
    assert examples.runs(empty.invocation_id) == []


# -- orders.py ----------------------------------------------------------------------------------


def test_payment_workflow_runs_on_its_own(examples: Examples) -> None:
    result = examples.call("PaymentWorkflow", "run", {"reference": "ref-1", "amount": 3})
    assert result.status_code == 200, result.body
    answer = result.json()
    assert examples.runs(result.invocation_id) == ["AuthorizePayment", "CapturePayment"]
    assert examples.effects(result.invocation_id) == [
        f"payments: authorized 3 for ref-1 as {answer['auth_id']}",
        f"payments: captured {answer['auth_id']} as {answer['payment_id']}",
    ]


def test_order_with_embedded_payment_succeeds(examples: Examples) -> None:
    result = examples.call("OrderWorkflow", "run", {"customer_id": "ada", "total": 30})
    assert result.status_code == 200, result.body
    answer = result.json()
    assert examples.runs(result.invocation_id) == [
        "CreateOrder",
        "AuthorizePayment",
        "CapturePayment",
        "CreateShipment",
    ]
    assert (
        examples.effects(result.invocation_id)[-1]
        == f"shipping: booked {answer['shipment_id']} for {answer['order_id']}"
    )


def test_order_shipping_failure_compensates_payment_and_order(examples: Examples) -> None:
    result = examples.call("OrderWorkflow", "run", {"customer_id": "bob", "total": 30, "fail_shipping": True})
    assert result.status_code == 500
    assert "step 'CreateShipment' failed" in result.message
    assert examples.runs(result.invocation_id) == [
        "CreateOrder",
        "AuthorizePayment",
        "CapturePayment",
        "CreateShipment",
        "compensate:CapturePayment",
        "compensate:AuthorizePayment",
        "compensate:CreateOrder",
    ]
    effects = examples.effects(result.invocation_id)
    order, auth, payment = an_id(effects[0], "ord"), an_id(effects[1], "auth"), an_id(effects[2], "pay")
    assert effects == [
        f"orders: created {order} for bob (total 30)",
        f"payments: authorized 30 for {order} as {auth}",
        f"payments: captured {auth} as {payment}",
        f"payments: refunded {payment}",
        f"payments: voided {auth}",
        f"orders: cancelled {order}",
    ]


def test_ledger_is_served_outside_the_restate_prefix(examples: Examples) -> None:
    trip = unique("trip")
    booked = examples.call("TravelBooking", "run", {"trip_id": trip})
    assert booked.status_code == 200, booked.body
    everything = httpx.get(f"{examples.app_url}/ledger", timeout=10)
    assert everything.status_code == 200
    mine = [e["what"] for e in everything.json() if e["idempotency_key"].startswith(f"{booked.invocation_id}:")]
    assert mine == [f"booked {booked.json()[kind]} for {trip}" for kind in ("flight", "hotel", "car")]
    assert httpx.get(f"{examples.app_url}/elsewhere", timeout=10).status_code == 404


# -- idempotency of the simulated services (in-process, no server) -----------------------------


def applied_with(key_prefix: str) -> list[str]:
    return [e.what for e in external.applied() if e.idempotency_key.startswith(key_prefix)]


async def test_a_repeated_request_with_the_same_key_is_applied_once() -> None:
    key = unique("key")
    first = await external.charge("ord-x", 10, idempotency_key=key)
    again = await external.charge("ord-x", 10, idempotency_key=key)
    other = await external.charge("ord-x", 10, idempotency_key=key + "-other")
    assert again == first and other != first
    assert applied_with(key) == [f"charged 10 for ord-x as {first}", f"charged 10 for ord-x as {other}"]
    repeats = [e for e in external.events() if e.idempotency_key == key and e.repeated]
    assert len(repeats) == 1


async def test_a_repeated_reservation_and_a_retried_release_are_applied_once() -> None:
    key = unique("key")
    reservation = await external.reserve("mug", 1, idempotency_key=key)
    assert await external.reserve("mug", 1, idempotency_key=key) == reservation
    assert applied_with(key) == [f"reserved 1 mug as {reservation}"]
    await external.release(reservation, idempotency_key=key + ":undo")
    await external.release(reservation, idempotency_key=key + ":undo")  # a retried undo: no error
    assert applied_with(key) == [f"reserved 1 mug as {reservation}", f"released {reservation} (1 mug)"]


async def test_a_saga_run_again_after_a_crash_repeats_its_requests_but_applies_them_once() -> None:
    # A crash before Restate stored the results makes the same invocation run its actions again:
    # same invocation id, same step positions, so the same idempotency keys reach the services.
    invocation_id = unique("inv_crashed").replace("-", "")
    first = await travel_booking.run(FakeContext(invocation_id=invocation_id).as_context(), Trip("t-crash"))
    again = await travel_booking.run(FakeContext(invocation_id=invocation_id).as_context(), Trip("t-crash"))
    assert again == first
    assert applied_with(f"{invocation_id}:") == [
        f"booked {first.flight} for t-crash",
        f"booked {first.hotel} for t-crash",
        f"booked {first.car} for t-crash",
    ]
    keys = [e.idempotency_key for e in external.events() if e.idempotency_key.startswith(f"{invocation_id}:")]
    assert keys == [f"{invocation_id}:{n}:{name}" for n, name in enumerate(["BookFlight", "BookHotel", "BookCar"])] * 2


async def test_outside_a_step_a_service_call_needs_an_explicit_key() -> None:
    with pytest.raises(LookupError, match="current_step"):
        await external.create_order("ada", 1)


def test_the_app_is_fastapi_with_restate_mounted_and_the_ledger_as_a_route() -> None:
    from fastapi import FastAPI
    from starlette.routing import Mount

    from examples.app import PREFIX, app, restate_app

    assert isinstance(app, FastAPI)
    mounts = [route for route in app.routes if isinstance(route, Mount)]
    assert [(m.path, m.app) for m in mounts] == [(PREFIX, restate_app)]
    assert "/ledger" in {getattr(route, "path", None) for route in app.routes}
