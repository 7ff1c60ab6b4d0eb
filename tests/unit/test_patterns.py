"""The README's patterns (examples/fulfilment.py, examples/inventory.py) on the in-process double."""

from __future__ import annotations

import pytest
from restate import TerminalError

from examples import external
from examples.fulfilment import Fulfilled, Order, fulfilment
from examples.inventory import Sale, Sold, sell
from restate_saga import SagaCompensatedError, run_saga
from restate_saga.testing import FakeContext, FakeContextFactory, check_compensations, keyed


async def test_fulfilment_carries_the_order_past_the_parallel_group(fake_context: FakeContextFactory) -> None:
    ctx = fake_context()
    done = await fulfilment.run(ctx.as_context(), Order("o-carry", "book", 12))
    assert isinstance(done, Fulfilled)
    assert done.order_id == "o-carry" and done.reservation_id.startswith("res-")
    assert done.payment_id.startswith("pay-") and done.shipment_id.startswith("shp-")
    assert [e.name for e in ctx.journal] == ["Reserve", "Charge", "Ship"]  # the join adds no entry


async def test_a_failed_shipment_undoes_both_branches() -> None:
    ctx = FakeContext()
    with pytest.raises(SagaCompensatedError, match="step 'Ship' failed"):
        await fulfilment.run(ctx.as_context(), Order("o-noship", "book", 12, fail_shipping=True))
    assert [e.name for e in ctx.journal] == ["Reserve", "Charge", "Ship", "compensate:Charge", "compensate:Reserve"]
    report = await check_compensations(fulfilment, Order("o-each", "pen", 3), cancellation=True)
    report.raise_for_problems()


def sale(**faults: bool) -> Sale:
    return Sale(customer="ada", quantity=2, **faults)


async def test_a_sale_takes_the_stock_and_a_failed_one_puts_it_back() -> None:
    ctx = FakeContext(state={"stock": 5}, object_key="mug")
    sold = await run_saga(ctx.as_context(), keyed(sell), sale())
    assert isinstance(sold, Sold) and sold.left == 3 and ctx.state == {"stock": 3}

    for faults, undone in [({"decline_card": True}, []), ({"fail_shipping": True}, ["compensate:ChargeSale"])]:
        ctx = FakeContext(state={"stock": 5}, object_key="mug")
        with pytest.raises(SagaCompensatedError):
            await run_saga(ctx.as_context(), keyed(sell), sale(**faults))
        assert ctx.state == {"stock": 5}, faults
        assert [e.name for e in ctx.journal if e.name.startswith("compensate:")] == undone


@pytest.mark.parametrize("fault", ["fail_at", "cancel_at"])
@pytest.mark.parametrize("index", [0, 1])
async def test_every_failure_point_of_a_sale_restores_the_stock(fault: str, index: int) -> None:
    ctx = FakeContext(state={"stock": 5}, object_key="mug", **{fault: index})
    with pytest.raises(TerminalError):
        await run_saga(ctx.as_context(), keyed(sell), sale())
    assert ctx.state == {"stock": 5}
    report = await check_compensations(
        keyed(sell), sale(), cancellation=True, context=lambda: FakeContext(state={"stock": 5}, object_key="mug")
    )
    report.raise_for_problems()


async def test_too_little_stock_changes_nothing() -> None:
    ctx = FakeContext(state={"stock": 1}, object_key="mug")
    before = len(external.events())
    with pytest.raises(TerminalError, match="only 1 left"):
        await run_saga(ctx.as_context(), keyed(sell), sale())
    assert ctx.state == {"stock": 1} and ctx.journal == [] and len(external.events()) == before
