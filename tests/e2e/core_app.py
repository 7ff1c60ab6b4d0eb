"""Saga services exercised by the core end-to-end tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import restate
from pydantic import BaseModel
from restate import TerminalError

from restate_saga import (
    SagaContext,
    SagaStepOptions,
    SagaWorkflowOptions,
    StepResponse,
    StepRetryPolicy,
    create_saga_workflow,
    hybrid_step,
    step,
)
from tests.ledger import record

# --- a three-step checkout that fails at step 3 on demand ---------------------------------


@dataclass(frozen=True)
class Cart:
    run: str
    customer: str
    amount: int
    fail_at: str = ""


@dataclass(frozen=True)
class Order:
    run: str
    order_id: str
    amount: int
    fail_at: str


class Payment(BaseModel):
    run: str
    order_id: str
    payment_id: str
    fail_at: str


@dataclass(frozen=True)
class Receipt:
    order_id: str
    payment_id: str
    shipment_id: str


async def create_order(cart: Cart) -> Order:
    record(cart.run, "CreateOrder")
    return Order(cart.run, f"order-{cart.customer}", cart.amount, cart.fail_at)


async def cancel_order(order: Order) -> None:
    record(order.run, f"undo CreateOrder {order.order_id}")


async def charge(order: Order) -> StepResponse[Payment, dict[str, str]]:
    record(order.run, "Charge")
    payment = Payment(run=order.run, order_id=order.order_id, payment_id=f"pay-{order.amount}", fail_at=order.fail_at)
    return StepResponse(payment, compensation_data={"run": order.run, "payment_id": payment.payment_id})


async def refund(data: dict[str, str]) -> None:
    record(data["run"], f"undo Charge {data['payment_id']}")


async def ship(payment: Payment) -> Receipt:
    record(payment.run, "Ship")
    if payment.fail_at == "Ship":
        raise TerminalError("no courier available", 409)
    return Receipt(payment.order_id, payment.payment_id, "ship-1")


checkout = step("CreateOrder", create_order, cancel_order).then(step("Charge", charge, refund)).then(step("Ship", ship))
Checkout = create_saga_workflow("Checkout", checkout)

# --- hybrid vs strict when the action itself fails ----------------------------------------


@dataclass(frozen=True)
class Job:
    run: str
    mode: str  # "hybrid" | "strict" | "permanent"


async def reserve(job: Job) -> Job:
    record(job.run, "Reserve")
    return job


async def release(job: Job) -> None:
    record(job.run, "undo Reserve")


async def book(job: Job) -> StepResponse[str, dict[str, str]]:
    record(job.run, "Book")
    if job.mode == "permanent":
        return StepResponse.permanent_failure("seat taken", {"run": job.run, "hold": "hold-7"})
    raise TerminalError("booking system said no", 400)


async def unbook(data: dict[str, str] | Job, failed: bool = False) -> None:
    if isinstance(data, Job):
        record(data.run, f"undo Book input={data.mode} failed={failed}")
    else:
        record(data["run"], f"undo Book hold={data['hold']} failed={failed}")


async def unbook_strict(data: dict[str, str]) -> None:
    record(data["run"], "undo Book (strict)")


hybrid_booking = step("Reserve", reserve, release).then(hybrid_step("Book", book, unbook))
strict_booking = step("Reserve", reserve, release).then(step("Book", book, unbook_strict))
HybridBooking = create_saga_workflow("HybridBooking", hybrid_booking)
StrictBooking = create_saga_workflow("StrictBooking", strict_booking)

# --- a pydantic output survives a replay -----------------------------------------------------


class Quote(BaseModel):
    run: str
    price: int


_flaky_attempts: dict[str, int] = {}


async def make_quote(run: str) -> Quote:
    record(run, "MakeQuote")
    return Quote(run=run, price=42)


async def flaky(quote: Quote) -> Quote:
    attempts = _flaky_attempts.get(quote.run, 0) + 1
    _flaky_attempts[quote.run] = attempts
    record(quote.run, f"Flaky attempt {attempts} got {type(quote).__name__}")
    if attempts == 1:
        raise RuntimeError("transient: first attempt fails, so Restate retries and replays")
    return quote


async def replay_body(saga: SagaContext, run: str) -> str:
    record(run, "handler attempt")
    quote = await step("MakeQuote", make_quote)(saga, run)
    record(run, f"after MakeQuote: {type(quote).__name__}")
    checked = await step("Flaky", flaky)(saga, quote)
    return f"{type(checked).__name__}:{checked.price}"


ReplayModel = create_saga_workflow("ReplayModel", replay_body)

# --- a suspension at every await forces a replay from the journal ---------------------------

SuspendingCheckout = create_saga_workflow(
    "SuspendingCheckout", checkout, SagaWorkflowOptions(inactivity_timeout=timedelta(0))
)

# --- an output that cannot be serialized is a terminal error, not an endless retry ---------


class Opaque:
    """Not serializable."""


async def make_opaque(run: str) -> object:
    record(run, "MakeOpaque")
    return Opaque()


async def first(run: str) -> str:
    record(run, "First")
    return run


async def undo_first(run: str) -> None:
    record(run, "undo First")


Unserializable = create_saga_workflow(
    "Unserializable", step("First", first, undo_first).then(step("MakeOpaque", make_opaque))
)

# --- a compensation that fails for good does not stop the rollback -------------------------


async def undo_broken(run: str) -> None:
    record(run, "undo Broken")
    raise TerminalError("ledger closed")


async def boom(run: str) -> str:
    record(run, "Boom")
    raise TerminalError("boom")


BrokenCompensation = create_saga_workflow(
    "BrokenCompensation",
    step("First", first, undo_first).then(step("Broken", first, undo_broken)).then(step("Boom", boom)),
)

# --- retries run out: the step fails terminally and compensates ----------------------------


async def always_flaky(run: str) -> str:
    record(run, "AlwaysFlaky")
    raise RuntimeError("still down")


RetriesRunOut = create_saga_workflow(
    "RetriesRunOut",
    step("First", first, undo_first).then(
        step(
            "AlwaysFlaky",
            always_flaky,
            options=SagaStepOptions(
                retry=StepRetryPolicy(max_retry_attempts=2, initial_retry_interval=timedelta(milliseconds=10))
            ),
        )
    ),
)

# --- explicit compensation_data=None: nothing to undo ----------------------------------------


async def nothing_to_undo(run: str) -> StepResponse[str, None]:
    record(run, "NoUndo")
    return StepResponse(run, compensation_data=None)


async def undo_nothing(data: None) -> None:
    record("never", "undo NoUndo")


NothingToUndo = create_saga_workflow(
    "NothingToUndo",
    step("First", first, undo_first).then(step("NoUndo", nothing_to_undo, undo_nothing)).then(step("Boom", boom)),
)

services: list[restate.Service] = [
    Checkout,
    HybridBooking,
    StrictBooking,
    ReplayModel,
    SuspendingCheckout,
    Unserializable,
    BrokenCompensation,
    RetriesRunOut,
    NothingToUndo,
]


async def counted_body(saga: SagaContext, run: str) -> str:
    record(run, "handler attempt")
    first_result = await step("First", first, undo_first)(saga, run)
    await step("NoUndo", nothing_to_undo)(saga, first_result)
    return await step("Second", first)(saga, run)


SuspendingCounted = create_saga_workflow(
    "SuspendingCounted", counted_body, SagaWorkflowOptions(inactivity_timeout=timedelta(0))
)
services.append(SuspendingCounted)


# --- a saga that succeeds but whose rollback would fail (for failure injection) ----------------

LatentlyBroken = create_saga_workflow(
    "LatentlyBroken",
    step("First", first, undo_first).then(step("Broken", first, undo_broken)).then(step("Last", first)),
)
services.append(LatentlyBroken)
