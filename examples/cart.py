"""A shopping cart as a Restate virtual object: keyed state, with sagas in its exclusive handlers.

A virtual object has one instance per key (here, one cart per customer) with its own durable
state. Exclusive handlers of one key run one at a time, so two `add_item` calls on the same cart
never interleave; shared handlers such as `get_items` only read and may run at any time.

    POST /ShoppingCart/<customer>/add_item   {"item": "book", "quantity": 2}
    POST /ShoppingCart/<customer>/checkout   {}
    POST /ShoppingCart/<customer>/get_items

`add_item` reserves the units in the warehouse, then asks the purchase-limit service (at most 3 of
an item per cart). A refusal releases the reservation again. `checkout` charges the cart's total
and books a courier; if shipping fails the payment is refunded and the cart keeps its items.
"""

from __future__ import annotations

import restate
from pydantic import BaseModel
from restate import TerminalError

from examples import external
from restate_saga import SagaContext, create_saga_virtual_object, register_terminal_errors, step

register_terminal_errors([external.ServiceUnavailable])  # a refusal is final: compensate at once


class AddItem(BaseModel):
    item: str
    quantity: int = 1


class CartLine(BaseModel):
    item: str
    quantity: int
    reservation_id: str


class Cart(BaseModel):
    """The object's state (stored under the key "cart")."""

    lines: list[CartLine] = []

    def quantity_of(self, item: str) -> int:
        return sum(line.quantity for line in self.lines if line.item == item)

    def total(self) -> int:
        return sum(external.PRICES[line.item] * line.quantity for line in self.lines)


class LimitCheck(BaseModel):
    item: str
    quantity: int


class CheckoutRequest(BaseModel):
    decline_card: bool = False
    fail_shipping: bool = False


class Charge(BaseModel):
    reference: str
    amount: int
    decline: bool


class Payment(BaseModel):
    payment_id: str


class Shipping(BaseModel):
    reference: str
    fail: bool


class Receipt(BaseModel):
    total: int
    payment_id: str
    shipment_id: str


# -- the steps -------------------------------------------------------------------------------


async def reserve_stock(request: AddItem) -> CartLine:
    reservation_id = await external.reserve(request.item, request.quantity)
    return CartLine(item=request.item, quantity=request.quantity, reservation_id=reservation_id)


async def release_stock(line: CartLine) -> None:
    await external.release(line.reservation_id)


async def check_purchase_limit(check: LimitCheck) -> None:
    await external.check_purchase_limit(check.item, check.quantity)


async def charge_cart(charge: Charge) -> Payment:
    return Payment(payment_id=await external.charge(charge.reference, charge.amount, decline=charge.decline))


async def refund_cart(payment: Payment) -> None:
    await external.refund(payment.payment_id)


async def ship_cart(shipping: Shipping) -> str:
    return await external.ship(shipping.reference, fail=shipping.fail)


reserve_stock_step = step("ReserveStock", reserve_stock, release_stock)
check_limit_step = step("CheckPurchaseLimit", check_purchase_limit)  # only reads: nothing to undo
charge_step = step("ChargeCart", charge_cart, refund_cart)
ship_step = step("ShipCart", ship_cart)

# -- the object ------------------------------------------------------------------------------

shopping_cart = create_saga_virtual_object("ShoppingCart")
CART = "cart"


@shopping_cart.handler()
async def add_item(saga: SagaContext, ctx: restate.ObjectContext, request: AddItem) -> Cart:
    """Reserve the units, check the purchase limit, then put them in the cart."""
    cart = await ctx.get(CART, type_hint=Cart) or Cart()
    line = await reserve_stock_step(saga, request)
    # If the limit service refuses, the saga releases the reservation made just before.
    await check_limit_step(saga, LimitCheck(item=request.item, quantity=cart.quantity_of(request.item) + line.quantity))
    cart = Cart(lines=[*cart.lines, line])
    # State is written only once every step succeeded, so a refused item never shows in the cart.
    ctx.set(CART, cart)
    return cart


@shopping_cart.handler()
async def checkout(saga: SagaContext, ctx: restate.ObjectContext, request: CheckoutRequest) -> Receipt:
    """Charge the cart's total and ship it; a shipping failure refunds the payment."""
    cart = await ctx.get(CART, type_hint=Cart) or Cart()
    if not cart.lines:
        raise TerminalError("the cart is empty", status_code=400)
    reference = f"cart {ctx.key()}"
    payment = await charge_step(saga, Charge(reference=reference, amount=cart.total(), decline=request.decline_card))
    shipment_id = await ship_step(saga, Shipping(reference=reference, fail=request.fail_shipping))
    ctx.clear(CART)  # the items are on their way: empty the cart
    return Receipt(total=cart.total(), payment_id=payment.payment_id, shipment_id=shipment_id)


@shopping_cart.handler(kind="shared")
async def get_items(ctx: restate.ObjectSharedContext) -> Cart:
    """What is in the cart (a shared handler: no saga, read-only, never waits for the exclusive ones)."""
    return await ctx.get(CART, type_hint=Cart) or Cart()
