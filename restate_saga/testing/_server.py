"""Start and stop a real `restate-server` on free loopback ports."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Self

import httpx

from ._install import find_restate_server


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RestateServer:
    """One restate-server node on loopback, with a temporary data folder; a context manager.

    `env` adds or overrides server settings (e.g. `RESTATE_WORKER__INVOKER__INACTIVITY_TIMEOUT`).
    """

    env: Mapping[str, str] = field(default_factory=dict[str, str])
    binary: Path | None = None
    startup_timeout: float = 30.0
    ingress_port: int = 0
    admin_port: int = 0
    node_port: int = 0
    _process: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)
    _base_dir: tempfile.TemporaryDirectory[str] | None = field(default=None, init=False, repr=False)
    _log_path: Path | None = field(default=None, init=False, repr=False)

    @property
    def ingress_url(self) -> str:
        """The HTTP ingress, where handlers are invoked."""
        return f"http://127.0.0.1:{self.ingress_port}"

    @property
    def admin_url(self) -> str:
        """The admin API (deployments, invocations, SQL queries)."""
        return f"http://127.0.0.1:{self.admin_port}"

    def start(self) -> Self:
        """Start the server and wait until both admin and ingress answer their health checks."""
        binary = self.binary or find_restate_server()
        self.ingress_port = self.ingress_port or free_port()
        self.admin_port = self.admin_port or free_port()
        self.node_port = self.node_port or free_port()
        self._base_dir = tempfile.TemporaryDirectory(prefix="restate-saga-server-")
        base = Path(self._base_dir.name)
        self._log_path = base / "server.log"
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
        with open(self._log_path, "wb") as log:
            self._process = subprocess.Popen(
                [str(binary), "--base-dir", str(base / "data"), "--node-name", "saga-test", "--no-logo"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self._wait_healthy()
        return self

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        checks = (f"{self.admin_url}/health", f"{self.ingress_url}/restate/health")
        with httpx.Client(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self._process is not None and self._process.poll() is not None:
                    raise RuntimeError(
                        f"restate-server exited at start (code {self._process.returncode}):\n{self.log()}"
                    )
                try:
                    if all(client.get(url).status_code == 200 for url in checks):
                        return
                except httpx.TransportError:
                    pass
                time.sleep(0.1)
        self.stop()
        raise TimeoutError(f"restate-server did not become healthy in {self.startup_timeout}s:\n{self.log()}")

    def log(self) -> str:
        """What the server has printed so far (last 4,000 characters)."""
        if self._log_path is None or not self._log_path.exists():
            return ""
        return self._log_path.read_text(errors="replace")[-4000:]

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
