"""`FaultProxy` and `random_faults` on plain TCP (an echo server), without restate-server."""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from restate_saga.testing import Fault, FaultProxy, random_faults


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while data := self.request.recv(65536):
            self.server.received.append(data)  # type: ignore[attr-defined]
            self.request.sendall(data)


class EchoServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Echo)
        self.received: list[bytes] = []


@pytest.fixture
def proxy() -> Iterator[FaultProxy]:
    echo = EchoServer()
    thread = threading.Thread(target=echo.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        with FaultProxy(echo.server_address[1]) as started:
            started.echo = echo  # type: ignore[attr-defined]
            yield started
    finally:
        echo.shutdown()
        echo.server_close()


def _connect(proxy: FaultProxy) -> socket.socket:
    return socket.create_connection(("127.0.0.1", proxy.port), timeout=10)


def _wait(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.005)


def _broken(sock: socket.socket) -> bool:
    """True once the connection is closed or reset by the other side."""
    try:
        return sock.recv(1) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True


def _refused(proxy: FaultProxy) -> bool:
    """A new connection through the proxy is reset (during or right after the handshake)."""
    try:
        sock = _connect(proxy)
    except ConnectionResetError:
        return True
    with sock:
        return _broken(sock)


def test_it_forwards_both_ways(proxy: FaultProxy) -> None:
    with _connect(proxy) as sock:
        sock.sendall(b"hello")
        assert sock.recv(5) == b"hello"
    assert proxy.stats.connections == 1 and proxy.stats.bytes_forwarded >= 10
    assert proxy.url == f"http://127.0.0.1:{proxy.port}"


def test_cut_resets_every_open_connection(proxy: FaultProxy) -> None:
    first, second = _connect(proxy), _connect(proxy)
    for sock in (first, second):
        sock.sendall(b"x")
        assert sock.recv(1) == b"x"
    assert proxy.cut() == 2
    assert _broken(first) and _broken(second)
    assert proxy.stats.cut == 2 and proxy.stats.open == 0
    with _connect(proxy) as again:  # new connections work
        again.sendall(b"y")
        assert again.recv(1) == b"y"


def test_refuse_resets_new_connections_until_turned_off(proxy: FaultProxy) -> None:
    with _connect(proxy) as open_before:
        open_before.sendall(b"a")
        assert open_before.recv(1) == b"a"  # accepted and forwarded before refusing starts
        proxy.refuse()
        assert _refused(proxy)
        open_before.sendall(b"z")
        assert open_before.recv(1) == b"z"  # open connections keep working
    proxy.refuse(False)
    with _connect(proxy) as accepted:
        accepted.sendall(b"w")
        assert accepted.recv(1) == b"w"
    assert proxy.stats.refused == 1


def test_stall_holds_every_byte_until_resumed(proxy: FaultProxy) -> None:
    echo: EchoServer = proxy.echo  # type: ignore[attr-defined]
    with _connect(proxy) as sock:
        proxy.stall()
        sock.sendall(b"held")
        _wait(lambda: proxy.stats.held_chunks >= 1, "the chunk to be held")
        assert echo.received == []  # read by the proxy, not forwarded
        proxy.resume()
        assert sock.recv(4) == b"held"
    assert proxy.stats.stalls == 1


def test_delay_adds_latency_to_every_chunk(proxy: FaultProxy) -> None:
    proxy.delay(0.01)
    with _connect(proxy) as sock:
        sock.sendall(b"late")
        assert sock.recv(4) == b"late"
    proxy.delay(0)
    assert proxy.stats.delayed_chunks >= 2  # there and back
    with pytest.raises(ValueError):
        proxy.delay(-1)


def test_cut_when_cuts_the_connection_that_carries_a_pattern(proxy: FaultProxy) -> None:
    echo: EchoServer = proxy.echo  # type: ignore[attr-defined]
    proxy.cut_when(b"compensate:Pay")
    with _connect(proxy) as sock:
        sock.sendall(b"step Pay, then compens")
        assert sock.recv(64) == b"step Pay, then compens"
        sock.sendall(b"ate:Pay now")  # the pattern completes across two chunks
        assert _broken(sock)
    assert b"".join(echo.received) == b"step Pay, then compens"  # the completing chunk never arrived
    assert proxy.stats.triggered == 1
    with _connect(proxy) as sock:  # once only
        sock.sendall(b"compensate:Pay")
        assert sock.recv(64) == b"compensate:Pay"
    with pytest.raises(ValueError):
        proxy.cut_when(b"")


def test_a_schedule_applies_its_faults_in_order(proxy: FaultProxy) -> None:
    sock = _connect(proxy)
    proxy.run_schedule([Fault(0.2, "cut"), Fault(0.0, "refuse", 0.1)])
    applied = proxy.wait_schedule()
    assert [fault for _, fault in applied] == [Fault(0.0, "refuse", 0.1), Fault(0.2, "cut")]
    assert applied[1][0] >= 0.2
    assert _broken(sock)
    sock.close()


def test_random_faults_are_reproducible_from_their_seed() -> None:
    first = random_faults(42, 30.0, mean_interval=0.5)
    assert first == random_faults(42, 30.0, mean_interval=0.5)
    assert first != random_faults(43, 30.0, mean_interval=0.5)
    assert {f.kind for f in first} == {"cut", "stall", "delay", "refuse"}
    assert all(0 < f.at < 30.0 for f in first) and [f.at for f in first] == sorted(f.at for f in first)
    assert all(f.duration == 0 for f in first if f.kind == "cut")
    only_cuts = random_faults(1, 10.0, kinds=("cut",))
    assert only_cuts and {f.kind for f in only_cuts} == {"cut"}
    with pytest.raises(ValueError):
        random_faults(1, 10.0, kinds=())
    with pytest.raises(ValueError):
        Fault(1.0, "explode")  # type: ignore[arg-type]
    assert str(Fault(1.5, "delay", 0.25, 0.02)) == "1.50s delay 0.25s +20ms"
