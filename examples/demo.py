"""The demo: a real restate-server, the example app under hypercorn, and sagas that succeed and fail.

Run it with `scripts/demo` (which installs what is needed first). It prints, for each saga
invocation, its answer and its journal: every step and every compensation is one entry.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from restate_saga.testing import AppProcess, RestateServer, RestateTestBed, register_deployment

ROOT = Path(__file__).resolve().parents[1]


def show(bed: RestateTestBed, title: str, service: str, payload: dict[str, Any]) -> bool:
    """Call one saga and print what happened; True when the outcome is the expected one."""
    print(f"\n=== {title}")
    print(f"    POST /{service}/run {payload}")
    result = bed.call(service, "run", payload)
    if result.ok:
        print(f"    -> {result.status_code} OK: {result.json()}")
    else:
        print(f"    -> {result.status_code} FAILED (compensated): {result.message}")
    if result.invocation_id is None:
        return False
    print(f"    journal of {result.invocation_id}:")
    for entry in bed.journal(result.invocation_id):
        if entry.entry_type == "Command: Run":
            name = entry.name or ""
            kind = "compensation" if name.startswith("compensate:") else "step"
            print(f"      #{entry.index:<3} {kind:<12} {name}")
    steps = bed.run_entries(result.invocation_id)
    undone = [name for name in steps if name.startswith("compensate:")]
    if undone:
        print(f"    compensations, in order: {', '.join(n.removeprefix('compensate:') for n in undone)}")
    return True


def main() -> int:
    """Start everything, run the sagas, stop everything; exit 0 when every saga behaved."""
    server = RestateServer()
    app = AppProcess("examples.app:app", cwd=ROOT)
    print("restate_saga demo: starting restate-server and the example app (hypercorn)...")
    try:
        server.start()
        app.start()
        register_deployment(server.admin_url, f"{app.url}/restate/v1")
        print(f"  restate ingress: {server.ingress_url}   admin API and UI: {server.admin_url}")
        print(f"  example app:     {app.url}/restate/v1 (pid {app.pid})")
        bed = RestateTestBed.attached(server)
        ok = all(
            [
                show(bed, "Checkout that succeeds", "CheckoutWorkflow", {"customer_id": "ada", "total": 42}),
                show(
                    bed,
                    "Checkout whose shipment fails: payment refunded, then order cancelled",
                    "CheckoutWorkflow",
                    {"customer_id": "bob", "total": 17, "fail_shipping": True},
                ),
                show(
                    bed,
                    "Checkout whose card is declined: only the order is cancelled",
                    "CheckoutWorkflow",
                    {"customer_id": "eve", "total": 99, "decline_card": True},
                ),
                show(bed, "Travel booking that succeeds", "TravelBooking", {"trip_id": "trip-1"}),
                show(
                    bed,
                    "Travel booking whose car fails: hotel, then flight cancelled",
                    "TravelBooking",
                    {"trip_id": "trip-2", "fail_car": True},
                ),
            ]
        )
        bed.close()
        print("\nWhere to look next: the Restate UI and admin API at", server.admin_url)
        print("  (or `restate invocations list` with the restate CLI pointed at that admin address).")
        return 0 if ok else 1
    finally:
        app.stop()
        server.stop()
        print("demo: stopped restate-server and the example app.")


if __name__ == "__main__":
    sys.exit(main())
