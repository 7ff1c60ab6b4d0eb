"""The travel booking saga as a typed pipeline: flight, then hotel, then car.

Built from `step(...)` values composed with `then`: each step's output is the next step's input,
and pyright checks that each step accepts what the previous one returns. There is no handler code
at all: `create_saga_workflow` turns the pipeline into a Restate service.

Each booking is undone by cancelling it. If the car cannot be booked, the hotel is cancelled,
then the flight (newest first). The car itself needs no undo: it was never booked.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from examples import external
from restate_saga import create_saga_workflow, register_terminal_errors, step

register_terminal_errors([external.ServiceUnavailable])  # a refusal is final: compensate at once


@dataclass(frozen=True)
class Trip:
    """The trip as it travels through the pipeline: each step fills in one booking."""

    trip_id: str
    fail_car: bool = False
    flight: str = ""
    hotel: str = ""
    car: str = ""


# An action takes the step's input and returns its output. A compensation receives that output.


async def book_flight(trip: Trip) -> Trip:
    return replace(trip, flight=await external.book("flight", trip.trip_id))


async def book_hotel(trip: Trip) -> Trip:
    return replace(trip, hotel=await external.book("hotel", trip.trip_id))


async def book_car(trip: Trip) -> Trip:
    return replace(trip, car=await external.book("car", trip.trip_id, fail=trip.fail_car))


async def cancel_flight(trip: Trip) -> None:
    await external.cancel_booking(trip.flight)


async def cancel_hotel(trip: Trip) -> None:
    await external.cancel_booking(trip.hotel)


async def cancel_car(trip: Trip) -> None:
    await external.cancel_booking(trip.car)


travel_booking = (
    step("BookFlight", book_flight, cancel_flight)  # Step[Trip, Trip, Trip]
    .then(step("BookHotel", book_hotel, cancel_hotel))
    .then(step("BookCar", book_car, cancel_car))
)

TravelBooking = create_saga_workflow("TravelBooking", travel_booking)
