"""The cluster test's app: a three-step checkout saga whose side effects land in a SQLite ledger.

Every action and compensation first notes a raw attempt, then applies its side effect with
`INSERT OR IGNORE` keyed by `current_step().idempotency_key` — the way a real service deduplicates
calls: an action that runs again (a leader change while it was in flight, a lost connection) reuses
its key, so the side effect is applied once however many attempts there were.

Served by hypercorn in a child process; the environment variable `LEDGER_ENV` names the ledger file
(create it first with `create_ledger`).
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import restate
from restate import TerminalError

from restate_saga import StepResponse, create_saga_workflow, current_step, step

LEDGER_ENV = "SAGA_CLUSTER_LEDGER"
PAUSE = 0.15
"""Seconds each action sleeps before its side effect, so that a killed node finds sagas mid-flight."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS effects (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    saga TEXT NOT NULL,
    step TEXT NOT NULL,
    undo INTEGER NOT NULL,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS attempts (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL,
    saga TEXT NOT NULL,
    step TEXT NOT NULL,
    undo INTEGER NOT NULL
);
"""


def create_ledger(path: Path) -> None:
    """Create an empty ledger file (write-ahead logging, so readers never block the app)."""
    with closing(sqlite3.connect(path)) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.executescript(_SCHEMA)
        db.commit()


def _connect() -> sqlite3.Connection:
    return sqlite3.connect(os.environ[LEDGER_ENV], timeout=30.0, isolation_level=None)


def apply_effect(saga: str, data: str, *, effect: bool = True) -> None:
    """Note one raw attempt of the running action or compensation; apply its side effect once per key."""
    call = current_step()
    row = (call.idempotency_key, saga, call.step, int(call.compensating))
    with closing(_connect()) as db:
        db.execute("INSERT INTO attempts (key, saga, step, undo) VALUES (?, ?, ?, ?)", row)
        if effect:
            db.execute(
                "INSERT OR IGNORE INTO effects (key, saga, step, undo, data) VALUES (?, ?, ?, ?, ?)",
                (*row, data),
            )


# --- the saga: CreateOrder → Charge → Ship (Ship fails for good when asked to) ------------------


@dataclass(frozen=True)
class OrderRequest:
    saga: str
    customer: str
    amount: int
    fail: bool = False


@dataclass(frozen=True)
class Order:
    saga: str
    order_id: str
    amount: int
    fail: bool


@dataclass(frozen=True)
class Payment:
    saga: str
    order_id: str
    payment_id: str
    fail: bool


@dataclass(frozen=True)
class Receipt:
    order_id: str
    payment_id: str
    shipment_id: str


async def create_order(request: OrderRequest) -> Order:
    await asyncio.sleep(PAUSE)
    order = Order(request.saga, f"order-{request.saga}-{request.customer}", request.amount, request.fail)
    apply_effect(request.saga, order.order_id)
    return order


async def cancel_order(order: Order) -> None:
    await asyncio.sleep(PAUSE / 2)
    apply_effect(order.saga, order.order_id)


async def charge(order: Order) -> StepResponse[Payment, dict[str, str]]:
    await asyncio.sleep(PAUSE)
    payment = Payment(order.saga, order.order_id, f"pay-{order.saga}-{order.amount}", order.fail)
    apply_effect(order.saga, f"{payment.payment_id}:{order.amount}")
    return StepResponse(
        payment,
        compensation_data={"saga": order.saga, "payment_id": payment.payment_id, "amount": str(order.amount)},
    )


async def refund(data: dict[str, str]) -> None:
    await asyncio.sleep(PAUSE / 2)
    apply_effect(data["saga"], f"{data['payment_id']}:{data['amount']}")


async def ship(payment: Payment) -> Receipt:
    await asyncio.sleep(PAUSE)
    if payment.fail:
        apply_effect(payment.saga, "", effect=False)  # an attempt, but nothing was shipped
        raise TerminalError(f"no courier for {payment.order_id}", 409)
    receipt = Receipt(payment.order_id, payment.payment_id, f"ship-{payment.saga}")
    apply_effect(payment.saga, receipt.shipment_id)
    return receipt


checkout = step("CreateOrder", create_order, cancel_order).then(step("Charge", charge, refund)).then(step("Ship", ship))
ClusterCheckout = create_saga_workflow("ClusterCheckout", checkout)

# --- a trivial handler to check that every ingress routes calls --------------------------------

Ping = restate.Service("Ping")


@Ping.handler()
async def ping(ctx: restate.Context, name: str) -> str:
    return f"pong {name}"


app = restate.app(services=[ClusterCheckout, Ping])
