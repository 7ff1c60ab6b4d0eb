"""Type tests for parallel groups, fallbacks, timeouts, failure causes and remote sub-sagas."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Never, assert_type

import restate

from restate_saga import (
    FailureCause,
    RemoteSagaRef,
    Step,
    StepResponse,
    create_remote_saga,
    parallel,
    remote_saga_ref,
    remote_step,
    step,
)


@dataclass(frozen=True)
class Trip:
    trip_id: str


async def book_flight(trip: Trip) -> str:
    return "f"


async def book_hotel(trip: Trip) -> int:
    return 1


async def book_car(trip: Trip) -> bool:
    return True


async def book_car_after_flight(flight: str) -> str:
    return flight


async def cancel_flight(flight: str, cause: FailureCause | None = None) -> None:
    return None


flight = step("Flight", book_flight, cancel_flight)
hotel = step("Hotel", book_hotel)
car = step("Car", book_car)

assert_type(parallel(flight, hotel), Step[Trip, tuple[str, int], None])
assert_type(parallel(flight, hotel, car), Step[Trip, tuple[str, int, bool], None])
assert_type(
    parallel(flight, hotel, car, compensation="parallel", max_concurrency=2), Step[Trip, tuple[str, int, bool], None]
)


async def summarize(booked: tuple[str, int, bool]) -> str:
    return booked[0]


assert_type(parallel(flight, hotel, car).then(step("Summary", summarize)), Step[Trip, str, None])

other_flight = step("OtherFlight", book_flight)
assert_type(flight.or_else(other_flight), Step[Trip, str, None])
assert_type(flight.with_timeout(timedelta(seconds=5)), Step[Trip, str, str])

payment = create_remote_saga("Payment", flight.then(step("Hotel2", book_car_after_flight)))
assert_type(remote_step(payment), Step[Trip, str, None])
ref: RemoteSagaRef[Trip, str] = remote_saga_ref("Payment", Trip, str)
assert_type(remote_step(ref), Step[Trip, str, None])

# --- wrong compositions must be reported -------------------------------------------------------


async def needs_int(n: int) -> int:
    return n


async def start_trip(trip_id: str) -> Trip:
    return Trip(trip_id)


# branches on unrelated inputs: pyright refuses the call; mypy types it `Step[Never, ...]` (the meet of
# the inputs), which no pipeline can feed, so it refuses the group where it is used (see the README)
start = step("Start", start_trip)
start.then(parallel(flight, step("Int", needs_int)))  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType, reportCallIssue, reportUnknownArgumentType]
flight.or_else(hotel)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
parallel(flight, hotel).then(step("Summary", summarize))  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]

# --- pivot discipline --------------------------------------------------------------------------

from restate_saga import compensatable  # noqa: E402


async def charge_card(flight: str) -> int:
    return 1


async def refund_card(amount: int) -> None:
    return None


async def send_email(amount: int) -> str:
    return "sent"


charge = step("Charge", charge_card, refund_card)
email = step("Email", send_email)
assert_type(email, Step[int, str, Never])
pivoted = compensatable(flight).pivot(charge).then(email).build()
assert_type(pivoted, Step[Trip, str, None])
compensatable(flight).pivot(charge).then(step("Refundable", charge_card, refund_card))  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]

# --- compensations take `failed` and `cause` by keyword, required or not ------------------------

from restate_saga import hybrid_step, saga_step_strict  # noqa: E402


async def undo_with_cause(flight: str, cause: FailureCause) -> None:
    return None


async def undo_keyword_only(data: str | Trip, *, failed: bool, cause: FailureCause) -> None:
    return None


async def undo_needs_reason(flight: str, *, reason: str) -> None:
    return None


assert_type(step("Flight", book_flight, undo_with_cause), Step[Trip, str, str])
assert_type(hybrid_step("Flight", book_flight, undo_keyword_only), Step[Trip, str, str | Trip])


@saga_step_strict("SeedFlight", compensate=undo_with_cause)
async def seed_booking(ctx: restate.Context, trip: Trip) -> StepResponse[str, str]:
    return StepResponse("f")


assert_type(seed_booking, Step[Trip, str, str])
step("Flight", book_flight, undo_needs_reason)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType, reportCallIssue]
