"""Pattern: undoing a virtual object's state when its saga fails.

A compensation runs inside its own journal entry, where the Restate context must not be used, so
it cannot `ctx.set` the object's state back. The saga handler can: it keeps the value it
replaced and, when a step fails for good (or the invocation is cancelled), writes it back before
the error goes on to the saga, which then undoes the steps as usual. That write is journaled like
any other, so it happens once, also after a replay or a crash.

(When nothing else needs to see the change before the steps are done, simply write the state
after them, as `examples/cart.py` does: then a failure leaves nothing to undo.)

    POST /Inventory/<product>/restock  5
    POST /Inventory/<product>/sell     {"customer": "ada", "quantity": 2}
    POST /Inventory/<product>/stock

`sell` takes the units out of the stock at once, so that readers of `stock` (a shared handler,
which runs while `sell` is still charging and shipping) do not see them as available; if the
payment is declined or the shipment fails, the stock is put back and a payment refunded.
"""

from __future__ import annotations

import restate
from pydantic import BaseModel
from restate import TerminalError

from examples import external
from restate_saga import SagaContext, create_saga_virtual_object, register_terminal_errors, step

register_terminal_errors([external.ServiceUnavailable])  # a refusal is final: compensate at once


class Sale(BaseModel):
    customer: str
    quantity: int
    decline_card: bool = False
    fail_shipping: bool = False


class Charge(BaseModel):
    reference: str
    amount: int
    decline: bool


class Shipping(BaseModel):
    reference: str
    fail: bool


class Sold(BaseModel):
    payment_id: str
    shipment_id: str
    left: int


async def charge(request: Charge) -> str:
    return await external.charge(request.reference, request.amount, decline=request.decline)


async def refund(payment_id: str) -> None:
    await external.refund(payment_id)


async def ship(request: Shipping) -> str:
    return await external.ship(request.reference, fail=request.fail)


charge_step = step("ChargeSale", charge, refund)
ship_step = step("ShipSale", ship)

inventory = create_saga_virtual_object("Inventory")
STOCK = "stock"
PRICE = 12


@inventory.handler()
async def restock(saga: SagaContext, ctx: restate.ObjectContext, quantity: int) -> int:
    """Add units to the stock; returns the new stock."""
    stock = (await ctx.get(STOCK, type_hint=int) or 0) + quantity
    ctx.set(STOCK, stock)
    return stock


@inventory.handler()
async def sell(saga: SagaContext, ctx: restate.ObjectContext, sale: Sale) -> Sold:
    """Take the units from the stock, charge, ship; put the units back if the sale fails."""
    stock = await ctx.get(STOCK, type_hint=int) or 0
    if stock < sale.quantity:
        raise TerminalError(f"only {stock} left", status_code=409)
    ctx.set(STOCK, stock - sale.quantity)  # taken at once: `stock` readers no longer see them
    reference = f"{sale.quantity} {ctx.key()} for {sale.customer}"
    try:
        payment_id = await charge_step(saga, Charge(reference=reference, amount=PRICE, decline=sale.decline_card))
        shipment_id = await ship_step(saga, Shipping(reference=reference, fail=sale.fail_shipping))
    except TerminalError:
        ctx.set(STOCK, stock)  # undo the state change: the handler may use ctx, a compensation may not
        raise  # the saga then undoes the steps (a failed shipment refunds the payment)
    return Sold(payment_id=payment_id, shipment_id=shipment_id, left=stock - sale.quantity)


@inventory.handler(kind="shared")
async def stock(ctx: restate.ObjectSharedContext) -> int:
    """The units in stock."""
    return await ctx.get(STOCK, type_hint=int) or 0
