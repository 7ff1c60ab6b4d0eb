"""Shared real servers for a test session: each app served and registered once, on one restate-server."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import restate

from ._bed import RestateTestBed, register_deployment
from ._serve import AppThread
from ._server import RestateServer

ALWAYS_REPLAY_ENV: Mapping[str, str] = {"RESTATE_WORKER__INVOKER__INACTIVITY_TIMEOUT": "0s"}
"""restate-server settings that suspend a handler at every await, so that it is replayed from its journal."""

Services = restate.Service | restate.VirtualObject | restate.Workflow


def as_asgi_app(app: object) -> object:
    """An ASGI app from what a test names: an app itself, one service, or a list of services."""
    if isinstance(app, restate.Service | restate.VirtualObject | restate.Workflow):
        return restate.app(services=[app])
    if isinstance(app, list | tuple):
        services = cast(Sequence[object], app)
        bad = [s for s in services if not isinstance(s, restate.Service | restate.VirtualObject | restate.Workflow)]
        if not services or bad:
            raise TypeError(f"restate_app: expected an ASGI app, a service or a list of services, got {app!r}")
        return restate.app(services=list(cast(Sequence[Services], services)))
    if not callable(app):
        raise TypeError(f"restate_app: expected an ASGI app, a service or a list of services, got {app!r}")
    return app


@dataclass
class _Served:
    app: object
    thread: AppThread
    bed: RestateTestBed


@dataclass
class BedPool:
    """Real restate-servers (a plain one, and one that replays at every await), started when first
    needed, and the apps served on them; `close()` stops everything."""

    _servers: dict[bool, RestateServer] = field(default_factory=dict[bool, RestateServer])
    _served: dict[tuple[int, str, bool], _Served] = field(default_factory=dict[tuple[int, str, bool], _Served])
    _apps: dict[tuple[int, ...], object] = field(default_factory=dict[tuple[int, ...], object])
    _latest: dict[bool, tuple[int, str]] = field(default_factory=dict[bool, tuple[int, str]])
    _keep: list[object] = field(default_factory=list[object])

    def server(self, always_replay: bool = False) -> RestateServer:
        """The session's server of that kind, started on first use."""
        server = self._servers.get(always_replay)
        if server is None:
            server = RestateServer(env=dict(ALWAYS_REPLAY_ENV) if always_replay else {}).start()
            self._servers[always_replay] = server
        return server

    def _asgi(self, app: object) -> object:
        if isinstance(app, list | tuple):
            members = tuple(cast(Sequence[object], app))
            key = tuple(id(member) for member in members)
            if key not in self._apps:
                self._apps[key] = as_asgi_app(list(members))
                self._keep.append(members)  # the ids stay valid while the pool lives
            return self._apps[key]
        if isinstance(app, restate.Service | restate.VirtualObject | restate.Workflow):
            return self._asgi([app])
        return as_asgi_app(app)

    def bed(self, app: object, always_replay: bool = False, path: str = "") -> RestateTestBed:
        """A test bed for `app` on the session's server, its Restate endpoint at `path` (e.g.
        "/restate/v1" for a FastAPI app that mounts it there).

        Served and registered on first use, and registered again when another app has been
        registered on that server since (so that it owns its services' names again).
        """
        if path and not path.startswith("/"):
            raise ValueError(f"restate_app path must start with '/', got {path!r}")
        asgi = self._asgi(app)
        server = self.server(always_replay)
        ident = (id(asgi), path.rstrip("/"))
        served = self._served.get((*ident, always_replay))
        if served is None:
            thread = AppThread(cast(Any, asgi)).start()
            try:
                register_deployment(server.admin_url, thread.url + ident[1])
            except Exception:
                thread.stop()
                raise
            bed = RestateTestBed.attached(server)
            bed.served = thread
            served = _Served(asgi, thread, bed)
            self._served[(*ident, always_replay)] = served
        elif self._latest.get(always_replay) != ident:
            register_deployment(server.admin_url, served.thread.url + ident[1])
        self._latest[always_replay] = ident
        return served.bed

    def close(self) -> None:
        """Stop every app and server the pool started."""
        for served in self._served.values():
            served.bed.close()
            served.thread.stop()
        self._served.clear()
        for server in self._servers.values():
            server.stop()
        self._servers.clear()
