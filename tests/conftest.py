"""Shared fixtures: one real restate-server and one served test app for the whole session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import restate

from restate_saga.testing import RestateTestBed


@pytest.fixture(scope="session")
def bed() -> Iterator[RestateTestBed]:
    """A real restate-server with every end-to-end test service registered."""
    from tests.e2e import combinators_app, core_app, definitions_app, observe_app, reliability_app, seed_app

    services = [
        *core_app.services,
        *seed_app.services,
        *reliability_app.services,
        *combinators_app.services,
        *observe_app.services,
        *definitions_app.services,
    ]
    app = restate.app(services=services)
    with RestateTestBed(app) as test_bed:
        yield test_bed
