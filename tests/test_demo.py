"""`python -m examples.demo` (what `scripts/demo` runs): it exits 0, shows what each saga did, and
leaves no restate-server or hypercorn process behind."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def processes_mentioning(marker: str) -> list[int]:
    """Ids of the live processes whose command line or environment contains `marker`."""
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            data = (entry / "cmdline").read_bytes() + b"\0" + (entry / "environ").read_bytes()
        except OSError:  # gone meanwhile, or not ours
            continue
        if marker.encode() in data:
            found.append(int(entry.name))
    return found


def accepts_connections(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def blocks(output: str) -> dict[str, str]:
    """The demo's output split into its `=== title` blocks."""
    parts = re.split(r"^=== (.+)$", output, flags=re.MULTILINE)
    return {title: body for title, body in zip(parts[1::2], parts[2::2], strict=True)}


def line(block: str, label: str) -> str:
    """The value printed after `label:` in a block."""
    found = re.search(rf"^\s+{label}:\s+(.*)$", block, flags=re.MULTILINE)
    assert found is not None, f"no {label!r} line in:\n{block}"
    return found.group(1).strip()


def side_effects(block: str) -> list[str]:
    """The side-effect lines of a block, as "service what"."""
    lines = block.split("side effects:", 1)[1].splitlines()
    effects: list[str] = []
    for text in lines:
        if not text.startswith(" " * 20) and effects:
            break
        effects.append(" ".join(text.split()))
    return effects


def test_process_finder_sees_a_live_process() -> None:
    # The leftover check below relies on this finder; make sure it can see a process at all.
    marker = f"DEMO_TEST_MARKER={uuid.uuid4().hex}"
    name, value = marker.split("=")
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"],
        env={**os.environ, name: value},
        stdin=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30  # the child's /proc entry can lag its start on a busy machine
        while processes_mentioning(marker) != [child.pid] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert processes_mentioning(marker) == [child.pid]
    finally:
        child.communicate(b"")
    assert processes_mentioning(marker) == []


def run_demo() -> tuple[int, str, str]:
    """Run the demo; its output goes to files, so a process it left behind cannot block the reading."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        code = subprocess.run(
            [sys.executable, "-m", "examples.demo"],
            cwd=ROOT,
            stdout=out,
            stderr=err,
            timeout=180,  # a guard against a hang, not a measure of speed
        ).returncode
        out.seek(0)
        err.seek(0)
        return code, out.read(), err.read()


def stop_leftovers(pids: list[int]) -> list[int]:
    """Kill processes the demo should have stopped (so a failing run leaves nothing either)."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return pids


def test_demo_runs_every_example_and_stops_what_it_started() -> None:
    code, output, errors = run_demo()
    assert code == 0, f"{output}\n{errors}"
    assert "UNEXPECTED" not in output
    assert "Traceback" not in output + errors

    # Nothing it started is still running: not the server, not the app, and their ports are closed.
    ports = re.search(
        r"restate ingress: http://127\.0\.0\.1:(\d+)\s+admin API and UI: http://127\.0\.0\.1:(\d+)", output
    )
    app = re.search(r"example app:\s+http://127\.0\.0\.1:(\d+)/restate/v1 \(pid (\d+)\)", output)
    assert ports is not None and app is not None, output
    ingress, admin, app_port, app_pid = (int(n) for n in (*ports.groups(), *app.groups()))
    assert stop_leftovers(processes_mentioning(f"RESTATE_INGRESS__BIND_ADDRESS=127.0.0.1:{ingress}")) == []
    assert stop_leftovers(processes_mentioning(f"127.0.0.1:{app_port}")) == []
    # The app's pid is gone (or, if the system reused it already, it is no hypercorn).
    assert app_pid not in processes_mentioning("hypercorn")
    assert not any(accepts_connections(port) for port in (ingress, admin, app_port))
    assert output.rstrip().endswith("demo: stopped restate-server and the example app.")

    found = blocks(output)

    ok = found["Checkout that succeeds"]
    assert "-> 200 OK:" in ok
    assert line(ok, "steps") == "CreateOrder, ProcessPayment, CreateShipment"
    assert line(ok, "compensations") == "-"
    assert re.fullmatch(r"\d+ entries", line(ok, "journal"))

    failed = found["Checkout whose shipment fails: payment refunded, then order cancelled"]
    assert "-> 500 FAILED, rolled back: step 'CreateShipment' failed" in failed
    assert line(failed, "compensations") == "ProcessPayment, CreateOrder"
    effects = side_effects(failed)
    assert [e.split()[:2] for e in effects] == [
        ["orders", "created"],
        ["payments", "charged"],
        ["payments", "refunded"],
        ["orders", "cancelled"],
    ]

    lost = found["Checkout whose payment answer is lost once: Restate retries, the card is charged once"]
    assert "-> 200 OK:" in lost
    charges = [e for e in side_effects(lost) if e.startswith("payments charged")]
    assert len(charges) == 2 and "repeated request" in charges[1] and "repeated" not in charges[0]

    approved = found["Purchase approved: budget held, approval received, purchase order placed"]
    assert "/run/send" in approved and "/approve" in approved and "/attach" in approved
    assert "-> 200 OK:" in approved and '"approved_by": "grace"' in approved
    assert line(approved, "steps") == "HoldBudget, PlacePurchaseOrder"
    assert line(approved, "compensations") == "-"

    rejected = found["Purchase rejected: the run raises a TerminalError and the budget is released"]
    assert "-> 403 FAILED, rolled back: rejected by grace" in rejected
    assert line(rejected, "compensations") == "HoldBudget"
    assert [e.split()[:2] for e in side_effects(rejected)] == [["finance", "held"], ["finance", "released"]]

    over = found["Add 2 more books: over the limit of 3, the reservation is released"]
    assert line(over, "compensations") == "ReserveStock"
    cart = found["Checkout whose shipping fails: the payment is refunded, the cart keeps its items"]
    assert line(cart, "compensations") == "ChargeCart"
    assert '"lines": []' in found["Checkout that succeeds: the cart is emptied"]

    order = found["Order whose shipment fails: the embedded payment is undone too, then the order"]
    assert line(order, "compensations") == "CapturePayment, AuthorizePayment, CreateOrder"

    listed = found["restate-saga ls: the sagas this demo ran, as an operator sees them"]
    rows = [text.split() for text in listed.splitlines() if text.strip().startswith("inv_")]
    saga_runs = [title for title in found if not title.startswith("restate-saga ls")]
    assert len(rows) == len(saga_runs)  # one row per saga the demo ran
    by_target = [(row[1], row[2]) for row in rows]
    assert ("TravelBooking/run", "compensated") in by_target and ("TravelBooking/run", "succeeded") in by_target
    assert ("PurchaseApproval/po-yacht/run", "compensated") in by_target
    assert all(status in ("succeeded", "compensated") for _, status in by_target)
