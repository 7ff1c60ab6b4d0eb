"""What the encryption test app and its tests share: the secret marker and the ledger's schema."""

from __future__ import annotations

import sqlite3

MARKER = "Zq7-SECRET-MARKER"

SCHEMA = """
CREATE TABLE IF NOT EXISTS attempts (invocation TEXT, position INTEGER, step TEXT, undo INTEGER, at REAL);
CREATE TABLE IF NOT EXISTS effects (key TEXT PRIMARY KEY, saga TEXT, effect TEXT);
CREATE TABLE IF NOT EXISTS undone (saga TEXT, step TEXT, data TEXT);
CREATE TABLE IF NOT EXISTS handler_runs (saga TEXT, service TEXT);
"""


def init_ledger(path: str) -> None:
    with sqlite3.connect(path) as connection:
        connection.executescript(SCHEMA)
