"""Start and stop a real `restate-server` on free loopback ports."""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self, cast

import httpx

from ._install import find_restate_server


def _outgoing_port_range() -> tuple[int, int]:
    """The kernel's range of ports for outgoing connections (Linux; the usual default elsewhere)."""
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def _is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _kernel_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def listen_ports(count: int) -> list[int]:
    """`count` distinct ports free on 127.0.0.1 now, below the range the kernel gives outgoing connections.

    A port the kernel picks (bind to port 0) comes from that range, where any outgoing connection can
    take it before a server binds it, or while a killed server is down and must get it back on
    restart. Ports below the range are only ever taken by an explicit bind. Falls back to the
    kernel's pick when there is no room below the range.
    """
    low, _ = _outgoing_port_range()
    chosen: list[int] = []
    if low > 12000:
        pick = random.SystemRandom()
        for _ in range(50 * count):
            port = pick.randrange(10000, low)
            if port not in chosen and _is_free(port):
                chosen.append(port)
                if len(chosen) == count:
                    break
    while len(chosen) < count:
        port = _kernel_port()
        if port not in chosen:
            chosen.append(port)
    return chosen


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now, outside the kernel's range for outgoing connections.

    Whoever binds it later can still lose a race with another process binding it explicitly: bind at
    once, or retry with another port (as `RestateServer` and `AppProcess` do).
    """
    return listen_ports(1)[0]


PARTITION_PROBE = "SELECT count(*) AS n FROM sys_invocation_status"
"""A query that reads every partition: it fails while some partition store is not open yet."""


def query_once(client: httpx.Client, admin_url: str, query: str) -> list[dict[str, Any]] | str:
    """Rows of an admin SQL query, or why it failed *for now* (a connection error or a 5xx, such as the
    500 "expecting a partition store" of a server whose partitions are still opening).

    A 4xx (a bad query) raises `RestateQueryError` at once: waiting would not fix it.
    """
    try:
        answer = client.post(f"{admin_url}/query", json={"query": query}, headers={"accept": "application/json"})
    except httpx.TransportError as error:
        return f"{admin_url}: {error!r}"
    if answer.status_code == 200:
        return cast(list[dict[str, Any]], answer.json()["rows"])
    if 400 <= answer.status_code < 500:
        raise RestateQueryError(f"{answer.status_code} {answer.text[:500]} for query {query!r}")
    return f"{admin_url}: {answer.status_code} {answer.text[:300]}"


class RestateQueryError(RuntimeError):
    """The admin API refused an SQL query (4xx), or kept failing it until the deadline."""


def query_rows(client: httpx.Client, admin_url: str, sql: str, timeout: float = 30.0) -> list[dict[str, Any]]:
    """Rows of an admin SQL query, retried until `timeout` while the server is not ready to answer it."""
    deadline = time.monotonic() + timeout
    while True:
        rows = query_once(client, admin_url, sql)
        if not isinstance(rows, str):
            return rows
        if time.monotonic() >= deadline:
            raise RestateQueryError(f"query failed for {timeout}s: {rows}")
        time.sleep(0.1)


@dataclass
class RestateServer:
    """One restate-server node on loopback, with a temporary data folder; a context manager.

    `env` adds or overrides server settings (e.g. `RESTATE_WORKER__INVOKER__INACTIVITY_TIMEOUT`).
    `kill()` and `restart()` crash it and bring it back with its data and on its ports, for recovery
    tests; `stop()` ends it for good and removes its data.
    """

    env: Mapping[str, str] = field(default_factory=dict[str, str])
    binary: Path | None = None
    startup_timeout: float = 60.0
    ingress_port: int = 0
    admin_port: int = 0
    node_port: int = 0
    _process: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)
    _base_dir: tempfile.TemporaryDirectory[str] | None = field(default=None, init=False, repr=False)
    _log_path: Path | None = field(default=None, init=False, repr=False)
    _binary: Path | None = field(default=None, init=False, repr=False)
    _log_offset: int = field(default=0, init=False, repr=False)

    @property
    def ingress_url(self) -> str:
        """The HTTP ingress, where handlers are invoked."""
        return f"http://127.0.0.1:{self.ingress_port}"

    @property
    def admin_url(self) -> str:
        """The admin API (deployments, invocations, SQL queries)."""
        return f"http://127.0.0.1:{self.admin_port}"

    @property
    def data_dir(self) -> Path:
        """The server's data folder (kept across `kill()` and `restart()`, removed by `stop()`)."""
        if self._base_dir is None:
            raise RuntimeError("the server is not started")
        return Path(self._base_dir.name) / "data"

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs."""
        return None if self._process is None else self._process.pid

    def is_running(self) -> bool:
        """True while the server process is alive."""
        return self._process is not None and self._process.poll() is None

    def start(self) -> Self:
        """Start the server on free ports and wait until it is ready (see `wait_ready`).

        Ports left at 0 are chosen below the kernel's range for outgoing connections; if another
        process takes one before the server binds it, the start is retried on new ports.
        """
        if self._base_dir is not None:
            raise RuntimeError("the server is already started; use restart() after kill()")
        self._binary = self.binary or find_restate_server()
        self._base_dir = tempfile.TemporaryDirectory(prefix="restate-saga-server-")
        self._log_path = Path(self._base_dir.name) / "server.log"
        chosen = {name: getattr(self, name) == 0 for name in ("ingress_port", "admin_port", "node_port")}
        started = False
        try:
            for attempt in range(4):
                for name, port in zip(
                    [n for n, auto in chosen.items() if auto], listen_ports(sum(chosen.values())), strict=True
                ):
                    setattr(self, name, port)
                self._spawn()
                try:
                    self.wait_ready(self.startup_timeout)
                except _PortTaken:
                    if attempt == 3 or not any(chosen.values()):
                        raise
                    self._kill_process()
                    shutil.rmtree(self.data_dir, ignore_errors=True)
                    continue
                started = True
                return self
        finally:
            if not started:  # leave nothing running behind a failed start
                self.stop()
        raise AssertionError("unreachable")

    def _spawn(self) -> None:
        if self._binary is None or self._base_dir is None or self._log_path is None:
            raise RuntimeError("the server is not started")
        env = {
            **os.environ,
            "RESTATE_INGRESS__BIND_ADDRESS": f"127.0.0.1:{self.ingress_port}",
            "RESTATE_ADMIN__BIND_ADDRESS": f"127.0.0.1:{self.admin_port}",
            "RESTATE_BIND_ADDRESS": f"127.0.0.1:{self.node_port}",
            "RESTATE_ADVERTISED_ADDRESS": f"http://127.0.0.1:{self.node_port}",
            "RESTATE_LISTEN_MODE": "tcp",
            "RESTATE_DEFAULT_NUM_PARTITIONS": "4",
            "RESTATE_ROCKSDB_TOTAL_MEMORY_SIZE": "256MB",
            "RESTATE_DISABLE_TELEMETRY": "true",
            "RESTATE_LOG_FILTER": "warn",
            "RESTATE_LOG_DISABLE_ANSI_CODES": "true",
            "RESTATE_DEFAULT_RETRY_POLICY__INITIAL_INTERVAL": "100ms",
            "RESTATE_DEFAULT_RETRY_POLICY__MAX_INTERVAL": "1s",
            **self.env,
        }
        with open(self._log_path, "ab") as log:
            self._log_offset = log.tell()
            self._process = subprocess.Popen(
                [str(self._binary), "--base-dir", str(self.data_dir), "--node-name", "saga-test", "--no-logo"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Wait until admin and ingress answer their health checks, a query that reads every
        partition succeeds (a server that has just (re)started answers SQL with 500 "expecting a
        partition store" until its partition stores are open), and the ingress routes every
        registered service (after a restart it answers 404 for them for a moment)."""
        deadline = time.monotonic() + timeout
        checks = (f"{self.admin_url}/health", f"{self.ingress_url}/restate/health")
        problem: str | None = "not checked yet"
        with httpx.Client(timeout=3.0) as client:
            while True:
                process = self._process
                if process is not None and process.poll() is not None:
                    log = self.log()
                    if "address already in use" in self._log_since_spawn().lower():
                        raise _PortTaken(log)
                    raise RuntimeError(f"restate-server exited (code {process.returncode}):\n{log}")
                problem = self._readiness_problem(client, checks)
                if problem is None:
                    return
                if time.monotonic() >= deadline:
                    raise TimeoutError(f"restate-server was not ready within {timeout}s: {problem}\n{self.log()}")
                time.sleep(0.05)

    def _readiness_problem(self, client: httpx.Client, checks: tuple[str, ...]) -> str | None:
        for url in checks:
            try:
                status = client.get(url).status_code
            except httpx.TransportError as error:
                return f"{url}: {error!r}"
            if status != 200:
                return f"{url}: {status}"
        rows = query_once(client, self.admin_url, PARTITION_PROBE)
        if isinstance(rows, str):
            return rows
        return self._unknown_to_the_ingress(client)

    def _unknown_to_the_ingress(self, client: httpx.Client) -> str | None:
        """After a restart the ingress can answer 404 for registered services for a moment."""
        try:
            registered = client.get(f"{self.admin_url}/services")
            routed = client.get(f"{self.ingress_url}/restate/health")
        except httpx.TransportError as error:
            return repr(error)
        if registered.status_code != 200 or routed.status_code != 200:
            return f"services: {registered.status_code}, ingress health: {routed.status_code}"
        known = {str(s["name"]) for s in cast(list[dict[str, Any]], registered.json().get("services", []))}
        missing = known - {str(name) for name in cast(list[Any], routed.json().get("services", []))}
        return f"the ingress does not route {sorted(missing)} yet" if missing else None

    def log(self) -> str:
        """What the server has printed so far (last 4,000 characters, across restarts)."""
        if self._log_path is None or not self._log_path.exists():
            return ""
        return self._log_path.read_text(errors="replace")[-4000:]

    def _log_since_spawn(self) -> str:
        if self._log_path is None or not self._log_path.exists():
            return ""
        with open(self._log_path, "rb") as log:
            log.seek(self._log_offset)
            return log.read().decode(errors="replace")

    def kill(self) -> None:
        """SIGKILL the server's process group, as in a crash: no shutdown; its data stays on disk."""
        if not self.is_running():
            raise RuntimeError("the server is not running")
        self._kill_process()

    def _kill_process(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait(timeout=10)

    def restart(self, timeout: float | None = None) -> float:
        """Start a killed server again with its data and on the same ports; wait until it is ready.

        Returns the seconds from the start of the process until it was ready. Retries the start for a
        while if a port is still held (a socket of the killed process closing).
        """
        if self._base_dir is None:
            raise RuntimeError("the server was never started (or was stopped): use start()")
        if self.is_running():
            raise RuntimeError("the server is still running; kill() it first")
        limit = self.startup_timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        while True:
            began = time.monotonic()
            self._spawn()
            try:
                self.wait_ready(max(1.0, deadline - time.monotonic()))
            except _PortTaken:
                self._process = None
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.2)
                continue
            return time.monotonic() - began

    def stop(self) -> None:
        """Stop the server's whole process group and remove its data folder."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                process.wait(timeout=10)
        if self._base_dir is not None:
            self._base_dir.cleanup()
            self._base_dir = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class _PortTaken(RuntimeError):
    """restate-server exited because one of its ports was taken."""
