"""Services written exactly as the seed README documents its API, for the end-to-end tests."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import restate
from pydantic import BaseModel
from restate import TerminalError

from restate_saga import (
    SagaContext,
    SagaStepOptions,
    SagaWorkflowOptions,
    StepResponse,
    StepRetryPolicy,
    WorkflowRetryPolicy,
    create_saga_module,
    create_saga_restate_workflow,
    create_saga_step,
    create_saga_step_strict,
    create_saga_virtual_object,
    create_saga_workflow,
    register_terminal_errors,
    run_nested_saga,
    saga_step,
    saga_step_strict,
    saga_workflow,
    set_global_error_mapper,
)
from tests.ledger import record

Data = dict[str, Any]

# --- quick start: strict decorated steps in a decorated workflow ----------------------------


async def cancel_order(data: Data) -> None:
    record(data["run"], f"cancel_order {data['order_id']}")


@saga_step_strict("CreateOrder", compensate=cancel_order)
async def create_order(ctx: restate.Context, input_val: Data) -> StepResponse[Data, Data]:
    record(input_val["run"], "CreateOrder")
    return StepResponse(output={"run": input_val["run"], "order_id": f"o-{input_val['customer_id']}"})


async def refund_payment(data: Data) -> None:
    record(data["run"], f"refund_payment {data['payment_id']}")


@saga_step_strict("ProcessPayment", compensate=refund_payment)
async def process_payment(ctx: restate.Context, input_val: Data) -> StepResponse[Data, Data]:
    record(input_val["run"], "ProcessPayment")
    if input_val.get("fail_payment"):
        raise TerminalError("card declined", 402)
    return StepResponse(output={"run": input_val["run"], "payment_id": f"p-{input_val['order_id']}"})


@saga_workflow("QuickStart")
async def quick_start(saga: SagaContext, input_val: Data) -> Data:
    order = await create_order(saga, input_val)
    payment = await process_payment(
        saga,
        {
            "run": input_val["run"],
            "order_id": order["order_id"],
            "fail_payment": input_val.get("fail_payment"),
        },
    )
    return {"order_id": order["order_id"], "payment_id": payment["payment_id"]}


# --- hybrid step with `failed`, steps without compensation, the function API ---------------


async def hybrid_cancel(data: Data, failed: bool = False) -> None:
    record(data["run"], f"hybrid_cancel failed={failed} keys={sorted(data)}")


@saga_step("HybridCreate", compensate=hybrid_cancel)
async def hybrid_create(ctx: restate.Context, input_val: Data) -> StepResponse[Data, Data]:
    record(input_val["run"], "HybridCreate")
    if input_val.get("explode"):
        raise TerminalError("order service refused")
    return StepResponse(
        output={"run": input_val["run"], "order_id": "h-1"},
        compensation_data={"run": input_val["run"], "order_id": "h-1"},
    )


@saga_step("ValidateInput")
async def validate_input(ctx: restate.Context, input_val: Data) -> StepResponse[Data, None]:
    record(input_val["run"], "ValidateInput")
    if not input_val.get("email"):
        return StepResponse.permanent_failure("Email required", None)
    return StepResponse(output={"valid": True}, compensation_data=None)


async def after_validation(ctx: restate.Context, input_val: Data) -> StepResponse[Data, Data]:
    record(input_val["run"], "Notify")
    if input_val.get("fail_notify"):
        raise TerminalError("mail server gone")
    return StepResponse(output=input_val)


notify = create_saga_step_strict("Notify", after_validation)
function_api_hybrid = create_saga_step("FunctionApiHybrid", after_validation, hybrid_cancel)


async def hybrid_flow(saga: SagaContext, input_val: Data) -> Data:
    await validate_input(saga, input_val)
    order = await hybrid_create(saga, input_val)
    await notify(saga, input_val)
    return order


HybridFlow = create_saga_workflow(name="HybridFlow", handler=hybrid_flow)

# --- the error registry and a custom mapper --------------------------------------------------


class ValidationProblem(Exception):
    """Registered as terminal."""


class BusinessError(Exception):
    """Mapped to terminal by the global mapper."""


register_terminal_errors([ValidationProblem])


def business_mapper(err: Exception) -> TerminalError | None:
    if isinstance(err, BusinessError):
        return TerminalError(f"business rule: {err}", 422)
    return None


set_global_error_mapper(business_mapper)

_attempts: dict[str, int] = {}


@saga_step("RaisesRegistered")
async def raises_registered(ctx: restate.Context, input_val: Data) -> StepResponse[Data, Data]:
    run = input_val["run"]
    _attempts[run] = _attempts.get(run, 0) + 1
    record(run, f"RaisesRegistered attempt {_attempts[run]}")
    if input_val["kind"] == "registered":
        raise ValidationProblem("Invalid input")
    raise BusinessError("limit exceeded")


@saga_workflow("ErrorRegistry")
async def error_registry(saga: SagaContext, input_val: Data) -> Data:
    await create_order(saga, input_val)
    return await raises_registered(saga, input_val)


# --- composing workflows, nested sagas and modules -------------------------------------------


@saga_workflow("PaymentWorkflow")
async def payment_workflow(saga: SagaContext, input_val: Data) -> Data:
    payment = await process_payment(saga, input_val)
    return {"payment_id": payment["payment_id"]}


async def ship(ctx: restate.Context, input_val: Data) -> StepResponse[Data, Data]:
    record(input_val["run"], "CreateShipment")
    if input_val.get("fail_shipping"):
        raise TerminalError("no courier")
    return StepResponse(output={"shipment_id": "s-1"})


create_shipment = create_saga_step_strict("CreateShipment", ship)


@saga_workflow("OrderWorkflow")
async def order_workflow(saga: SagaContext, input_val: Data) -> Data:
    order = await create_order(saga, input_val)
    payment = await payment_workflow.run_as_step(saga, {"run": input_val["run"], "order_id": order["order_id"]})
    await create_shipment(saga, input_val)
    return {"order_id": order["order_id"], "payment_id": payment["payment_id"]}


async def handle_payment_inline(saga: SagaContext, input_val: Data) -> Data:
    async def inner(nested_saga: SagaContext) -> Data:
        return await process_payment(nested_saga, input_val)

    return await run_nested_saga(saga, inner)


payment_module = create_saga_module(handle_payment_inline)


@saga_workflow("NestedWorkflow")
async def nested_workflow(saga: SagaContext, input_val: Data) -> Data:
    order = await create_order(saga, input_val)
    payment = await payment_module(saga, {"run": input_val["run"], "order_id": order["order_id"]})
    await create_shipment(saga, input_val)
    return payment


# --- a virtual object: a shopping cart ------------------------------------------------------

cart = create_saga_virtual_object("ShoppingCart")


@cart.handler()
async def add_item(saga: SagaContext, ctx: restate.ObjectContext, input_val: Data) -> int:
    items: list[str] = await ctx.get("items", type_hint=list[str]) or []
    items.append(str(input_val["item"]))
    ctx.set("items", items)
    return len(items)


@cart.handler()
async def checkout(saga: SagaContext, ctx: restate.ObjectContext, input_val: Data) -> Data:
    order = await create_order(saga, {"run": input_val["run"], "customer_id": ctx.key()})
    payment = await process_payment(saga, {**input_val, "order_id": order["order_id"]})
    ctx.clear("items")
    return {"order_id": order["order_id"], "payment_id": payment["payment_id"]}


@cart.handler(kind="shared")
async def get_items(ctx: restate.ObjectSharedContext) -> list[str]:
    return await ctx.get("items", type_hint=list[str]) or []


# --- a long-running workflow with an approval signal ---------------------------------------

wf = create_saga_restate_workflow("ApprovalWorkflow")


@wf.main()
async def run(saga: SagaContext, ctx: restate.WorkflowContext, input_val: Data) -> Data:  # handler "run"
    order = await create_order(saga, input_val)
    approved = await ctx.promise("approval", type_hint=bool).value()
    if not approved:
        raise TerminalError("Order rejected")
    shipment = await create_shipment(saga, input_val)
    return {"order_id": order["order_id"], **shipment}


@wf.handler()
async def approve(ctx: restate.WorkflowSharedContext, input_val: Data) -> None:
    await ctx.promise("approval", type_hint=bool).resolve(bool(input_val["approved"]))


# --- pydantic validation ---------------------------------------------------------------------


class CheckoutInput(BaseModel):
    run: str
    customer_id: str
    quantity: int


class ShipTo(BaseModel):
    run: str
    address: str


@saga_step_strict("ShipToAddress")
async def ship_to(ctx: restate.Context, input_val: ShipTo) -> StepResponse[str, str]:
    record(input_val.run, f"ShipToAddress {type(input_val).__name__}")
    return StepResponse(input_val.address)


@saga_workflow("PydanticCheckout")
async def pydantic_checkout(saga: SagaContext, input_val: CheckoutInput) -> Data:
    record(input_val.run, f"handler got {type(input_val).__name__}")
    order = await create_order(saga, {"run": input_val.run, "customer_id": input_val.customer_id})
    # a dict for a pydantic-typed step input is validated; a bad one is a 400 naming the step
    address = "" if input_val.quantity > 5 else "1 Main St"
    payload: Any = {"run": input_val.run} if not address else {"run": input_val.run, "address": address}
    shipped = await ship_to(saga, payload)
    return {"order_id": order["order_id"], "address": shipped}


# --- context misuse inside an action ---------------------------------------------------------


@saga_step_strict("MisusesContext")
async def misuses_context(ctx: restate.Context, input_val: Data) -> StepResponse[Data, Data]:
    record(input_val["run"], "MisusesContext")
    await ctx.sleep(timedelta(seconds=1))
    return StepResponse(input_val)


@saga_workflow("ContextMisuse")
async def context_misuse(saga: SagaContext, input_val: Data) -> Data:
    await create_order(saga, input_val)
    return await misuses_context(saga, input_val)


# --- options reach the server ----------------------------------------------------------------

OPTIONS = SagaWorkflowOptions(
    retry_policy=WorkflowRetryPolicy(
        max_attempts=5,
        initial_interval=timedelta(milliseconds=250),
        max_interval=timedelta(seconds=3),
        on_max_attempts="kill",
    ),
    idempotency_retention=timedelta(hours=2),
    journal_retention=timedelta(hours=3),
    inactivity_timeout=timedelta(seconds=70),
    abort_timeout=timedelta(seconds=80),
    description="a saga with every option set",
)

retried_step = create_saga_step_strict(
    "RetriedStep",
    after_validation,
    options=SagaStepOptions(retry=StepRetryPolicy(max_retry_attempts=1), compensation_retry=StepRetryPolicy()),
)
Configured = create_saga_workflow("Configured", retried_step, OPTIONS)
PrivateSaga = create_saga_workflow("PrivateSaga", notify, SagaWorkflowOptions(ingress_private=True))

caller = restate.Service("PrivateCaller")


@caller.handler()
async def call_private(ctx: restate.Context, input_val: Data) -> Data:
    raw = await ctx.generic_call("PrivateSaga", "run", json.dumps(input_val).encode())
    return json.loads(raw)


services: list[Any] = [
    quick_start,
    HybridFlow,
    error_registry,
    payment_workflow,
    order_workflow,
    nested_workflow,
    cart,
    wf,
    pydantic_checkout,
    context_misuse,
    Configured,
    PrivateSaga,
    caller,
]


# --- the function API (no decorators), hybrid, with a later failure ----------------------------


async def function_api_body(saga: SagaContext, input_val: Data) -> Data:
    await function_api_hybrid(saga, input_val)  # create_saga_step: hybrid, compensation hybrid_cancel
    return await notify(saga, {**input_val, "fail_notify": True})


FunctionApi = create_saga_workflow(name="FunctionApi", handler=function_api_body)
services.append(FunctionApi)
