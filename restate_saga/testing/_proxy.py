"""`FaultProxy`: a loopback TCP proxy between restate-server and a service that breaks connections on purpose.

Register the deployment at the proxy's `url` instead of the service's: every HTTP/2 connection the
server opens to the service then passes through the proxy, which can cut connections mid-stream
(a TCP reset, as a crashed load balancer or a dropped NAT entry would), stall them (hold every
byte until resumed), delay them (latency on every chunk), refuse new ones (reset them as they
arrive), or cut the connection that carries a given byte pattern (e.g. a step's name, which the
service sends when the step starts). Faults are applied on demand, on a schedule, or at random
from a seed (`random_faults`). The proxy runs its own event loop in a background thread; every
method may be called from any thread, including from inside a handler of an app served in the
same process.
"""

from __future__ import annotations

import asyncio
import random
import socket
import struct
import threading
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal, Self, TypeVar

FaultKind = Literal["cut", "stall", "delay", "refuse"]
FAULT_KINDS: tuple[FaultKind, ...] = ("cut", "stall", "delay", "refuse")
_T = TypeVar("_T")
_CHUNK = 65536


@dataclass(frozen=True, slots=True)
class Fault:
    """One fault of a schedule: at `at` seconds after the schedule starts, for `duration` seconds.

    - `cut`: reset every open connection (no duration);
    - `stall`: hold every byte in both directions, on open and new connections, then let it flow;
    - `delay`: add `latency` seconds before forwarding each chunk;
    - `refuse`: reset every new connection as it arrives (open ones keep working).
    """

    at: float
    kind: FaultKind
    duration: float = 0.0
    latency: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"Fault.kind must be one of {FAULT_KINDS}, got {self.kind!r}")
        if self.at < 0 or self.duration < 0 or self.latency < 0:
            raise ValueError(f"Fault times must not be negative: {self}")

    def __str__(self) -> str:
        if self.kind == "cut":
            return f"{self.at:.2f}s cut"
        extra = f" +{self.latency * 1000:.0f}ms" if self.kind == "delay" else ""
        return f"{self.at:.2f}s {self.kind} {self.duration:.2f}s{extra}"


def random_faults(
    seed: int,
    duration: float,
    *,
    mean_interval: float = 1.0,
    kinds: Sequence[FaultKind] = FAULT_KINDS,
    max_fault: float = 0.5,
    max_latency: float = 0.05,
) -> tuple[Fault, ...]:
    """A reproducible random schedule over `duration` seconds: faults arrive on average every
    `mean_interval` seconds (exponential gaps), each of a kind drawn from `kinds` and lasting up to
    `max_fault` seconds (delays add up to `max_latency` per chunk). The same seed gives the same
    schedule; print it to reproduce a failure."""
    if not kinds:
        raise ValueError("random_faults needs at least one kind of fault")
    if duration <= 0 or mean_interval <= 0:
        raise ValueError("random_faults needs a positive duration and mean_interval")
    rng = random.Random(seed)
    faults: list[Fault] = []
    at = rng.expovariate(1 / mean_interval)
    while at < duration:
        kind = rng.choice(list(kinds))
        length = 0.0 if kind == "cut" else rng.uniform(0.05, max_fault)
        latency = rng.uniform(0.001, max_latency) if kind == "delay" else 0.0
        faults.append(Fault(round(at, 3), kind, round(length, 3), round(latency, 4)))
        at += rng.expovariate(1 / mean_interval)
    return tuple(faults)


@dataclass(frozen=True, slots=True)
class ProxyStats:
    """What the proxy has done so far."""

    connections: int
    """Connections accepted and forwarded to the service."""
    open: int
    """Connections open right now."""
    cut: int
    """Connections reset by `cut()`, `cut_when()` or a scheduled cut."""
    refused: int
    """New connections reset while refusing (or because the service did not accept them)."""
    stalls: int
    """Stalls started."""
    held_chunks: int
    """Chunks that waited for a stall to end."""
    delayed_chunks: int
    """Chunks forwarded late because of a delay."""
    triggered: int
    """Patterns of `cut_when` that were seen (each cut its connection)."""
    bytes_forwarded: int


@dataclass
class _Counters:
    connections: int = 0
    cut: int = 0
    refused: int = 0
    stalls: int = 0
    held_chunks: int = 0
    delayed_chunks: int = 0
    triggered: int = 0
    bytes_forwarded: int = 0


@dataclass(eq=False)
class _Link:
    """One proxied connection: the server's side and the service's side."""

    client: asyncio.StreamWriter
    target: asyncio.StreamWriter
    closed: bool = False

    def close(self, reset: bool) -> None:
        if self.closed:
            return
        self.closed = True
        for writer in (self.client, self.target):
            _close(writer, reset)


def _close(writer: asyncio.StreamWriter, reset: bool) -> None:
    """Close a connection; with `reset`, abortively (the peer gets a TCP RST, not a FIN)."""
    if reset:
        sock = writer.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
        writer.transport.abort()
    else:
        writer.close()


@dataclass
class _Trigger:
    pattern: bytes
    remaining: int


@dataclass
class FaultProxy:
    """A TCP proxy on 127.0.0.1 that forwards to `target_port` and injects faults; a context manager.

    `url` is what to register with restate-server. `port` 0 picks a free port (bound at once).
    """

    target_port: int
    port: int = 0
    target_host: str = "127.0.0.1"
    _loop: asyncio.AbstractEventLoop | None = field(default=None, init=False, repr=False)
    _thread: threading.Thread | None = field(default=None, init=False, repr=False)
    _server: asyncio.Server | None = field(default=None, init=False, repr=False)
    _links: set[_Link] = field(default_factory=set[_Link], init=False, repr=False)
    _flowing: asyncio.Event | None = field(default=None, init=False, repr=False)
    _stall_depth: int = field(default=0, init=False, repr=False)
    _refusing: int = field(default=0, init=False, repr=False)
    _latency: float = field(default=0.0, init=False, repr=False)
    _triggers: list[_Trigger] = field(default_factory=list[_Trigger], init=False, repr=False)
    _counters: _Counters = field(default_factory=_Counters, init=False, repr=False)
    _schedule: asyncio.Task[None] | None = field(default=None, init=False, repr=False)
    _applied: list[tuple[float, Fault]] = field(default_factory=list[tuple[float, Fault]], init=False, repr=False)

    @property
    def url(self) -> str:
        """The deployment URI to register with restate-server (instead of the service's own)."""
        return f"http://127.0.0.1:{self.port}"

    # -- start and stop ------------------------------------------------------------------------------

    def start(self) -> Self:
        """Start listening (in a background thread with its own event loop)."""
        if self._thread is not None:
            raise RuntimeError("the proxy is already started")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        self.port = int(sock.getsockname()[1])
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                self._flowing = asyncio.Event()
                self._flowing.set()
                self._server = loop.run_until_complete(asyncio.start_server(self._accept, sock=sock, backlog=1024))
            except Exception as error:  # reported to the starting thread
                failure.append(error)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

        self._thread = threading.Thread(target=run, name=f"fault-proxy:{self.port}", daemon=True)
        self._thread.start()
        ready.wait(10)
        if failure or not ready.is_set():
            self._thread = None
            sock.close()
            raise RuntimeError(f"the fault proxy could not listen on port {self.port}: {failure!r}")
        return self

    def stop(self) -> None:
        """Close every connection and the listening socket, and end the background thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        try:
            self._call(self._shutdown)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)
            self._thread = None
            self._loop = None

    async def _shutdown(self) -> None:
        if self._schedule is not None:
            self._schedule.cancel()
        if self._flowing is not None:
            self._flowing.set()
        for link in list(self._links):
            link.close(reset=True)
        if self._server is not None:
            self._server.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- faults on demand ------------------------------------------------------------------------------

    def cut(self) -> int:
        """Reset every open connection now (mid-stream: whatever was in flight is lost); returns how many."""

        async def cut_all() -> int:
            return self._cut_all()

        return self._call(cut_all)

    def stall(self) -> None:
        """Hold every byte, in both directions, on open and new connections, until `resume()`."""

        async def begin() -> None:
            self._begin_stall()

        self._call(begin)

    def resume(self) -> None:
        """End a `stall()`: held bytes flow again, in order."""

        async def end() -> None:
            self._end_stall()

        self._call(end)

    def delay(self, latency: float) -> None:
        """Wait `latency` seconds before forwarding each chunk, from now on (0 ends the delay)."""
        if latency < 0:
            raise ValueError("a delay must not be negative")

        async def set_latency() -> None:
            self._latency = latency

        self._call(set_latency)

    def refuse(self, refusing: bool = True) -> None:
        """While `refusing`, reset every new connection as it arrives; open connections keep working."""

        async def set_refusing() -> None:
            self._refusing = 1 if refusing else 0

        self._call(set_refusing)

    def cut_when(self, pattern: bytes, times: int = 1) -> None:
        """Cut the connection that carries `pattern` (in either direction), before the chunk that
        completes it is forwarded; for the next `times` occurrences. A step's name, for instance,
        travels from the service to the server when the step starts (and again for its undo, as
        `compensate:<step>`)."""
        if not pattern or times < 1:
            raise ValueError("cut_when needs a non-empty pattern and times >= 1")

        async def add() -> None:
            self._triggers.append(_Trigger(pattern, times))

        self._call(add)

    def run_schedule(self, faults: Sequence[Fault]) -> None:
        """Apply `faults` in the background, each at its time from now (they may overlap)."""
        planned = tuple(sorted(faults, key=lambda f: f.at))

        async def launch() -> None:
            if self._schedule is not None and not self._schedule.done():
                raise RuntimeError("a schedule is already running")
            self._applied.clear()
            self._schedule = asyncio.get_running_loop().create_task(self._run(planned))

        self._call(launch)

    def wait_schedule(self, timeout: float = 120.0) -> tuple[tuple[float, Fault], ...]:
        """Wait until the running schedule has applied and ended every fault; returns what was applied
        (with the time each one started, from the start of the schedule)."""

        async def wait() -> None:
            if self._schedule is not None:
                await asyncio.wait_for(asyncio.shield(self._schedule), timeout)

        self._call(wait, timeout + 5)
        return tuple(self._applied)

    @property
    def stats(self) -> ProxyStats:
        """A snapshot of what the proxy has done."""
        c = self._counters
        return ProxyStats(
            connections=c.connections,
            open=sum(1 for link in self._links if not link.closed),
            cut=c.cut,
            refused=c.refused,
            stalls=c.stalls,
            held_chunks=c.held_chunks,
            delayed_chunks=c.delayed_chunks,
            triggered=c.triggered,
            bytes_forwarded=c.bytes_forwarded,
        )

    # -- inside the proxy's loop -------------------------------------------------------------------------

    def _call(self, fn: Callable[[], Coroutine[Any, Any, _T]], timeout: float = 10.0) -> _T:
        loop = self._loop
        if loop is None:
            raise RuntimeError("the proxy is not started")
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            raise RuntimeError("FaultProxy methods block: call them from another thread than the proxy's")
        return asyncio.run_coroutine_threadsafe(fn(), loop).result(timeout)

    def _cut_all(self) -> int:
        links = [link for link in self._links if not link.closed]
        for link in links:
            link.close(reset=True)
        self._counters.cut += len(links)
        return len(links)

    def _begin_stall(self) -> None:
        assert self._flowing is not None
        self._stall_depth += 1
        self._counters.stalls += 1
        self._flowing.clear()

    def _end_stall(self) -> None:
        assert self._flowing is not None
        self._stall_depth = max(0, self._stall_depth - 1)
        if self._stall_depth == 0:
            self._flowing.set()

    async def _run(self, faults: tuple[Fault, ...]) -> None:
        loop = asyncio.get_running_loop()
        began = loop.time()
        pending: list[asyncio.Task[None]] = []
        for fault in faults:
            await asyncio.sleep(max(0.0, began + fault.at - loop.time()))
            self._applied.append((round(loop.time() - began, 3), fault))
            pending.append(loop.create_task(self._apply(fault)))
        await asyncio.gather(*pending)

    async def _apply(self, fault: Fault) -> None:
        match fault.kind:
            case "cut":
                self._cut_all()
            case "stall":
                self._begin_stall()
                try:
                    await asyncio.sleep(fault.duration)
                finally:
                    self._end_stall()
            case "delay":
                self._latency += fault.latency
                try:
                    await asyncio.sleep(fault.duration)
                finally:
                    self._latency = max(0.0, self._latency - fault.latency)
            case "refuse":
                self._refusing += 1
                try:
                    await asyncio.sleep(fault.duration)
                finally:
                    self._refusing -= 1

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._refusing:
            self._counters.refused += 1
            _close(writer, reset=True)
            return
        try:
            target_reader, target_writer = await asyncio.open_connection(self.target_host, self.target_port)
        except OSError:  # the service is down: the server sees a reset, as from a backend that is gone
            self._counters.refused += 1
            _close(writer, reset=True)
            return
        link = _Link(writer, target_writer)
        self._links.add(link)
        self._counters.connections += 1
        try:
            await asyncio.gather(self._pump(link, reader, target_writer), self._pump(link, target_reader, writer))
        finally:
            link.close(reset=False)
            self._links.discard(link)

    async def _pump(self, link: _Link, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        tail = b""
        try:
            while not link.closed:
                chunk = await reader.read(_CHUNK)
                if not chunk:
                    break
                assert self._flowing is not None
                if not self._flowing.is_set():
                    self._counters.held_chunks += 1
                    await self._flowing.wait()
                if self._latency > 0:
                    self._counters.delayed_chunks += 1
                    await asyncio.sleep(self._latency)
                if self._triggers:
                    window = tail + chunk
                    if self._triggered(window):
                        self._counters.triggered += 1
                        self._counters.cut += 1
                        link.close(reset=True)
                        return
                    longest = max(len(t.pattern) for t in self._triggers)
                    tail = window[-(longest - 1) :] if longest > 1 else b""
                if link.closed:
                    return
                self._counters.bytes_forwarded += len(chunk)
                writer.write(chunk)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            link.close(reset=False)

    def _triggered(self, window: bytes) -> bool:
        for trigger in self._triggers:
            if trigger.pattern in window:
                trigger.remaining -= 1
                if trigger.remaining <= 0:
                    self._triggers.remove(trigger)
                return True
        return False
