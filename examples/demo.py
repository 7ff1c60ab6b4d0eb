"""The demo: a real restate-server, the example app under hypercorn, and sagas that succeed and fail.

Run it with `scripts/demo` (which installs what is needed first) or `python -m examples.demo`.
For each saga invocation it prints the answer, the steps and compensations recorded in the
invocation's journal (each one is a journal entry), the journal's size, and the side effects the
simulated services applied (from the app's GET /ledger). It checks every outcome against what the
example promises and exits 1 if one differs. It stops the server and the app before exiting.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import httpx

from restate_saga.testing import AppProcess, CallResult, RestateServer, RestateTestBed, register_deployment

ROOT = Path(__file__).resolve().parents[1]
COMPENSATE = "compensate:"  # the journal name of a compensation is this prefix plus the step's name


def compact(value: object) -> str:
    """JSON on one line."""
    return json.dumps(value)


@dataclass
class Demo:
    """Calls the example services and prints what each invocation did."""

    bed: RestateTestBed
    app_url: str
    problems: list[str] = field(default_factory=list[str])

    def section(self, module: str, what: str) -> None:
        print(f"\n##### examples/{module}: {what}")

    def call(
        self,
        title: str,
        service: str,
        handler: str,
        payload: dict[str, Any],
        *,
        key: str | None = None,
        ok: bool = True,
        undo: Sequence[str] = (),
    ) -> None:
        """Call one saga handler, print what happened, and check it against the expectation."""
        print(f"\n=== {title}")
        target = f"{service}/{key}/{handler}" if key is not None else f"{service}/{handler}"
        print(f"    POST /{target} {compact(payload)}")
        self.report(title, self.bed.call(service, handler, payload, key=key), ok, undo)

    def approval(
        self, title: str, key: str, request: dict[str, Any], decision: dict[str, Any], *, ok: bool, undo: Sequence[str]
    ) -> None:
        """Start the approval workflow without waiting, send the decision, then wait for the result."""
        print(f"\n=== {title}")
        print(f"    POST /PurchaseApproval/{key}/run/send {compact(request)}")
        invocation_id = self.bed.send("PurchaseApproval", "run", request, key=key)
        print(f"         started {invocation_id}: it holds the budget, then waits for the approval")
        print(f"    POST /PurchaseApproval/{key}/approve {compact(decision)}")
        signal = self.bed.call("PurchaseApproval", "approve", decision, key=key)
        if not signal.ok:
            self.problems.append(f"{title}: the approve signal answered {signal.status_code} {signal.message}")
        print(f"    GET  /restate/invocation/{invocation_id}/attach")
        self.report(title, self.bed.attach(invocation_id), ok, undo)
        self.query("PurchaseApproval", "status", key)

    def query(self, service: str, handler: str, key: str) -> None:
        """Call a shared (read-only, non-saga) handler and print its answer on one line."""
        result = self.bed.call(service, handler, key=key)
        print(f"    POST /{service}/{key}/{handler} -> {result.status_code} {compact(result.json())}")

    def report(self, title: str, result: CallResult, ok: bool, undo: Sequence[str]) -> None:
        """Print the answer, the journal's steps and compensations, and the side effects; check them."""
        if result.ok:
            print(f"    -> {result.status_code} OK: {compact(result.json())}")
        else:
            print(f"    -> {result.status_code} FAILED, rolled back: {result.message}")
        if result.invocation_id is None:
            self.problems.append(f"{title}: no invocation id in the answer")
            return
        journal = self.bed.journal(result.invocation_id)
        runs = [entry.name or "" for entry in journal if entry.entry_type == "Command: Run"]
        steps = [name for name in runs if not name.startswith(COMPENSATE)]
        undone = [name.removeprefix(COMPENSATE) for name in runs if name.startswith(COMPENSATE)]
        print(f"    steps:          {', '.join(steps) or '-'}")
        print(f"    compensations:  {', '.join(undone) or '-'}")
        print(f"    journal:        {len(journal)} entries")
        for number, event in enumerate(self.ledger(result.invocation_id)):
            label = "side effects:" if number == 0 else ""
            line = f"{event['service']:<10}{event['what']}"
            if event["repeated"]:
                line += "  <- a repeated request (same idempotency key): answered again, not applied"
            print(f"    {label:<16}{line}")
        if result.ok != ok or undone != list(undo):
            expected = "success" if ok else "failure"
            self.problems.append(f"{title}: expected {expected} with compensations {list(undo)}")

    def ledger(self, invocation_id: str) -> list[dict[str, Any]]:
        """What the simulated services did on behalf of one invocation."""
        answer = httpx.get(f"{self.app_url}/ledger", params={"invocation": invocation_id}, timeout=10)
        answer.raise_for_status()
        return cast(list[dict[str, Any]], answer.json())


def run_examples(demo: Demo) -> None:
    """Every example, each path that matters; compensations are listed newest first."""
    demo.section("checkout.py", "order, payment, shipment as decorated steps (the seed's quick start)")
    demo.call("Checkout that succeeds", "CheckoutWorkflow", "run", {"customer_id": "ada", "total": 42})
    demo.call(
        "Checkout whose shipment fails: payment refunded, then order cancelled",
        "CheckoutWorkflow",
        "run",
        {"customer_id": "bob", "total": 17, "fail_shipping": True},
        ok=False,
        undo=["ProcessPayment", "CreateOrder"],
    )
    demo.call(
        "Checkout whose card is declined: only the order is cancelled",
        "CheckoutWorkflow",
        "run",
        {"customer_id": "eve", "total": 99, "decline_card": True},
        ok=False,
        undo=["CreateOrder"],
    )
    demo.call(
        "Checkout whose payment answer is lost once: Restate retries, the card is charged once",
        "CheckoutWorkflow",
        "run",
        {"customer_id": "dan", "total": 5, "lose_payment_answer": True},
    )

    demo.section("travel.py", "flight, hotel, car as a typed step(...).then(...) pipeline")
    demo.call("Travel booking that succeeds", "TravelBooking", "run", {"trip_id": "trip-1"})
    demo.call(
        "Travel booking whose car fails: hotel, then flight cancelled",
        "TravelBooking",
        "run",
        {"trip_id": "trip-2", "fail_car": True},
        ok=False,
        undo=["BookHotel", "BookFlight"],
    )

    demo.section("approval.py", "a long-running workflow that waits for a durable promise")
    purchase = {"department": "it", "supplier": "acme", "item": "laptop", "amount": 900}
    demo.approval(
        "Purchase approved: budget held, approval received, purchase order placed",
        "po-laptop",
        purchase,
        {"approved": True, "reviewer": "grace"},
        ok=True,
        undo=[],
    )
    demo.approval(
        "Purchase rejected: the run raises a TerminalError and the budget is released",
        "po-yacht",
        {**purchase, "item": "yacht", "amount": 90000},
        {"approved": False, "reviewer": "grace", "reason": "not in this budget"},
        ok=False,
        undo=["HoldBudget"],
    )

    demo.section("cart.py", "a virtual object (one cart per key) with saga handlers")
    demo.call(
        "Add 2 books: stock reserved, limit checked",
        "ShoppingCart",
        "add_item",
        {"item": "book", "quantity": 2},
        key="ada",
    )
    demo.call("Add 1 pen", "ShoppingCart", "add_item", {"item": "pen", "quantity": 1}, key="ada")
    demo.call(
        "Add 2 more books: over the limit of 3, the reservation is released",
        "ShoppingCart",
        "add_item",
        {"item": "book", "quantity": 2},
        key="ada",
        ok=False,
        undo=["ReserveStock"],
    )
    demo.call(
        "Checkout whose shipping fails: the payment is refunded, the cart keeps its items",
        "ShoppingCart",
        "checkout",
        {"fail_shipping": True},
        key="ada",
        ok=False,
        undo=["ChargeCart"],
    )
    demo.query("ShoppingCart", "get_items", "ada")
    demo.call("Checkout that succeeds: the cart is emptied", "ShoppingCart", "checkout", {}, key="ada")
    demo.query("ShoppingCart", "get_items", "ada")

    demo.section("orders.py", "a payment saga embedded into an order saga with run_as_step")
    demo.call("Order that succeeds", "OrderWorkflow", "run", {"customer_id": "ada", "total": 30})
    demo.call(
        "Order whose shipment fails: the embedded payment is undone too, then the order",
        "OrderWorkflow",
        "run",
        {"customer_id": "bob", "total": 30, "fail_shipping": True},
        ok=False,
        undo=["CapturePayment", "AuthorizePayment", "CreateOrder"],
    )


def show_saga_list(admin_url: str, demo: Demo) -> None:
    """End with what an operator sees: `restate-saga ls` of the sagas this demo ran."""
    print("\n=== restate-saga ls: the sagas this demo ran, as an operator sees them")
    print(f"    $ restate-saga ls --admin {admin_url}")
    listed = subprocess.run(
        [sys.executable, "-m", "restate_saga", "ls", "--admin", admin_url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    print(textwrap.indent(listed.stdout.rstrip("\n"), "    "))
    if listed.returncode != 0:
        demo.problems.append(f"restate-saga ls failed ({listed.returncode}): {listed.stderr.strip()}")
    print("    (restate-saga show ID draws one saga's timeline; see docs/guides/operating.md)")


def main() -> int:
    """Start everything, run the examples, stop everything; exit 0 when every saga behaved."""
    server = RestateServer()
    app = AppProcess("examples.app:app", cwd=ROOT, env={"EXAMPLES_QUIET": "1"})
    print("restate_saga demo: starting restate-server and the example app (hypercorn)...")
    try:
        server.start()
        app.start()
        register_deployment(server.admin_url, f"{app.url}/restate/v1")
        print(f"  restate ingress: {server.ingress_url}   admin API and UI: {server.admin_url}")
        print(f"  example app:     {app.url}/restate/v1 (pid {app.pid}), side effects at {app.url}/ledger")
        print("\nFor each invocation: its answer; the steps and then the compensations, in the order")
        print("they ran, as recorded in its journal (one entry each); the journal's size; and the side")
        print("effects the simulated services applied on its behalf (from GET /ledger).")
        bed = RestateTestBed.attached(server)
        demo = Demo(bed, app.url)
        try:
            run_examples(demo)
        finally:
            bed.close()
        show_saga_list(server.admin_url, demo)
        print("\nTo explore further, serve the app by hand (README: 'Running the example app by hand')")
        print("and watch the invocations in the Restate UI; this demo's server stops now.")
        for problem in demo.problems:
            print(f"UNEXPECTED: {problem}")
        return 1 if demo.problems else 0
    finally:
        app.stop()
        server.stop()
        print("demo: stopped restate-server and the example app.")


if __name__ == "__main__":
    sys.exit(main())
