"""Registers the `cluster` marker (the tests that start a multi-node Restate cluster)."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "cluster: starts a replicated multi-node restate-server cluster (slow: about a minute)"
    )
