"""The pytest plugin of restate_saga, registered through the `pytest11` entry point.

Fixtures (use them by naming them as test arguments):

- `restate_bed`: a `RestateTestBed` for the test's app on a real restate-server shared by the
  whole session. The app is what `@pytest.mark.restate_app(...)` names: one service or a list
  of services, or `app=` an ASGI app (with `path="/restate/v1"` when Restate is mounted there),
  or what an overriding `restate_app` fixture returns. Each app is served (hypercorn, in a thread) and registered once
  per session; `call`, `send`, `attach`, `cancel`, `journal`, `run_entries`, `sql`, ... are
  ready to use. The plugin starts and stops it: do not call its `stop()`.
- `restate_server`: that session-wide `RestateServer` itself (ingress and admin URLs).
- `restate_beds`: the session's `BedPool`; `restate_beds.bed(app)` gives the same kind of test
  bed for fixtures of a wider scope (module, session).
- `fake_context`: a `FakeContextFactory` for in-process tests (`fake_context(state=...)`,
  `fake_context.replay_of(ctx)`).

`@pytest.mark.restate_always_replay` (or `--restate-always-replay` for every test) runs the
test's app on a second session server that suspends the handler at every await, so that it is
replayed from its journal each time: a saga that is not deterministic, or that runs an action
twice, shows it there.

The real-server fixtures need the `testing` extra and a restate-server (see
`python -m restate_saga.testing install-server`); the plugin itself imports without them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from ._bed import RestateTestBed
    from ._fakes import FakeContextFactory
    from ._pool import BedPool
    from ._server import RestateServer

APP_MARKER = "restate_app"
REPLAY_MARKER = "restate_always_replay"
REPLAY_OPTION = "--restate-always-replay"


def pytest_addoption(parser: pytest.Parser) -> None:
    """`--restate-always-replay`."""
    group = parser.getgroup("restate_saga", "restate_saga test bed")
    group.addoption(
        REPLAY_OPTION,
        action="store_true",
        default=False,
        help="serve every restate_bed test's app on a restate-server that replays the handler at every await",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Register the markers (so that `--strict-markers` accepts them)."""
    config.addinivalue_line(
        "markers",
        f"{APP_MARKER}(services, app=None, path=''): what the restate_bed fixture serves: a service, a list of "
        "services, or app= an ASGI app (path= where it mounts the Restate endpoint)",
    )
    config.addinivalue_line(
        "markers", f"{REPLAY_MARKER}: serve this test's app on a restate-server that replays at every await"
    )


@pytest.fixture(scope="session")
def restate_beds() -> Iterator[BedPool]:
    """The session's servers and served apps: `restate_beds.bed(app, always_replay=False)`."""
    from .._errors import MissingExtraError
    from . import EXTRA_MODULES

    try:  # needs the testing extra: imported only when a real-server fixture is used
        from ._pool import BedPool
    except ModuleNotFoundError as error:
        if (error.name or "").split(".")[0] not in EXTRA_MODULES:
            raise
        raise MissingExtraError(
            "the real-server fixtures (restate_bed, restate_server, restate_beds)", "testing", error.name
        ) from error
    pool = BedPool()
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture(scope="session")
def restate_server(restate_beds: BedPool) -> RestateServer:
    """The session's real restate-server (started on first use, stopped at the end of the session)."""
    return restate_beds.server(always_replay=False)


@pytest.fixture
def restate_app(request: pytest.FixtureRequest) -> object:
    """The app `restate_bed` serves, from the closest `restate_app` marker: its one argument (a service
    or a list of services) or its `app=` keyword (an ASGI app: pytest would take a callable passed
    positionally for the function to decorate). Override this fixture to provide it another way."""
    marker = request.node.get_closest_marker(APP_MARKER)
    if marker is not None and len(marker.args) == 1 and "app" not in marker.kwargs:
        return marker.args[0]
    if marker is not None and not marker.args and "app" in marker.kwargs:
        return marker.kwargs["app"]
    raise pytest.UsageError(
        f"{request.node.nodeid}: restate_bed needs an app: mark the test (or its class or module) with "
        "@pytest.mark.restate_app(service_or_list_of_services) or @pytest.mark.restate_app(app=asgi_app), "
        "or override the restate_app fixture"
    )


@pytest.fixture
def restate_app_path(request: pytest.FixtureRequest) -> str:
    """Where the app serves the Restate endpoint: the marker's `path=` keyword (e.g. "/restate/v1"
    for a FastAPI app with Restate mounted there), "" by default. Override it along with `restate_app`."""
    marker = request.node.get_closest_marker(APP_MARKER)
    return str(marker.kwargs.get("path", "")) if marker is not None else ""


@pytest.fixture
def restate_bed(
    request: pytest.FixtureRequest, restate_app: object, restate_app_path: str, restate_beds: BedPool
) -> RestateTestBed:
    """A test bed serving `restate_app` on the session's restate-server (the replaying one under
    `restate_always_replay`)."""
    replay = bool(request.config.getoption(REPLAY_OPTION)) or request.node.get_closest_marker(REPLAY_MARKER) is not None
    return restate_beds.bed(restate_app, always_replay=replay, path=restate_app_path)


@pytest.fixture
def fake_context() -> FakeContextFactory:
    """A factory of fresh `FakeContext`s for this test."""
    from ._fakes import FakeContextFactory

    return FakeContextFactory()
