"""The README's patterns on a real restate-server, through restate_saga's own pytest plugin.

`restate_bed` serves the services named by the module's `restate_app` marker on the session's
server; `restate_always_replay` runs a test on the server that replays the handler at every await.
"""

from __future__ import annotations

import uuid

import pytest

from examples import external
from examples.fulfilment import Fulfilment
from examples.inventory import inventory
from restate_saga.testing import RestateTestBed

pytestmark = pytest.mark.restate_app([Fulfilment, inventory])


def effects(invocation_id: str | None) -> list[str]:
    assert invocation_id is not None
    mine = [e for e in external.applied() if e.idempotency_key.startswith(invocation_id)]
    return [f"{e.service}: {e.what.split(' ')[0]}" for e in mine]


def check_fulfilment(restate_bed: RestateTestBed) -> None:
    order = {"order_id": f"o-{uuid.uuid4().hex[:6]}", "item": "book", "amount": 12}
    done = restate_bed.call("Fulfilment", "run", order)
    assert done.ok, done.message
    answer = done.json()
    assert answer["order_id"] == order["order_id"]
    assert {key: answer[key].split("-")[0] for key in ("reservation_id", "payment_id", "shipment_id")} == {
        "reservation_id": "res",
        "payment_id": "pay",
        "shipment_id": "shp",
    }
    assert done.invocation_id is not None
    assert restate_bed.run_entries(done.invocation_id) == ["Reserve", "Charge", "Ship"]

    failed = restate_bed.call("Fulfilment", "run", {**order, "fail_shipping": True})
    assert failed.status_code == 500 and "step 'Ship' failed" in failed.message
    assert failed.invocation_id is not None
    assert restate_bed.run_entries(failed.invocation_id) == [
        "Reserve",
        "Charge",
        "Ship",
        "compensate:Charge",
        "compensate:Reserve",
    ]
    assert sorted(effects(failed.invocation_id)) == sorted(
        ["inventory: reserved", "payments: charged", "payments: refunded", "inventory: released"]
    )


def test_fulfilment_carries_outputs_and_undoes_both_branches(restate_bed: RestateTestBed) -> None:
    check_fulfilment(restate_bed)


@pytest.mark.restate_always_replay
def test_fulfilment_under_replays_at_every_await(restate_bed: RestateTestBed) -> None:
    check_fulfilment(restate_bed)


def sell_and_read(bed: RestateTestBed, product: str, **sale: object) -> tuple[int, int, str | None]:
    answer = bed.call("Inventory", "sell", {"customer": "ada", "quantity": 2, **sale}, key=product)
    left = bed.call("Inventory", "stock", key=product).json()
    return answer.status_code, left, answer.invocation_id


def check_inventory(bed: RestateTestBed) -> None:
    product = f"mug-{uuid.uuid4().hex[:6]}"
    assert bed.call("Inventory", "restock", 5, key=product).json() == 5
    assert sell_and_read(bed, product)[:2] == (200, 3)
    status, left, declined = sell_and_read(bed, product, decline_card=True)
    assert (status, left) == (500, 3)  # the stock is put back; nothing was charged
    assert declined is not None and bed.run_entries(declined) == ["ChargeSale"]
    status, left, unshipped = sell_and_read(bed, product, fail_shipping=True)
    assert (status, left) == (500, 3)  # put back, and the payment refunded
    assert unshipped is not None and bed.run_entries(unshipped) == ["ChargeSale", "ShipSale", "compensate:ChargeSale"]
    assert effects(unshipped) == ["payments: charged", "payments: refunded"]
    state_writes = [e for e in bed.journal(unshipped) if e.entry_type == "Command: SetState"]
    assert len(state_writes) == 2  # taken, then put back: once each
    too_many = bed.call("Inventory", "sell", {"customer": "bob", "quantity": 9}, key=product)
    assert too_many.status_code == 409 and "only 3 left" in too_many.message


def test_a_failed_sale_puts_the_stock_back(restate_bed: RestateTestBed) -> None:
    check_inventory(restate_bed)


@pytest.mark.restate_always_replay
def test_a_failed_sale_puts_the_stock_back_once_under_replays(restate_bed: RestateTestBed) -> None:
    check_inventory(restate_bed)
