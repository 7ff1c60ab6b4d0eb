"""A saga service for the crash tests, run in its own process so that it can be SIGKILLed.

Every action and compensation writes to a SQLite ledger (path in $SAGA_LEDGER):
- `attempts`: one row per execution, with its start time (duplicates allowed);
- `effects`: one row per side effect, keyed by the step's idempotency key (INSERT OR IGNORE),
  as an external service that deduplicates by key would keep it.
"""

from __future__ import annotations

import asyncio
import os
import random
import sqlite3
import time
from typing import Any

import restate
from restate import TerminalError

from restate_saga import create_saga_workflow, current_step, step

Data = dict[str, Any]
LEDGER = os.environ.get("SAGA_LEDGER", "")

SCHEMA = """
CREATE TABLE IF NOT EXISTS attempts (invocation TEXT, position INTEGER, step TEXT, undo INTEGER, started_ms REAL);
CREATE TABLE IF NOT EXISTS effects (key TEXT PRIMARY KEY, saga TEXT, effect TEXT);
"""


def ledger() -> sqlite3.Connection:
    connection = sqlite3.connect(LEDGER, timeout=30, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    return connection


def init_ledger(path: str) -> None:
    with sqlite3.connect(path) as connection:
        connection.executescript(SCHEMA)


async def side_effect(saga: str, effect: str) -> None:
    call = current_step()
    started = time.time() * 1000
    with ledger() as db:
        db.execute(
            "INSERT INTO attempts VALUES (?, ?, ?, ?, ?)",
            (call.invocation_id, call.position, call.step, int(call.compensating), started),
        )
    await asyncio.sleep(random.uniform(0.0, 0.15))  # a window in which a kill lands inside the step
    with ledger() as db:
        db.execute("INSERT OR IGNORE INTO effects VALUES (?, ?, ?)", (call.idempotency_key, saga, effect))


def saga_step(name: str) -> Any:
    async def action(data: Data) -> Data:
        if data.get("fail_at") == name:
            raise TerminalError(f"{name} refused", 409)
        await side_effect(data["saga"], name)
        return data

    async def undo(data: Data) -> None:
        await side_effect(data["saga"], f"undo {name}")

    return step(name, action, undo)


CrashSaga = create_saga_workflow("CrashSaga", saga_step("S1").then(saga_step("S2")).then(saga_step("S3")))
app: Any = restate.app(services=[CrashSaga])
