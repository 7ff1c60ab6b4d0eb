"""Sagas whose step output models change between versions of the app ($APP_VERSION 1, 2 or 3).

Every service is a workflow: `Open`, then `Reserve` (whose output model is what changes), then a
wait, then `Finish`. Version 2 is served on the same URI as version 1, so invocations started
under version 1 replay their journal — `Reserve`'s output as version 1 wrote it — against version
2's models. Most cases wait on the durable promise `go` (a journal entry after `Reserve`); the
`...AtEnd` cases wait in memory under version 1 (no entry: `Reserve`'s result ends the journal).
Version 3 is version 2 plus upgrades for the cases that version 2 cannot read.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import restate
from pydantic import BaseModel

from restate_saga import SagaContext, Step, StepResponse, create_saga_restate_workflow, step
from tests.infra.ledger import side_effect

VERSION = int(os.environ.get("APP_VERSION", "1"))


class Order(BaseModel):
    order_id: str


class Money(BaseModel):
    value: int
    currency: str


# --- the models of each case, as version 1 and version 2 declare them --------------------------------


class ReceiptV1(BaseModel):
    order_id: str
    amount: int
    note: str


class GainedRequired(ReceiptV1):  # v2: a new required field
    currency: str


class GainedDefaulted(ReceiptV1):  # v2: a new field with a default
    currency: str = "EUR"


class LostField(BaseModel):  # v2: `note` is gone
    order_id: str
    amount: int


class CodeV1(BaseModel):
    order_id: str
    code: str


class CodeV2(BaseModel):  # v2: the same field, another type ("007" would silently become 7 if coerced)
    order_id: str
    code: int


class PricedV2(BaseModel):  # v2: `amount` became an object
    order_id: str
    amount: Money
    note: str


def _receipt(order: Order) -> dict[str, Any]:
    return {"order_id": order.order_id, "amount": 42, "note": "fragile"}


def _reserve_step(name: str, model: type[BaseModel], payload: Any) -> Step[Order, Any, Any]:
    async def reserve(order: Order) -> Any:
        await side_effect(order.order_id, "Reserve")
        return model.model_validate(payload(order))

    async def release(receipt: Any) -> None:
        await side_effect(receipt.order_id, "undo Reserve")

    reserve.__annotations__["return"] = model
    release.__annotations__["receipt"] = model
    return step("Reserve", reserve, release)


def _paired_step(model: type[BaseModel]) -> Step[Order, Any, str]:
    """The output changes, but the compensation data (the order id) is journaled apart and does not."""

    async def reserve(order: Order) -> StepResponse[Any, str]:
        await side_effect(order.order_id, "Reserve")
        return StepResponse(model.model_validate(_receipt(order)), compensation_data=order.order_id)

    async def release(order_id: str) -> None:
        await side_effect(order_id, "undo Reserve")

    reserve.__annotations__["return"] = StepResponse[model, str]
    return step("Reserve", reserve, release)


def _code(order: Order) -> dict[str, Any]:
    return {"order_id": order.order_id, "code": "007"}


def _priced(order: Order) -> dict[str, Any]:
    return {"order_id": order.order_id, "amount": {"value": 42, "currency": "EUR"}, "note": "fragile"}


def _add_currency(old: Any) -> Any:
    return {**old, "currency": "EUR"}


def _price_in_euros(old: Any) -> Any:
    return {**old, "amount": {"value": old["amount"], "currency": "EUR"}}


def _gained_required() -> Step[Order, Any, Any]:
    return _reserve_step("Reserve", GainedRequired, lambda o: {**_receipt(o), "currency": "USD"})


def _changed_type() -> Step[Order, Any, Any]:
    return _reserve_step("Reserve", CodeV2, lambda o: {"order_id": o.order_id, "code": 7})


def _code_from_text(old: Any) -> Any:
    return {**old, "code": int(old["code"])}  # what "007" means is this app's decision, made explicitly


V1: dict[str, Step[Order, Any, Any]] = {
    "GainedRequired": _reserve_step("Reserve", ReceiptV1, _receipt),
    "GainedRequiredUpgraded": _reserve_step("Reserve", ReceiptV1, _receipt),
    "GainedDefaulted": _reserve_step("Reserve", ReceiptV1, _receipt),
    "LostField": _reserve_step("Reserve", ReceiptV1, _receipt),
    "ChangedType": _reserve_step("Reserve", CodeV1, _code),
    "ChangedTypeUpgraded": _reserve_step("Reserve", ReceiptV1, _receipt),
    "GainedRequiredAtEnd": _reserve_step("Reserve", ReceiptV1, _receipt),
    "PairedOutputChangedAtEnd": _paired_step(ReceiptV1),
}
V2: dict[str, Step[Order, Any, Any]] = {
    "GainedRequired": _gained_required(),
    "GainedRequiredUpgraded": _gained_required().with_upgrade(_add_currency),
    "GainedDefaulted": _reserve_step("Reserve", GainedDefaulted, _receipt),
    "LostField": _reserve_step("Reserve", LostField, _receipt),
    "ChangedType": _changed_type(),
    "ChangedTypeUpgraded": _reserve_step("Reserve", PricedV2, _priced).with_upgrade(_price_in_euros),
    "GainedRequiredAtEnd": _gained_required(),
    "PairedOutputChangedAtEnd": _paired_step(GainedRequired),
}
V3 = {
    **V2,
    "GainedRequired": _gained_required().with_upgrade(_add_currency),
    "ChangedType": _changed_type().with_upgrade(_code_from_text),
}
CASES = {1: V1, 2: V2, 3: V3}[VERSION]
_HANG = asyncio.Event()  # never set: version 1 of the `...AtEnd` cases waits here until it is killed


async def _wait_in_memory(saga: SagaContext, receipt: Any) -> Any:
    if VERSION == 1:
        await _HANG.wait()
    return receipt


async def open_order(order: Order) -> Order:
    await side_effect(order.order_id, "Open")
    return order


async def close_order(order: Order) -> None:
    await side_effect(order.order_id, "undo Open")


async def finish(receipt: Any) -> dict[str, Any]:
    await side_effect(receipt.order_id, "Finish")
    return dict(receipt.model_dump(mode="json"))


open_step = step("Open", open_order, close_order)
finish_step = step("Finish", finish)


def _workflow(name: str, reserve: Step[Order, Any, Any]) -> restate.Workflow:
    workflow = create_saga_restate_workflow(name)

    at_end = name.endswith("AtEnd")

    @workflow.main()
    async def run(saga: SagaContext, ctx: restate.WorkflowContext, order: Order) -> dict[str, Any]:
        await open_step(saga, order)
        receipt = await reserve(saga, order)
        if at_end:
            receipt = await _wait_in_memory(saga, receipt)
        else:
            await ctx.promise("go", type_hint=str).value()
        return await finish_step(saga, receipt)

    @workflow.handler()
    async def go(ctx: restate.WorkflowSharedContext, value: str) -> None:
        await ctx.promise("go", type_hint=str).resolve(value)

    return workflow


app: Any = restate.app(services=[_workflow(name, reserve) for name, reserve in CASES.items()])
