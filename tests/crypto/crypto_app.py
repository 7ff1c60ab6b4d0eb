"""Saga services with encrypted journals, run in their own process so that the tests can SIGKILL it
and restart it with another keyring ($RESTATE_SAGA_KEYRING).

Every value that matters carries `MARKER`, which must never reach the journal or the state in any
form. The SQLite ledger ($SAGA_LEDGER), outside Restate, records:
- `attempts`: one row per execution of an action or compensation (duplicates allowed);
- `effects`: one row per side effect, keyed by the step's idempotency key (deduplicated);
- `undone`: what each compensation received, as JSON (so tests check it got the right data);
- `handler_runs`: one row per time a saga handler's code started (replays included).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sqlite3
import time
from typing import Annotated, Any

import restate
from pydantic import BaseModel
from restate import TerminalError

from restate_saga import (
    PAYLOAD_CHECKS_OFF,
    EncryptionCodec,
    SagaContext,
    SagaWorkflowOptions,
    Secret,
    StepResponse,
    create_remote_saga,
    create_saga_restate_workflow,
    create_saga_workflow,
    current_step,
    load_keyring,
    remote_step,
    step,
)
from tests.crypto.shared import MARKER

LEDGER = os.environ.get("SAGA_LEDGER", "")


def _db() -> sqlite3.Connection:
    connection = sqlite3.connect(LEDGER, timeout=30, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    return connection


def _record(saga: str, effect: str, undone: object = None) -> None:
    call = current_step()
    with _db() as db:
        db.execute(
            "INSERT INTO attempts VALUES (?, ?, ?, ?, ?)",
            (call.invocation_id, call.position, call.step, int(call.compensating), time.time()),
        )
        db.execute("INSERT OR IGNORE INTO effects VALUES (?, ?, ?)", (call.idempotency_key, saga, effect))
        if undone is not None:
            db.execute("INSERT INTO undone VALUES (?, ?, ?)", (saga, call.step, json.dumps(undone)))


def _handler_ran(saga: str, service: str) -> None:
    with _db() as db:
        db.execute("INSERT INTO handler_runs VALUES (?, ?)", (saga, service))


keyring = load_keyring()
if keyring is None:
    raise RuntimeError("crypto_app needs $RESTATE_SAGA_KEYRING")
FULL = SagaWorkflowOptions(codec=EncryptionCodec(keyring))
IO = SagaWorkflowOptions(codec=EncryptionCodec(keyring, encrypt_io=True))
SELECTIVE = SagaWorkflowOptions(codec=EncryptionCodec(keyring, selective=True))


# --- a checkout workflow with a remote payment saga (full mode, keyed: state) ---------------------


class Order(BaseModel):
    saga: str
    fail: bool = False


class Card(BaseModel):
    saga: str
    token: str
    last4: str


class Auth(BaseModel):
    saga: str
    code: str


class Receipt(BaseModel):
    saga: str
    last4: str


async def tokenize(order: Order) -> Card:
    card = Card(saga=order.saga, token=f"{MARKER}-card-{order.saga}", last4="4242")
    _record(order.saga, "tokenize")
    return card


async def forget_card(card: Card) -> None:
    _record(card.saga, "undo tokenize", card.model_dump())


async def authorize(card: Card) -> Auth:
    _record(card.saga, "authorize")
    return Auth(saga=card.saga, code=f"{MARKER}-auth-{card.saga}")


async def void(auth: Auth) -> None:
    _record(auth.saga, "void", auth.model_dump())


async def ship(card: Card) -> StepResponse[str, Card]:
    _record(card.saga, "ship")
    return StepResponse(f"shipped {card.saga}", compensation_data=card)


async def unship(card: Card) -> None:
    _record(card.saga, "unship", card.model_dump())


Payment = create_remote_saga("Payment", step("Authorize", authorize, void), FULL)
pay = remote_step(Payment)
tokenize_step = step("Tokenize", tokenize, forget_card)
ship_step = step("Ship", ship, unship)

Checkout = create_saga_restate_workflow("Checkout", FULL)


@Checkout.main("run")
async def checkout(saga: SagaContext, ctx: restate.WorkflowContext, order: Order) -> Receipt:
    """Tokenize the card, authorize a payment (a remote sub-saga), wait for `go`, then ship."""
    _handler_ran(order.saga, "Checkout")
    card = await tokenize_step(saga, order)
    await pay(saga, card)
    decision = await ctx.promise("go", type_hint=str).value()
    await ship_step(saga, card)
    if decision == "fail" or order.fail:
        raise TerminalError(f"checkout {order.saga} refused", 409)
    return Receipt(saga=order.saga, last4=card.last4)


@Checkout.handler()
async def go(ctx: restate.WorkflowSharedContext, decision: str) -> None:
    """Let the waiting checkout go on: "ship" or "fail"."""
    await ctx.promise("go", type_hint=str).resolve(decision)


# --- a chain whose actions take a while (for SIGKILLs) and whose input and result are sealed -----


class Item(BaseModel):
    saga: str
    step: str
    secret: str


Data = dict[str, Any]


def chain_step(name: str) -> Any:
    async def action(data: Data) -> Item:
        if data.get("fail_at") == name:
            raise TerminalError(f"{name} refused", 409)
        call = current_step()
        with _db() as db:
            db.execute(
                "INSERT INTO attempts VALUES (?, ?, ?, ?, ?)", (call.invocation_id, call.position, name, 0, time.time())
            )
        await asyncio.sleep(random.uniform(0.0, 0.1))  # a window for a kill inside the step
        with _db() as db:
            db.execute("INSERT OR IGNORE INTO effects VALUES (?, ?, ?)", (call.idempotency_key, data["saga"], name))
        return Item(saga=data["saga"], step=name, secret=f"{MARKER}-{name}-{data['saga']}")

    async def undo(item: Item) -> None:
        _record(item.saga, f"undo {name}", item.model_dump())

    return step(name, action, undo)


chain_step_s1 = chain_step("S1")
chain_step_s2 = chain_step("S2")


async def chain_handler(saga: SagaContext, data: Data) -> Data:
    """S1, S2 (a failure injectable at either); the result holds no secret (the input is not sealed here)."""
    _handler_ran(str(data["saga"]), "Chain")
    first = await chain_step_s1(saga, data)
    second = await chain_step_s2(saga, {"saga": first.saga, "fail_at": data.get("fail_at", "")})
    return {"saga": second.saga, "steps": 2}


Chain = create_saga_workflow("Chain", chain_handler, FULL)


class Deposit(BaseModel):
    saga: str
    account: str


async def store(deposit: Deposit) -> Deposit:
    _record(deposit.saga, "store")
    return deposit


async def unstore(deposit: Deposit) -> None:
    _record(deposit.saga, "unstore", deposit.model_dump())


Vault = create_saga_workflow("Vault", step("Store", store, unstore), IO)
VaultCopy = create_saga_workflow("VaultCopy", step("Store", store, unstore), IO)


# --- selective mode: only the `Secret` field is hidden -----------------------------------------


class Lookup(BaseModel):
    saga: str
    name: str
    fail: bool = False


class Person(BaseModel):
    saga: str
    name: str
    ssn: Annotated[str, Secret]
    fail: bool = False


async def enrich(lookup: Lookup) -> Person:
    _record(lookup.saga, "enrich")
    return Person(saga=lookup.saga, name=f"{lookup.name}-enriched", ssn=f"{MARKER}-ssn-{lookup.saga}", fail=lookup.fail)


async def unenrich(person: Person) -> None:
    _record(person.saga, "unenrich", person.model_dump())


async def verify(person: Person) -> str:
    if person.fail:
        raise TerminalError(f"{person.saga} not verified", 422)
    return f"verified {person.name}"


Profile = create_saga_workflow("Profile", step("Enrich", enrich, unenrich).then(step("Verify", verify)), SELECTIVE)


async def leak(saga: str) -> str:
    return f"{MARKER}-plain-{saga}"


Plain = create_saga_workflow("Plain", step("Leak", leak))
"""No codec: the control that shows the tests would see a marker in the journal."""

services = [Checkout, Payment, Chain, Vault, VaultCopy, Profile, Plain]
app: Any = restate.app(services=services, journal_value_codec=PAYLOAD_CHECKS_OFF)
