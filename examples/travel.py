"""The travel booking saga as a typed pipeline: flight, then hotel, then car.

Built from `step(...)` values composed with `then`: pyright checks that each step accepts what the
previous one returns. Each booking is undone by cancelling it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from examples import external
from restate_saga import create_saga_workflow, step


@dataclass(frozen=True)
class Trip:
    trip_id: str
    fail_car: bool = False
    flight: str = ""
    hotel: str = ""
    car: str = ""


async def book_flight(trip: Trip) -> Trip:
    return replace(trip, flight=await external.book("flight", trip.trip_id, fail=False))


async def book_hotel(trip: Trip) -> Trip:
    return replace(trip, hotel=await external.book("hotel", trip.trip_id, fail=False))


async def book_car(trip: Trip) -> Trip:
    return replace(trip, car=await external.book("car", trip.trip_id, fail=trip.fail_car))


async def cancel_flight(trip: Trip) -> None:
    await external.cancel_booking(trip.flight)


async def cancel_hotel(trip: Trip) -> None:
    await external.cancel_booking(trip.hotel)


async def cancel_car(trip: Trip) -> None:
    await external.cancel_booking(trip.car)


travel_booking = (
    step("BookFlight", book_flight, cancel_flight)
    .then(step("BookHotel", book_hotel, cancel_hotel))
    .then(step("BookCar", book_car, cancel_car))
)

TravelBooking = create_saga_workflow("TravelBooking", travel_booking)
