"""`RestateTestBed`: a real restate-server, an app served by hypercorn, and typed helpers around them."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self, cast

import httpx

from ._serve import AppThread
from ._server import RestateServer, query_rows


@dataclass(frozen=True, slots=True)
class CallResult:
    """The answer of the ingress to one call."""

    status_code: int
    body: bytes
    invocation_id: str | None

    @property
    def ok(self) -> bool:
        """True for a 2xx answer."""
        return 200 <= self.status_code < 300

    def json(self) -> Any:
        """The body parsed as JSON (None for an empty body)."""
        return json.loads(self.body) if self.body else None

    @property
    def message(self) -> str:
        """The failure message Restate returned (the body itself when it is not a JSON error)."""
        try:
            data = self.json()
        except ValueError:
            return self.body.decode(errors="replace")
        if isinstance(data, dict) and "message" in data:
            return str(cast(dict[str, object], data)["message"])
        return self.body.decode(errors="replace")


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One row of `sys_journal`."""

    index: int
    entry_type: str
    name: str | None
    raw_length: int | None


def register_deployment(
    admin_url: str, uri: str, timeout: float = 30.0, ingress_url: str | None = None
) -> dict[str, Any]:
    """Register (or re-register) a deployment with the admin API; returns its description.

    With `ingress_url`, also wait until that ingress routes calls to every service of the deployment
    (until then it answers 404 "service not found").
    """
    deadline = time.monotonic() + timeout
    last = ""
    with httpx.Client(timeout=10.0) as client:
        while time.monotonic() < deadline:
            try:
                answer = client.post(f"{admin_url}/deployments", json={"uri": uri, "force": True})
            except httpx.TransportError as error:  # the admin API is (re)starting
                last = repr(error)
            else:
                if answer.status_code in (200, 201):
                    deployment = cast(dict[str, Any], answer.json())
                    if ingress_url is not None:
                        names = [str(s["name"]) for s in cast(list[dict[str, Any]], deployment.get("services", []))]
                        wait_for_services(client, ingress_url, names, deadline)
                    return deployment
                last = f"{answer.status_code} {answer.text}"
            time.sleep(0.2)
    raise RuntimeError(f"could not register {uri}: {last}")


def wait_for_services(client: httpx.Client, ingress_url: str, services: list[str], deadline: float) -> None:
    """Wait until an ingress knows `services` (its health answer lists the services it routes)."""
    while True:
        missing = [name for name in services if name not in ingress_services(client, ingress_url)]
        if not missing:
            return
        if time.monotonic() >= deadline:
            raise TimeoutError(f"the ingress {ingress_url} does not know {missing}")
        time.sleep(0.05)


def ingress_services(client: httpx.Client, ingress_url: str) -> list[str]:
    """The services an ingress routes calls to right now (empty while it does not answer)."""
    try:
        answer = client.get(f"{ingress_url}/restate/health")
        if answer.status_code == 200:
            return [str(name) for name in cast(dict[str, Any], answer.json()).get("services", [])]
    except (httpx.TransportError, ValueError):
        pass
    return []


@dataclass
class RestateTestBed:
    """A real restate-server plus an ASGI app served by hypercorn, registered and ready to call.

    Use as a context manager (or `start()`/`stop()`); `app` is usually `restate.app(services=[...])`.
    """

    app: Any
    server_env: Mapping[str, str] = field(default_factory=dict[str, str])
    call_timeout: float = 60.0
    server: RestateServer = field(init=False)
    served: AppThread = field(init=False)
    _client: httpx.Client | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.server = RestateServer(env=self.server_env)
        self.served = AppThread(self.app)

    @classmethod
    def attached(cls, server: RestateServer, call_timeout: float = 60.0) -> RestateTestBed:
        """Helpers (call, journal, SQL) for a server that is already running, serving no app itself."""
        bed = cls(app=None, call_timeout=call_timeout)
        bed.server = server
        bed._client = httpx.Client(timeout=call_timeout)
        return bed

    def close(self) -> None:
        """Close the HTTP client without stopping anything."""
        if self._client is not None:
            self._client.close()
            self._client = None

    def start(self) -> Self:
        """Start the server and the app and register the deployment."""
        self.server.start()
        started = False
        try:
            self.served.start()
            register_deployment(self.server.admin_url, self.served.url, ingress_url=self.server.ingress_url)
            started = True
        finally:
            if not started:  # leave nothing running behind a failed start
                self.stop()
        self._client = httpx.Client(timeout=self.call_timeout)
        return self

    def stop(self) -> None:
        """Stop everything started by `start()`."""
        if self._client is not None:
            self._client.close()
            self._client = None
        self.served.stop()
        self.server.stop()

    @property
    def client(self) -> httpx.Client:
        """The HTTP client (started with the bed)."""
        if self._client is None:
            raise RuntimeError("the test bed is not started")
        return self._client

    # -- calls through the ingress ---------------------------------------------------------

    def _path(self, service: str, handler: str, key: str | None) -> str:
        target = f"{service}/{key}/{handler}" if key is not None else f"{service}/{handler}"
        return f"{self.server.ingress_url}/{target}"

    def call(
        self,
        service: str,
        handler: str,
        payload: Any = None,
        *,
        key: str | None = None,
        idempotency_key: str | None = None,
        raw: bytes | None = None,
    ) -> CallResult:
        """Call a handler and wait for its answer. `raw` sends bytes as they are (for bad-input tests)."""
        headers: dict[str, str] = {}
        if idempotency_key is not None:
            headers["idempotency-key"] = idempotency_key
        content = raw if raw is not None else (None if payload is None else json.dumps(payload).encode())
        if content is not None:
            headers["content-type"] = "application/json"
        answer = self.client.post(self._path(service, handler, key), content=content, headers=headers)
        return CallResult(answer.status_code, answer.content, answer.headers.get("x-restate-id"))

    def send(
        self,
        service: str,
        handler: str,
        payload: Any = None,
        *,
        key: str | None = None,
        idempotency_key: str | None = None,
    ) -> str:
        """Start a handler without waiting; returns the invocation id."""
        headers: dict[str, str] = {}
        if idempotency_key is not None:
            headers["idempotency-key"] = idempotency_key
        content = None if payload is None else json.dumps(payload).encode()
        if content is not None:
            headers["content-type"] = "application/json"
        answer = self.client.post(self._path(service, handler, key) + "/send", content=content, headers=headers)
        answer.raise_for_status()
        return str(answer.json()["invocationId"])

    def attach(self, invocation_id: str) -> CallResult:
        """Wait for an invocation's result."""
        answer = self.client.get(f"{self.server.ingress_url}/restate/invocation/{invocation_id}/attach")
        return CallResult(answer.status_code, answer.content, invocation_id)

    def cancel(self, invocation_id: str) -> None:
        """Ask Restate to cancel an invocation (its compensations run)."""
        answer = self.client.patch(f"{self.server.admin_url}/invocations/{invocation_id}/cancel")
        answer.raise_for_status()

    # -- the admin SQL API -------------------------------------------------------------------

    def sql(self, query: str, timeout: float = 30.0) -> list[dict[str, Any]]:
        """Rows of an admin SQL query.

        Retried until `timeout` while the server cannot answer yet (a connection error, or a 5xx such
        as the 500 "expecting a partition store" of a server that has just restarted); a refused
        query (4xx) raises `RestateQueryError` at once.
        """
        return query_rows(self.client, self.server.admin_url, query, timeout)

    def journal(self, invocation_id: str) -> list[JournalEntry]:
        """The journal of one invocation, in order."""
        _check_id(invocation_id)
        rows = self.sql(
            f"SELECT index, entry_type, name, raw_length FROM sys_journal WHERE id = '{invocation_id}' ORDER BY index"
        )
        return [
            JournalEntry(int(row["index"]), str(row["entry_type"]), row.get("name") or None, row.get("raw_length"))
            for row in rows
        ]

    def journal_rows(self, invocation_id: str) -> list[dict[str, Any]]:
        """The full `sys_journal` rows of one invocation (with `entry_json` and `appended_at`)."""
        _check_id(invocation_id)
        return self.sql(
            "SELECT index, entry_type, name, raw_length, entry_json, appended_at FROM sys_journal "
            f"WHERE id = '{invocation_id}' ORDER BY index"
        )

    def wait_for_entry(
        self, invocation_id: str, entry_type: str, name: str | None = None, timeout: float = 30.0
    ) -> JournalEntry:
        """Wait until the invocation's journal holds an entry of `entry_type` (e.g. "Command: Sleep":
        it now waits on a durable timer; "Command: GetPromise": on a durable promise), and `name`."""
        deadline = time.monotonic() + timeout
        while True:
            for entry in self.journal(invocation_id):
                if entry.entry_type == entry_type and (name is None or entry.name == name):
                    return entry
            if time.monotonic() >= deadline:
                raise TimeoutError(f"no {entry_type!r} entry in the journal of {invocation_id} within {timeout}s")
            time.sleep(0.02)

    def run_entries(self, invocation_id: str) -> list[str]:
        """The names of the invocation's `ctx.run` entries, in journal order."""
        return [e.name or "" for e in self.journal(invocation_id) if e.entry_type == "Command: Run"]

    def invocation_status(self, invocation_id: str) -> dict[str, Any]:
        """The `sys_invocation` row of an invocation."""
        _check_id(invocation_id)
        rows = self.sql(f"SELECT * FROM sys_invocation WHERE id = '{invocation_id}'")
        if not rows:
            raise LookupError(f"no invocation {invocation_id}")
        return rows[0]

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _check_id(invocation_id: str) -> None:
    if not invocation_id.replace("_", "").isalnum():
        raise ValueError(f"not an invocation id: {invocation_id!r}")
