"""A SQLite ledger of side effects, shared by the infrastructure tests and the soak benchmark.

An app process writes it; the test reads it. Like an external service that deduplicates by
idempotency key, it applies each effect once (`effects`, keyed by `current_step().idempotency_key`)
and records every execution that reached it (`attempts`), with whether its effect was applied or
was a re-execution that the key deduplicated.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from collections import defaultdict
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from restate_saga import current_step

LEDGER_ENV = "SAGA_LEDGER"

SCHEMA = """
CREATE TABLE IF NOT EXISTS effects (seq INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT UNIQUE, saga TEXT, effect TEXT);
CREATE TABLE IF NOT EXISTS attempts (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT, invocation TEXT, saga TEXT, effect TEXT,
    applied INTEGER, started_ms REAL
);
"""


def create_ledger(path: Path | str) -> None:
    """Create an empty ledger file."""
    with closing(sqlite3.connect(path)) as db:
        db.executescript(SCHEMA)
        db.execute("PRAGMA journal_mode=WAL")


def _connect() -> sqlite3.Connection:
    path = os.environ.get(LEDGER_ENV)
    if not path:
        raise RuntimeError(f"${LEDGER_ENV} is not set: the app does not know its ledger")
    return sqlite3.connect(path, timeout=30, isolation_level=None)


async def side_effect(saga: str, effect: str, work: float = 0.0) -> bool:
    """Apply `effect` of `saga` once per idempotency key of the running action or compensation.

    The request is "sent" at once and applied `work` seconds later, even if the caller is
    cancelled meanwhile (as a request already sent to a real service would be): a crash, a lost
    connection or a killed server in that window leaves an applied effect whose result Restate
    never journaled, so the action runs again. Returns False when the key had been applied before
    (a re-execution that the key deduplicated).
    """
    call = current_step()
    started = time.time() * 1000
    return await asyncio.shield(
        asyncio.ensure_future(_apply(call.idempotency_key, call.invocation_id, saga, effect, started, work))
    )


async def _apply(key: str, invocation: str, saga: str, effect: str, started: float, work: float) -> bool:
    if work > 0:
        await asyncio.sleep(work)
    return await asyncio.to_thread(_record, key, invocation, saga, effect, started)


def _record(key: str, invocation: str, saga: str, effect: str, started: float) -> bool:
    with closing(_connect()) as db:
        db.execute("BEGIN IMMEDIATE")
        applied = db.execute(
            "INSERT OR IGNORE INTO effects (key, saga, effect) VALUES (?, ?, ?)", (key, saga, effect)
        ).rowcount
        db.execute(
            "INSERT INTO attempts (key, invocation, saga, effect, applied, started_ms) VALUES (?, ?, ?, ?, ?, ?)",
            (key, invocation, saga, effect, applied, started),
        )
        db.execute("COMMIT")
    return bool(applied)


@dataclass(frozen=True)
class Attempt:
    key: str
    invocation: str
    saga: str
    effect: str
    applied: bool
    started_ms: float


@dataclass(frozen=True)
class Ledger:
    """What the ledger holds: effects per saga in the order they were applied, and every attempt."""

    effects: dict[str, list[str]]
    keys: dict[str, list[str]]
    """The idempotency key of each effect, per saga, in the same order."""
    attempts: tuple[Attempt, ...]

    @property
    def deduplicated(self) -> int:
        """Executions whose effect had already been applied (re-executions the key deduplicated)."""
        return sum(1 for a in self.attempts if not a.applied)

    @property
    def effect_count(self) -> int:
        return sum(len(v) for v in self.effects.values())


def read_ledger(path: Path | str) -> Ledger:
    """Everything in the ledger."""
    effects: defaultdict[str, list[str]] = defaultdict(list)
    keys: defaultdict[str, list[str]] = defaultdict(list)
    with closing(sqlite3.connect(path, timeout=30)) as db:
        for key, saga, effect in db.execute("SELECT key, saga, effect FROM effects ORDER BY seq"):
            effects[saga].append(effect)
            keys[saga].append(key)
        attempts = tuple(
            Attempt(key, invocation, saga, effect, bool(applied), started)
            for key, invocation, saga, effect, applied, started in db.execute(
                "SELECT key, invocation, saga, effect, applied, started_ms FROM attempts ORDER BY seq"
            )
        )
    return Ledger(dict(effects), dict(keys), attempts)
