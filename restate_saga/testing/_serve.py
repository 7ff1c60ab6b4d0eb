"""Serve an ASGI app with hypercorn: in a background thread, or as a separate process."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx

from ._server import free_port


def _listening_socket(port: int, timeout: float) -> socket.socket:
    """A socket listening on 127.0.0.1:`port` (0: a port the kernel picks), bound at once so that no
    other process can take the port between choosing and serving it. An explicit port still held
    by a process that has just died is retried until `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            sock.close()
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.1)
            continue
        sock.listen(1024)
        return sock


def _fresh_listening_socket() -> socket.socket:
    """A socket listening on a new port below the kernel's range for outgoing connections."""
    for _ in range(20):
        try:
            return _listening_socket(free_port(), 0)
        except OSError:  # taken in the meantime: pick another
            continue
    return _listening_socket(0, 0)


def _wait_listening(port: int, timeout: float, alive: Any = None) -> None:
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=1.0) as client:
        while time.monotonic() < deadline:
            if alive is not None and not alive():
                raise RuntimeError("the app server stopped while starting")
            try:
                client.get(f"http://127.0.0.1:{port}/health")
                return
            except httpx.TransportError:
                time.sleep(0.05)
    raise TimeoutError(f"the app did not listen on port {port} within {timeout}s")


@dataclass
class AppThread:
    """Serves an ASGI app (e.g. `restate.app(...)`) with hypercorn on a loopback port, in a thread.

    The app shares the test's process, so tests can inspect what its handlers recorded.
    """

    app: Any
    port: int = 0
    _thread: threading.Thread | None = field(default=None, init=False, repr=False)
    _loop: asyncio.AbstractEventLoop | None = field(default=None, init=False, repr=False)
    _stop: asyncio.Event | None = field(default=None, init=False, repr=False)
    _error: Exception | None = field(default=None, init=False, repr=False)

    @property
    def url(self) -> str:
        """The deployment URI to register with Restate."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Self:
        """Start serving and wait until the port accepts connections."""
        from hypercorn.asyncio import serve
        from hypercorn.config import Config

        sock = _listening_socket(self.port, 10)
        self.port = int(sock.getsockname()[1])
        config = Config()
        config.bind = [f"fd://{os.dup(sock.fileno())}"]  # hypercorn owns the duplicate; the port stays bound
        sock.close()
        config.accesslog = None
        config.errorlog = None
        config.loglevel = "WARNING"
        ready = threading.Event()

        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            ready.set()
            await serve(self.app, config, shutdown_trigger=self._stop.wait)

        def run() -> None:
            try:
                asyncio.run(main())
            except Exception as error:  # reported to the starting thread
                self._error = error
                ready.set()

        self._thread = threading.Thread(target=run, name=f"hypercorn:{self.port}", daemon=True)
        self._thread.start()
        ready.wait(10)
        if self._error is not None:
            raise RuntimeError(f"hypercorn could not serve the app on port {self.port}: {self._error!r}")
        _wait_listening(self.port, 15, alive=lambda: self._thread is not None and self._thread.is_alive())
        return self

    def stop(self) -> None:
        """Shut hypercorn down and join its thread."""
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


@dataclass
class AppProcess:
    """Serves `module:attribute` with hypercorn in a child process that can be killed and restarted.

    `python` runs it with another interpreter (e.g. another virtualenv); the child then does not
    inherit this process's PYTHONPATH and VIRTUAL_ENV.
    """

    target: str
    port: int = 0
    env: dict[str, str] = field(default_factory=dict[str, str])
    cwd: Path | None = None
    python: Path | None = None
    log_level: str = "WARNING"
    _process: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)

    @property
    def url(self) -> str:
        """The deployment URI to register with Restate."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        """The process id while running."""
        return None if self._process is None else self._process.pid

    def start(self) -> Self:
        """Start (or restart) the process on the same port and wait until it listens.

        The first start picks a port below the kernel's range for outgoing connections (see
        `free_port`), so that no outgoing connection takes it while the process is down between a
        `kill()` and a restart. This process binds the port and hands the listening socket to the
        child, so that no other process can take it in between either.
        """
        sock = _listening_socket(self.port, 15) if self.port else _fresh_listening_socket()
        self.port = int(sock.getsockname()[1])
        python = str(self.python) if self.python else sys.executable
        command = [python, "-m", "hypercorn", self.target, "--bind", f"fd://{sock.fileno()}"]
        inherited = dict(os.environ)
        if self.python:  # another interpreter must not import this one's packages
            inherited.pop("PYTHONPATH", None)
            inherited.pop("VIRTUAL_ENV", None)
        try:
            self._process = subprocess.Popen(
                [*command, "--log-level", self.log_level],
                env={**inherited, **self.env},
                cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                pass_fds=(sock.fileno(),),
            )
        finally:
            sock.close()  # the child holds the listening socket now: killing it frees the port
        process = self._process
        _wait_listening(self.port, 30, alive=lambda: process.poll() is None)
        return self

    def kill(self) -> None:
        """SIGKILL the process group: no cleanup, as in a crash."""
        self._signal(signal.SIGKILL)

    def stop(self) -> None:
        """Stop the process group gracefully (SIGTERM, then SIGKILL)."""
        self._signal(signal.SIGTERM)

    def _signal(self, sig: signal.Signals) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, sig)
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        except ProcessLookupError:
            pass

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
