"""Services for the reliability tests: cancellation, compensation policies, idempotency."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import restate
from restate import TerminalError

from restate_saga import (
    CompensationPolicy,
    SagaContext,
    SagaWorkflowOptions,
    create_saga_workflow,
    current_step,
    hybrid_step,
    step,
)
from tests.ledger import held, record, started, until

Data = dict[str, Any]


async def first(data: Data) -> Data:
    record(data["run"], "A")
    return data


async def undo_first(data: Data) -> None:
    record(data["run"], "undo A")


async def slow(data: Data) -> Data:
    record(data["run"], "B start")
    await held(data["run"], "B")  # until the test has cancelled the invocation
    record(data["run"], "B done")
    return {**data, "b": "booked"}


async def undo_slow(data: Data, failed: bool = False) -> None:
    record(data["run"], f"undo B start b={data.get('b')} failed={failed}")
    await asyncio.sleep(0.3)
    record(data["run"], "undo B done")


async def last(data: Data) -> Data:
    record(data["run"], "C")
    return data


# --- cancellation while a slow hybrid action is in flight ------------------------------------

SlowSaga = create_saga_workflow(
    "SlowSaga", step("A", first, undo_first).then(hybrid_step("B", slow, undo_slow)).then(step("C", last))
)

# --- cancellation while the saga waits (durable sleep) ---------------------------------------


async def waiting(saga: SagaContext, data: Data) -> Data:
    await step("A", first, undo_first)(saga, data)
    record(data["run"], "sleeping")
    await saga.ctx.sleep(timedelta(seconds=60))
    return await step("C", last)(saga, data)


WaitSaga = create_saga_workflow("WaitSaga", waiting)

# --- compensation policies --------------------------------------------------------------------


def named(name: str) -> Any:
    async def action(data: Data) -> Data:
        record(data["run"], name)
        return data

    async def undo(data: Data) -> None:
        record(data["run"], f"undo {name} start")
        if name in data.get("broken", []):
            raise TerminalError(f"{name} cannot be undone")
        barrier = int(data.get("undo_barrier", 0))
        if barrier:  # wait until this many undos have started: only concurrent undos get here
            await until(lambda: started(data["run"], "undo ") >= barrier, f"{barrier} undos started")
        record(data["run"], f"undo {name} done")

    return step(name, action, undo)


async def boom(data: Data) -> Data:
    record(data["run"], "Boom")
    raise TerminalError("boom", 400)


def chain(service: str, policy: CompensationPolicy) -> Any:
    pipeline = named("P1").then(named("P2")).then(named("P3")).then(step("Boom", boom))
    return create_saga_workflow(service, pipeline, SagaWorkflowOptions(compensation=policy))


ContinuePolicy = chain("ContinuePolicy", CompensationPolicy())
StopPolicy = chain("StopPolicy", CompensationPolicy(on_failure="stop"))
ParallelPolicy = chain("ParallelPolicy", CompensationPolicy(parallel=True))

# --- idempotency keys seen by actions and compensations across retries -----------------------

_attempts: dict[str, int] = {}


async def keyed(data: Data) -> Data:
    run = data["run"]
    _attempts[run] = _attempts.get(run, 0) + 1
    record(run, f"key {current_step().idempotency_key.split(':', 1)[1]}")
    if _attempts[run] == 1:
        raise RuntimeError("transient failure after the side effect")
    return data


async def undo_keyed(data: Data) -> None:
    record(data["run"], f"undo key {current_step().idempotency_key.split(':', 1)[1]}")


Keyed = create_saga_workflow("Keyed", step("Keyed", keyed, undo_keyed).then(step("Boom", boom)))

services: list[restate.Service] = [SlowSaga, WaitSaga, ContinuePolicy, StopPolicy, ParallelPolicy, Keyed]


# --- strictly typed input for the bad-input property tests ------------------------------------

from pydantic import BaseModel, ConfigDict, Field  # noqa: E402


class Address(BaseModel):
    model_config = ConfigDict(extra="forbid")
    street: str = Field(min_length=1)
    zip_code: int = Field(ge=1000, le=99999)


class StrictOrder(BaseModel):
    model_config = ConfigDict(extra="forbid")
    run: str
    customer_id: str = Field(min_length=1)
    quantity: int = Field(ge=1)
    address: dict[str, Any]


async def reserve_stock(order: StrictOrder) -> StrictOrder:
    record(order.run, "ReserveStock")
    return order


async def release_stock(order: StrictOrder) -> None:
    record(order.run, "undo ReserveStock")


async def ship_to(address: Address) -> str:
    record("ship_to", f"ShipTo {address.street}")
    return address.street


async def strict_body(saga: SagaContext, order: StrictOrder) -> str:
    reserved = await step("ReserveStock", reserve_stock, release_stock)(saga, order)
    return await step("ShipTo", ship_to)(saga, reserved.address)  # type: ignore[arg-type]


StrictInput = create_saga_workflow("StrictInput", strict_body)
services.append(StrictInput)
