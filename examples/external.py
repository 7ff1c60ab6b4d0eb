"""Simulated external services (orders, payments, shipping, travel, inventory, finance) for the examples.

Real services would be HTTP APIs; each function here stands for one request to such an API. They
keep their state in memory, in this process, and can be told to fail so that both paths of a saga
can be shown.

Idempotency. Restate runs a step's action again when it did not record the action's result: after
a crash, or when the action raised a transient error (say the network lost the service's answer
after the card was charged). The side effect must then not happen twice. So, like real payment
APIs, every service here takes an idempotency key: the first request with a key is applied and its
result remembered; a repeated request with the same key returns that first result and changes
nothing. Inside a step, the key defaults to `restate_saga.current_step().idempotency_key`, which is
the same on every retry of one action (or compensation) and different for every other one.

`events()` is what happened, in order (repeated requests included, marked `repeated`): the example
app serves it at GET /ledger so that the demo and the tests can show which side effects a saga
caused, which ones its compensations undid, and which repeated requests were not applied again.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

from restate_saga import current_step


class ServiceUnavailable(Exception):
    """A permanent refusal by a simulated service (the examples register it as terminal)."""


class ResponseLost(ConnectionError):
    """The request was applied but its answer never arrived: a transient error, so Restate retries."""


@dataclass(frozen=True, slots=True)
class Event:
    """One request that a simulated service handled: a side effect, or a repeat of an earlier one."""

    service: str
    what: str
    idempotency_key: str
    repeated: bool = False
    """True for a repeated request: answered with the first result, nothing applied again."""


_ids = itertools.count(1)
# idempotency key -> the result of the first request with that key, and what it did
_results: dict[str, tuple[str, Event]] = {}
_events: list[Event] = []
_lost_once: set[str] = set()  # keys whose first answer was "lost" already

# The warehouse: units in stock per item (a reservation takes units, a release gives them back).
PRICES: dict[str, int] = {"book": 12, "pen": 2, "mug": 8}
_stock: dict[str, int] = {"book": 50, "pen": 50, "mug": 50}
_reservations: dict[str, tuple[str, int]] = {}


def events() -> list[Event]:
    """Every request that reached a service, in order: side effects and (marked) repeated requests."""
    return list(_events)


def applied() -> list[Event]:
    """Only the side effects that were applied (each idempotency key at most once)."""
    return [event for event in _events if not event.repeated]


def _key(idempotency_key: str | None) -> str:
    # An explicit key wins; inside a step's action or compensation, the step's own key is used.
    return idempotency_key if idempotency_key is not None else current_step().idempotency_key


def _once(key: str, service: str, apply: Callable[[], tuple[str, str]], *, lose_answer: bool = False) -> str:
    """Apply a side effect once per idempotency key; `apply()` returns (result, description).

    No `await` happens between the look-up and the write, so concurrent requests cannot both apply.
    """
    if key in _results:
        result, first = _results[key]
        _events.append(Event(service, first.what, key, repeated=True))
    else:
        result, what = apply()
        event = Event(service, what, key)
        _results[key] = (result, event)
        _events.append(event)
    if lose_answer and key not in _lost_once:
        _lost_once.add(key)
        raise ResponseLost(f"{service}: the answer to request {key} was lost")
    return result


def _new_id(prefix: str) -> str:
    return f"{prefix}-{next(_ids)}"


# -- orders -----------------------------------------------------------------------------------


async def create_order(customer_id: str, total: int, *, idempotency_key: str | None = None) -> str:
    """Create an order; returns its id."""

    def apply() -> tuple[str, str]:
        order_id = _new_id("ord")
        return order_id, f"created {order_id} for {customer_id} (total {total})"

    return _once(_key(idempotency_key), "orders", apply)


async def cancel_order(order_id: str, *, idempotency_key: str | None = None) -> None:
    """Cancel an order."""
    _once(_key(idempotency_key), "orders", lambda: (order_id, f"cancelled {order_id}"))


# -- payments ---------------------------------------------------------------------------------


async def charge(
    reference: str,
    amount: int,
    *,
    decline: bool = False,
    lose_answer: bool = False,
    idempotency_key: str | None = None,
) -> str:
    """Charge `amount` for `reference`; returns the payment id. `lose_answer` loses the first answer."""
    if decline:
        raise ServiceUnavailable(f"card declined for {reference}")

    def apply() -> tuple[str, str]:
        payment_id = _new_id("pay")
        return payment_id, f"charged {amount} for {reference} as {payment_id}"

    return _once(_key(idempotency_key), "payments", apply, lose_answer=lose_answer)


async def refund(payment_id: str, *, idempotency_key: str | None = None) -> None:
    """Refund a payment in full."""
    _once(_key(idempotency_key), "payments", lambda: (payment_id, f"refunded {payment_id}"))


async def authorize(reference: str, amount: int, *, idempotency_key: str | None = None) -> str:
    """Put a hold of `amount` on the customer's card; returns the authorization id."""

    def apply() -> tuple[str, str]:
        auth_id = _new_id("auth")
        return auth_id, f"authorized {amount} for {reference} as {auth_id}"

    return _once(_key(idempotency_key), "payments", apply)


async def void_authorization(auth_id: str, *, idempotency_key: str | None = None) -> None:
    """Release a card hold that was never captured (or whose capture was refunded)."""
    _once(_key(idempotency_key), "payments", lambda: (auth_id, f"voided {auth_id}"))


async def capture(auth_id: str, *, idempotency_key: str | None = None) -> str:
    """Take the money held by an authorization; returns the payment id."""

    def apply() -> tuple[str, str]:
        payment_id = _new_id("pay")
        return payment_id, f"captured {auth_id} as {payment_id}"

    return _once(_key(idempotency_key), "payments", apply)


# -- shipping ---------------------------------------------------------------------------------


async def ship(reference: str, *, fail: bool = False, idempotency_key: str | None = None) -> str:
    """Book a courier for `reference`; returns the shipment id."""
    if fail:
        raise ServiceUnavailable(f"no courier for {reference}")

    def apply() -> tuple[str, str]:
        shipment_id = _new_id("shp")
        return shipment_id, f"booked {shipment_id} for {reference}"

    return _once(_key(idempotency_key), "shipping", apply)


# -- travel -----------------------------------------------------------------------------------


async def book(kind: str, trip: str, *, fail: bool = False, idempotency_key: str | None = None) -> str:
    """Book a flight, hotel or car for a trip; returns the booking id."""
    if fail:
        raise ServiceUnavailable(f"no {kind} available for {trip}")

    def apply() -> tuple[str, str]:
        booking_id = _new_id(kind)
        return booking_id, f"booked {booking_id} for {trip}"

    return _once(_key(idempotency_key), "travel", apply)


async def cancel_booking(booking_id: str, *, idempotency_key: str | None = None) -> None:
    """Cancel a booking."""
    _once(_key(idempotency_key), "travel", lambda: (booking_id, f"cancelled {booking_id}"))


# -- inventory --------------------------------------------------------------------------------


async def reserve(item: str, quantity: int, *, idempotency_key: str | None = None) -> str:
    """Hold `quantity` units of `item`; returns the reservation id."""

    def apply() -> tuple[str, str]:
        # Refusals are checked inside `apply`: a repeated request that was applied already must
        # get its first answer, not a refusal caused by its own reservation.
        if item not in _stock:
            raise ServiceUnavailable(f"unknown item {item!r}")
        if _stock[item] < quantity:
            raise ServiceUnavailable(f"only {_stock[item]} {item} left")
        reservation_id = _new_id("res")
        _stock[item] -= quantity
        _reservations[reservation_id] = (item, quantity)
        return reservation_id, f"reserved {quantity} {item} as {reservation_id}"

    return _once(_key(idempotency_key), "inventory", apply)


async def release(reservation_id: str, *, idempotency_key: str | None = None) -> None:
    """Give the units of a reservation back to the warehouse."""

    def apply() -> tuple[str, str]:
        item, quantity = _reservations.pop(reservation_id)
        _stock[item] += quantity
        return reservation_id, f"released {reservation_id} ({quantity} {item})"

    _once(_key(idempotency_key), "inventory", apply)


async def check_purchase_limit(item: str, quantity: int, *, limit: int = 3) -> None:
    """The purchase-limit service: at most `limit` units of one item per cart. Reads, changes nothing."""
    if quantity > limit:
        raise ServiceUnavailable(f"at most {limit} {item} per cart, asked for {quantity}")


# -- finance ----------------------------------------------------------------------------------


async def hold_budget(department: str, amount: int, *, idempotency_key: str | None = None) -> str:
    """Earmark `amount` of a department's budget; returns the hold id."""

    def apply() -> tuple[str, str]:
        hold_id = _new_id("hold")
        return hold_id, f"held {amount} of the {department} budget as {hold_id}"

    return _once(_key(idempotency_key), "finance", apply)


async def release_budget(hold_id: str, *, idempotency_key: str | None = None) -> None:
    """Give an earmarked amount back to the budget."""
    _once(_key(idempotency_key), "finance", lambda: (hold_id, f"released {hold_id}"))


async def place_purchase_order(supplier: str, item: str, *, idempotency_key: str | None = None) -> str:
    """Order `item` from a supplier; returns the purchase order id."""

    def apply() -> tuple[str, str]:
        po_id = _new_id("po")
        return po_id, f"ordered {item} from {supplier} as {po_id}"

    return _once(_key(idempotency_key), "suppliers", apply)
