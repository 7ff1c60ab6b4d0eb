"""Pattern: carrying earlier outputs through a pipeline, past a parallel group.

A step receives only the output of the step before it, and a parallel group outputs the tuple of
its branches' outputs. So what a later step needs from earlier ones travels along in those
values: each branch returns what it adds together with the input it got, and a `map` (a pure
function of the value: no journal entry) joins the group's tuple into the next step's input.
pyright checks every hand-over.

    POST /Fulfilment/run  {"order_id": "o-1", "item": "book", "amount": 12}

Reserve and Charge run at once; Ship needs the order, the reservation and the payment. If the
shipment fails, both branches are undone (the payment refunded, the reservation released).
"""

from __future__ import annotations

from dataclasses import dataclass

from examples import external
from restate_saga import create_saga_workflow, parallel, register_terminal_errors, step

register_terminal_errors([external.ServiceUnavailable])  # a refusal is final: compensate at once


@dataclass(frozen=True)
class Order:
    order_id: str
    item: str
    amount: int
    fail_shipping: bool = False


@dataclass(frozen=True)
class Reserved:
    order: Order  # the branch's input, carried along with what it adds
    reservation_id: str


@dataclass(frozen=True)
class Charged:
    order: Order
    payment_id: str


@dataclass(frozen=True)
class Packed:
    order: Order
    reservation_id: str
    payment_id: str


@dataclass(frozen=True)
class Fulfilled:
    order_id: str
    reservation_id: str
    payment_id: str
    shipment_id: str


async def reserve(order: Order) -> Reserved:
    return Reserved(order, await external.reserve(order.item, 1))


async def release(reserved: Reserved) -> None:
    await external.release(reserved.reservation_id)


async def charge(order: Order) -> Charged:
    return Charged(order, await external.charge(order.order_id, order.amount))


async def refund(charged: Charged) -> None:
    await external.refund(charged.payment_id)


async def ship(packed: Packed) -> Fulfilled:
    shipment_id = await external.ship(packed.order.order_id, fail=packed.order.fail_shipping)
    return Fulfilled(packed.order.order_id, packed.reservation_id, packed.payment_id, shipment_id)


def pack(done: tuple[Reserved, Charged]) -> Packed:
    reserved, charged = done
    return Packed(reserved.order, reserved.reservation_id, charged.payment_id)


fulfilment = (
    parallel(step("Reserve", reserve, release), step("Charge", charge, refund))  # Order -> (Reserved, Charged)
    .map(pack)  # -> Packed: a pure join, no journal entry
    .then(step("Ship", ship))  # -> Fulfilled
)
Fulfilment = create_saga_workflow("Fulfilment", fulfilment)
