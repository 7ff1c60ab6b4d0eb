"""A long-running saga: a purchase that waits for a manager's approval.

A Restate *workflow* runs its `run` handler once per key (here, one purchase request) and can wait
for days: `ctx.promise("approval")` is a durable promise that survives restarts. Other handlers
of the same workflow (signals and queries) can be called while `run` waits.

    POST /PurchaseApproval/<key>/run/send   {"department": "it", "item": "laptop", ...}
    POST /PurchaseApproval/<key>/approve    {"approved": true, "reviewer": "grace"}
    GET  /restate/invocation/<id>/attach    (or: /restate/workflow/PurchaseApproval/<key>/attach)

The saga holds the budget first. Approved: the purchase order is placed and the run completes.
Rejected: the run raises a `TerminalError`, so the saga compensates and the budget is released.
"""

from __future__ import annotations

import restate
from pydantic import BaseModel
from restate import TerminalError

from examples import external
from restate_saga import SagaContext, create_saga_restate_workflow, register_terminal_errors, step

register_terminal_errors([external.ServiceUnavailable])  # a refusal is final: compensate at once


class PurchaseRequest(BaseModel):
    department: str
    item: str
    supplier: str
    amount: int


class Decision(BaseModel):
    """What the reviewer sends to the `approve` signal."""

    approved: bool
    reviewer: str
    reason: str = ""


class BudgetHold(BaseModel):
    hold_id: str


class PurchaseResult(BaseModel):
    hold_id: str
    purchase_order_id: str
    approved_by: str


async def hold_budget(request: PurchaseRequest) -> BudgetHold:
    return BudgetHold(hold_id=await external.hold_budget(request.department, request.amount))


async def release_budget(hold: BudgetHold) -> None:
    await external.release_budget(hold.hold_id)


async def place_purchase_order(request: PurchaseRequest) -> str:
    return await external.place_purchase_order(request.supplier, request.item)


# Holding the budget is undone by releasing it. Placing the order is the last step: no undo needed.
hold_budget_step = step("HoldBudget", hold_budget, release_budget)
place_order_step = step("PlacePurchaseOrder", place_purchase_order)

purchase_approval = create_saga_restate_workflow("PurchaseApproval")

APPROVAL = "approval"  # the durable promise that the `approve` signal resolves
STATUS = "status"  # workflow state, readable by the `status` query while `run` waits


@purchase_approval.main()
async def run(saga: SagaContext, ctx: restate.WorkflowContext, request: PurchaseRequest) -> PurchaseResult:
    """Hold the budget, wait for the decision, then place the order (or undo the hold)."""
    hold = await hold_budget_step(saga, request)
    ctx.set(STATUS, "waiting for approval")
    # The handler suspends here, durably, until `approve` resolves the promise (which may even
    # have happened already: a promise can be resolved before anyone waits on it).
    decision = await ctx.promise(APPROVAL, type_hint=Decision).value()
    if not decision.approved:
        ctx.set(STATUS, f"rejected by {decision.reviewer}")
        # A terminal error outside any step still rolls the saga back: the budget is released.
        raise TerminalError(f"rejected by {decision.reviewer}: {decision.reason}", status_code=403)
    ctx.set(STATUS, f"approved by {decision.reviewer}")
    purchase_order_id = await place_order_step(saga, request)
    return PurchaseResult(hold_id=hold.hold_id, purchase_order_id=purchase_order_id, approved_by=decision.reviewer)


@purchase_approval.handler()
async def approve(ctx: restate.WorkflowSharedContext, decision: Decision) -> None:
    """The signal: record the reviewer's decision (approve or reject)."""
    await ctx.promise(APPROVAL, type_hint=Decision).resolve(decision)


@purchase_approval.handler()
async def status(ctx: restate.WorkflowSharedContext) -> str:
    """The query: where the purchase stands."""
    return await ctx.get(STATUS, type_hint=str) or "not started"
