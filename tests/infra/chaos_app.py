"""Sagas for the infrastructure-failure tests and the soak run: checkouts that write a SQLite ledger.

Every action and compensation goes through `tests.infra.ledger.side_effect` (deduplicated by its
idempotency key). The input says how a saga behaves:
`{"saga": "s001", "fail_at": "S3" or "", "work": seconds per effect, "nap": seconds}`.

- `Checkout`: S1, S2, S3 (a service with a `run` handler);
- `TimedCheckout`: S1, a durable timer of `nap` seconds, S2, S3;
- `ApprovalCheckout`: a workflow: S1, then it waits on the durable promise `approval` (resolved by
  its `approve` handler), then S2, S3;
- `ParallelCheckout`: S1, then A and B in parallel, then S3.

A saga whose `fail_at` names a step fails there for good (before that step's side effect), so the
steps before it are compensated, newest first. `HOOKS` lets a test served in the same process run
code inside a step once its effect is applied (e.g. cut the connection that carries the step).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import restate
from restate import TerminalError

from restate_saga import SagaContext, as_step, create_saga_restate_workflow, create_saga_workflow, parallel, step
from tests.infra.ledger import side_effect

Data = dict[str, Any]
Hook = Callable[[], Awaitable[None]]
HOOKS: dict[tuple[str, str], Hook] = {}
"""(saga, effect) -> code to run once, inside that action or compensation, after its effect."""


async def _effect(data: Data, effect: str) -> None:
    await side_effect(data["saga"], effect, float(data.get("work", 0.0)))
    hook = HOOKS.pop((data["saga"], effect), None)
    if hook is not None:
        await hook()


def saga_step(name: str) -> Any:
    async def action(data: Data) -> Data:
        if data.get("fail_at") == name:
            raise TerminalError(f"{name} refused for {data['saga']}", 409)
        await _effect(data, name)
        return data

    async def undo(data: Data) -> None:
        await _effect(data, f"undo {name}")

    return step(name, action, undo)


async def _nap(saga: SagaContext, data: Data) -> Data:
    await saga.ctx.sleep(timedelta(seconds=float(data.get("nap", 1.0))))
    return data


def _merge(branches: tuple[Data, Data]) -> Data:
    return branches[0]


S1, S2, S3 = saga_step("S1"), saga_step("S2"), saga_step("S3")
Checkout = create_saga_workflow("Checkout", S1.then(S2).then(S3))
TimedCheckout = create_saga_workflow("TimedCheckout", S1.then(as_step(_nap, name="Nap")).then(S2).then(S3))
ParallelCheckout = create_saga_workflow(
    "ParallelCheckout", S1.then(parallel(saga_step("A"), saga_step("B"))).map(_merge).then(S3)
)

ApprovalCheckout = create_saga_restate_workflow("ApprovalCheckout")
APPROVAL = "approval"


@ApprovalCheckout.main("run")
async def approval_run(saga: SagaContext, ctx: restate.WorkflowContext, data: Data) -> Data:
    data = await S1(saga, data)
    await ctx.promise(APPROVAL, type_hint=str).value()
    data = await S2(saga, data)
    return await S3(saga, data)


@ApprovalCheckout.handler()
async def approve(ctx: restate.WorkflowSharedContext, decision: str) -> None:
    await ctx.promise(APPROVAL, type_hint=str).resolve(decision)


services = [Checkout, TimedCheckout, ParallelCheckout, ApprovalCheckout]
app: Any = restate.app(services=services)
