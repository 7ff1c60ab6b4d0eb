"""Shared fixtures: the end-to-end test services, served on the session's restate-server.

The server comes from restate_saga's own pytest plugin (`restate_beds`, see
restate_saga/testing/plugin.py), so that these tests and the ones using its `restate_bed`
fixture share one server. Service names must not repeat across the apps served on it.
"""

from __future__ import annotations

import pytest
import restate

from restate_saga.testing import BedPool, RestateTestBed

pytest_plugins = ["pytester"]


@pytest.fixture(scope="session")
def bed(restate_beds: BedPool) -> RestateTestBed:
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
    return restate_beds.bed(restate.app(services=services))
