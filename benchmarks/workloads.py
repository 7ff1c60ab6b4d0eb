"""The benchmark sagas, shared by the three implementations (standard library only).

Each step does trivial work (returns a small dict) so that what is measured is the cost of the
saga machinery: the Restate journal, the SDK round trips and the library's own overhead.
This module is also imported by the reference app, which runs in another virtualenv, so it must
not import anything outside the standard library.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "CHECKOUT_INPUT",
    "FAIL_MESSAGE",
    "FAIL_STATUS",
    "IMPLEMENTATIONS",
    "SAGA_INPUT",
    "WORKLOADS",
    "Implementation",
    "Payload",
    "Workload",
    "cancel_order",
    "cancel_shipment",
    "create_order",
    "create_shipment",
    "long_step",
    "process_payment",
    "refund_payment",
    "step_name",
    "undo_long_step",
]

Payload = dict[str, Any]

FAIL_MESSAGE = "declined by the last step"
FAIL_STATUS = 422


@dataclass(frozen=True, slots=True)
class Workload:
    """One saga shape: the checkout (3 named steps) or a long chain of `steps` steps."""

    key: str
    kind: str  # "checkout" or "chain"
    steps: int
    fail: bool

    @property
    def service_suffix(self) -> str:
        base = "Checkout" if self.kind == "checkout" else f"Saga{self.steps}"
        return base + ("Fail" if self.fail else "")

    @property
    def label(self) -> str:
        name = "checkout (3 steps)" if self.kind == "checkout" else f"{self.steps}-step saga"
        return name + (", last step fails" if self.fail else "")

    @property
    def expected_runs(self) -> int:
        """`Command: Run` entries: every step, plus a compensation for each earlier step on failure."""
        return self.steps + (self.steps - 1 if self.fail else 0)

    @property
    def payload(self) -> Payload:
        return CHECKOUT_INPUT if self.kind == "checkout" else SAGA_INPUT


@dataclass(frozen=True, slots=True)
class Implementation:
    """One of the three implementations; each is its own deployment with its own service names."""

    key: str
    label: str
    prefix: str

    def service(self, workload: Workload) -> str:
        return self.prefix + workload.service_suffix


WORKLOADS: tuple[Workload, ...] = (
    Workload("checkout", "checkout", 3, False),
    Workload("checkout_fail", "checkout", 3, True),
    Workload("saga20", "chain", 20, False),
    Workload("saga20_fail", "chain", 20, True),
    Workload("saga100", "chain", 100, False),
    Workload("saga100_fail", "chain", 100, True),
    Workload("saga1000", "chain", 1000, False),
    Workload("saga1000_fail", "chain", 1000, True),
)

IMPLEMENTATIONS: tuple[Implementation, ...] = (
    Implementation("handwritten", "hand-written (raw SDK)", "Raw"),
    Implementation("reference", "reference restate-saga 0.1.0", "Ref"),
    Implementation("restate_saga", "restate_saga (this repo)", "Lib"),
)

CHECKOUT_INPUT: Payload = {"customer_id": "cust-1", "total": 42}
SAGA_INPUT: Payload = {"order_id": "order-1"}

# --- the checkout's steps: pure and tiny ---------------------------------------------------------


def create_order(value: Payload) -> Payload:
    return {"order_id": f"order-{value['customer_id']}", "total": value["total"]}


def process_payment(order: Payload) -> Payload:
    return {"order_id": order["order_id"], "payment_id": f"pay-{order['total']}"}


def create_shipment(payment: Payload) -> Payload:
    return {"order_id": payment["order_id"], "payment_id": payment["payment_id"], "shipment_id": "ship-1"}


def cancel_order(order: Payload) -> None:
    del order


def refund_payment(payment: Payload) -> None:
    del payment


def cancel_shipment(shipment: Payload) -> None:
    del shipment


# --- the long chain's steps -----------------------------------------------------------------------


def step_name(index: int) -> str:
    """The journal name of step `index` (1-based) of a long chain."""
    return f"Step{index}"


def long_step(index: int, value: Payload) -> Payload:
    return {"order_id": value["order_id"], "step": index}


def undo_long_step(data: Payload) -> None:
    del data
