"""Simulated external services (orders, payments, shipping, travel) that the example sagas call.

They keep their state in memory and can be told to fail, so both paths of a saga can be shown.
Real services would be HTTP APIs; each call here stands for one request to such an API.
"""

from __future__ import annotations

import itertools

_ids = itertools.count(1)
log: list[str] = []


def _new_id(prefix: str) -> str:
    return f"{prefix}-{next(_ids)}"


class ServiceUnavailable(Exception):
    """A permanent refusal by a simulated service (registered as terminal in the examples)."""


async def create_order(customer_id: str, total: int) -> str:
    order_id = _new_id("ord")
    log.append(f"orders: created {order_id} for {customer_id} ({total})")
    return order_id


async def cancel_order(order_id: str) -> None:
    log.append(f"orders: cancelled {order_id}")


async def charge(order_id: str, amount: int, *, decline: bool) -> str:
    if decline:
        raise ServiceUnavailable(f"card declined for {order_id}")
    payment_id = _new_id("pay")
    log.append(f"payments: charged {amount} as {payment_id}")
    return payment_id


async def refund(payment_id: str) -> None:
    log.append(f"payments: refunded {payment_id}")


async def ship(order_id: str, *, fail: bool) -> str:
    if fail:
        raise ServiceUnavailable(f"no courier for {order_id}")
    shipment_id = _new_id("shp")
    log.append(f"shipping: booked {shipment_id} for {order_id}")
    return shipment_id


async def book(kind: str, trip: str, *, fail: bool) -> str:
    if fail:
        raise ServiceUnavailable(f"no {kind} available for {trip}")
    booking_id = _new_id(kind)
    log.append(f"travel: booked {booking_id} for {trip}")
    return booking_id


async def cancel_booking(booking_id: str) -> None:
    log.append(f"travel: cancelled {booking_id}")
