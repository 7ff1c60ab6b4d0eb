"""Definitions are checked when they are built: each wrong one is refused with a message naming the
step (or handler) and the parameter; every form the types allow is accepted, and runs."""

from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

import pytest
import restate
from pydantic import BaseModel
from restate import TerminalError

from restate_saga import (
    FailureCause,
    SagaCompensatedError,
    SagaContext,
    StepDefinitionError,
    StepResponse,
    as_step,
    compensatable,
    create_saga_restate_workflow,
    create_saga_step,
    create_saga_step_strict,
    create_saga_virtual_object,
    create_saga_workflow,
    hybrid_step,
    nested,
    parallel,
    run_saga,
    saga_step,
    step,
)
from restate_saga.testing import FakeContext

Loose = Any  # a callable whose shape the type checkers would refuse: these tests check the runtime


async def action(n: int) -> int:
    return n


async def fail(n: int) -> int:
    raise TerminalError("no", 409)


class Opaque:
    pass


def refused(expected: str) -> Any:
    """`pytest.raises` for a `StepDefinitionError` whose message is exactly `expected`."""
    return pytest.raises(StepDefinitionError, match=f"^{re.escape(expected)}$")


# --- actions ---------------------------------------------------------------------------------------


def test_a_plain_function_is_refused_as_an_action() -> None:
    def sync_action(n: int) -> int:
        return n

    with refused("step 'Sync': the action sync_action(n) must be an async function (async def); it returns int"):
        step("Sync", cast(Loose, sync_action))
    with refused("step 'Class': the action Opaque() must be an async function (async def)"):
        step("Class", cast(Loose, Opaque))
    with refused("step 'Value': the action must be an async function, got 3"):
        step("Value", cast(Loose, 3))


def test_an_action_needing_the_seeds_context_is_refused_by_step() -> None:
    async def needs_ctx(ctx: object, d: int) -> int:
        return d

    with refused(
        "step 'X': the action needs_ctx(ctx, d) needs 2 positional arguments ('d' would receive nothing), but it "
        "is called with its input only (an action taking (ctx, input) is built with create_saga_step or @saga_step)"
    ):
        step("X", cast(Loose, needs_ctx))


def test_actions_that_cannot_take_one_input_are_refused() -> None:
    async def nothing() -> int:
        return 1

    async def keyword(n: int, *, mode: str) -> int:
        return n

    with refused("step 'N': the action nothing() takes 0 positional parameters, but it is called with its input only"):
        step("N", cast(Loose, nothing))
    with refused(
        "step 'K': the action keyword(n, *, mode) requires the keyword argument 'mode', "
        "but it is called with its input only"
    ):
        step("K", cast(Loose, keyword))


def test_a_seed_action_must_take_ctx_and_input() -> None:
    async def only_input(value: int) -> StepResponse[int, int]:
        return StepResponse(value)

    with refused(
        "step 'Seed': the action only_input(value) takes 1 positional parameter, but it is called as run(ctx, input)"
    ):
        create_saga_step_strict("Seed", cast(Loose, only_input))
    with refused(
        "step 'Seed': the action only_input(value) takes 1 positional parameter, but it is called as run(ctx, input)"
    ):
        saga_step("Seed")(cast(Loose, only_input))


class AsyncCallable:
    """An object with `async def __call__`."""

    def __init__(self) -> None:
        self.seen: list[int] = []

    async def __call__(self, n: int) -> int:
        self.seen.append(n)
        return n * 10


class Service:
    async def double(self, n: int) -> int:
        return n * 2


async def scaled(n: int, factor: int) -> int:
    return n * factor


def returns_awaitable(n: int) -> Awaitable[int]:
    return action(n + 1)


async def test_every_form_the_types_allow_is_accepted_and_runs() -> None:
    callable_object = AsyncCallable()
    forms = [
        step("Object", callable_object),
        step("Method", Service().double),
        step("Partial", functools.partial(scaled, factor=3)),
        step("Lambda", lambda n: action(n + 100)),
        step("Declared", returns_awaitable),
        step("Optional", cast(Loose, lambda n, extra=1: action(n + extra))),
    ]
    results = [await each.run(FakeContext().as_context(), 2) for each in forms]
    assert results == [20, 4, 6, 102, 3, 3]
    assert callable_object.seen == [2]
    # what they declare is what their journal values are validated by
    assert forms[0].node.codec.output_type is int
    assert forms[2].node.input_type is int
    assert forms[4].node.codec.output_type is int


async def test_seed_actions_in_every_form_run_with_the_sealed_context() -> None:
    class SeedObject:
        async def __call__(self, ctx: restate.Context, value: int) -> StepResponse[int, int]:
            return StepResponse(value + 1)

    async def seed(ctx: restate.Context, value: int, bonus: int) -> StepResponse[int, int]:
        return StepResponse(value + bonus)

    built = [
        create_saga_step("Object", SeedObject()),
        create_saga_step_strict("Partial", functools.partial(seed, bonus=5)),
        create_saga_step_strict("Lambda", lambda ctx, value: seed(ctx, value, 7)),
    ]
    assert [await each.run(FakeContext().as_context(), 1) for each in built] == [2, 6, 8]


async def test_a_lambda_that_returns_no_awaitable_fails_its_step_terminally() -> None:
    undone: list[int] = []

    async def undo(n: int) -> None:
        undone.append(n)

    pipeline = step("First", action, undo).then(step("Sync", cast(Loose, lambda n: n + 1)))
    with pytest.raises(SagaCompensatedError) as raised:
        await pipeline.run(FakeContext().as_context(), 1)
    assert "step 'Sync': the action <lambda>(n) returned int, not an awaitable (define it with async def)" in str(
        raised.value
    )
    assert undone == [1]


# --- compensations ---------------------------------------------------------------------------------


def test_a_plain_function_is_refused_as_a_compensation() -> None:
    def undo(n: int) -> None:
        return None

    with refused("step 'S': the compensation undo(n) must be an async function (async def); it returns None"):
        step("S", action, cast(Loose, undo))


def test_compensations_that_cannot_be_called_are_refused() -> None:
    async def two(a: int, b: int) -> None: ...
    async def none() -> None: ...
    async def keyword_data(*, data: int) -> None: ...
    async def positional_failed(data: int, failed: bool, /) -> None: ...
    async def only_cause(cause: FailureCause) -> None: ...
    async def extra_keyword(data: int, *, reason: str, cause: FailureCause) -> None: ...

    cases = {
        two: "the compensation two(a, b) needs 2 positional arguments ('b' would receive nothing), "
        "but it is called as compensate(data)",
        none: "the compensation none() takes 0 positional parameters, but it is called as compensate(data)",
        keyword_data: "the compensation keyword_data(*, data) takes 0 positional parameters, "
        "but it is called as compensate(data)",
        positional_failed: "the compensation positional_failed(data, failed, /) takes 'failed' positionally only, "
        "but it is passed by keyword (failed=...)",
        only_cause: "the compensation only_cause(cause) would receive the compensation data in 'cause', which is "
        "also passed by keyword; it is called as compensate(data, cause=...)",
        extra_keyword: "the compensation extra_keyword(data, *, reason, cause) requires the keyword argument "
        "'reason', but it is called as compensate(data, cause=...)",
    }
    for undo, message in cases.items():
        with refused(f"step 'S': {message}"):
            step("S", action, cast(Loose, undo))


async def test_failed_and_cause_are_passed_in_any_keyword_form() -> None:
    received: list[tuple[str, object, object]] = []

    async def required_cause(n: int, cause: FailureCause) -> None:
        received.append(("required_cause", None, cause.kind))

    async def keyword_only(n: int, *, failed: bool, cause: FailureCause) -> None:
        received.append(("keyword_only", failed, cause.kind))

    async def defaults(n: int, failed: bool = False, cause: FailureCause | None = None) -> None:
        received.append(("defaults", failed, cause and cause.kind))

    async def anything(n: int, **extra: object) -> None:
        received.append(("anything", extra["failed"], cast(FailureCause, extra["cause"]).kind))

    class UndoObject:
        async def __call__(self, n: int, *, cause: FailureCause) -> None:
            received.append(("object", None, cause.kind))

    undos = [required_cause, keyword_only, defaults, anything, UndoObject()]
    pipeline = step("A", action, cast(Loose, undos[0]))
    for index, undo in enumerate(undos[1:], 1):
        pipeline = pipeline.then(hybrid_step(f"H{index}", action, cast(Loose, undo)))
    pipeline = pipeline.then(step("Fail", fail))
    with pytest.raises(SagaCompensatedError):
        await pipeline.run(FakeContext().as_context(), 1)
    assert received == [
        ("object", None, "later_failure"),
        ("anything", False, "later_failure"),
        ("defaults", False, "later_failure"),
        ("keyword_only", False, "later_failure"),
        ("required_cause", None, "later_failure"),
    ]


def test_a_compensation_without_failed_or_cause_does_not_receive_them() -> None:
    async def undo(n: int, *rest: object) -> None: ...

    leaf = step("S", action, undo).node
    assert not leaf.compensation_takes_failed and not leaf.compensation_takes_cause


# --- saga handlers ---------------------------------------------------------------------------------


def test_a_saga_service_handler_must_take_saga_first() -> None:
    async def with_ctx(ctx: restate.Context, value: int) -> int:
        return value

    async def unannotated(ctx, value):
        return value

    async def nothing() -> int:
        return 1

    async def three(saga: SagaContext, a: int, b: int) -> int:
        return a

    async def wrong_first(saga: int, value: int) -> int:
        return value

    expected = "(saga, input) or (saga)"
    context_first = (
        f"takes the Restate context first, but it is called as {expected}: "
        "take `saga: SagaContext` instead of 'ctx' (the Restate context is `saga.ctx`)"
    )
    with refused(f"saga service 'S': the saga handler with_ctx(ctx, value) {context_first}"):
        create_saga_workflow("S", cast(Loose, with_ctx))
    with refused(f"saga service 'S': the saga handler unannotated(ctx, value) {context_first}"):
        create_saga_workflow("S", cast(Loose, unannotated))
    with refused(
        f"saga service 'S': the saga handler nothing() takes 0 positional parameters, "
        f"but it is called as {expected}"
    ):
        create_saga_workflow("S", cast(Loose, nothing))
    with refused(
        "saga service 'S': the saga handler three(saga, a, b) needs 3 positional arguments "
        f"('b' would receive nothing), but it is called as {expected}"
    ):
        create_saga_workflow("S", cast(Loose, three))
    with refused(
        "saga service 'S': the saga handler's parameter 'saga' is annotated int, but it receives the SagaContext"
    ):
        create_saga_workflow("S", cast(Loose, wrong_first))


async def test_saga_service_handlers_in_every_allowed_form_are_accepted() -> None:
    async def with_input(saga: SagaContext, value: int) -> int:
        return value

    async def without_input(saga: SagaContext) -> int:
        return 7

    class Code:
        async def __call__(self, saga: SagaContext, value: int) -> int:
            return value

    services = [
        create_saga_workflow("WithInput", with_input),
        create_saga_workflow("WithoutInput", cast(Loose, without_input)),
        create_saga_workflow("Object", Code()),
        create_saga_workflow("Lambda", lambda saga, value: with_input(saga, value)),
    ]
    assert [s.input_type for s in services] == [int, None, int, Any]
    ran = [await run_saga(FakeContext().as_context(), s.run_as_step, 5) for s in services]
    assert ran == [5, 7, 5, 5]


def test_exclusive_virtual_object_handlers_must_take_saga_and_ctx() -> None:
    cart = create_saga_virtual_object("Cart")

    async def add(ctx: restate.ObjectContext, item: int) -> None: ...
    async def add_unannotated(ctx, item):
        ...

    async def no_ctx(saga: SagaContext, item: Item) -> None: ...
    async def wrong_ctx(saga: SagaContext, ctx: restate.WorkflowContext, item: int) -> None: ...
    async def only_saga(saga: SagaContext) -> None: ...

    expected = "(saga, ctx, input) or (saga, ctx)"
    context_first = (
        f"takes the Restate context first, but it is called as {expected}: add a `saga: SagaContext` parameter "
        "before 'ctx' (or register it with kind='shared' as a plain Restate handler)"
    )
    with refused(f"Cart.add: the saga handler add(ctx, item) {context_first}"):
        cart.handler()(cast(Loose, add))
    with refused(f"Cart.add_unannotated: the saga handler add_unannotated(ctx, item) {context_first}"):
        cart.handler()(cast(Loose, add_unannotated))
    with refused(
        "Cart.no_ctx: the saga handler's parameter 'item' is annotated Item, but it receives the restate.ObjectContext"
    ):
        cart.handler()(cast(Loose, no_ctx))
    with refused(
        "Cart.wrong_ctx: the saga handler's parameter 'ctx' is annotated WorkflowContext, but it receives the "
        "restate.ObjectContext"
    ):
        cart.handler()(cast(Loose, wrong_ctx))
    with refused(
        f"Cart.only_saga: the saga handler only_saga(saga) takes 1 positional parameter, but it is called as {expected}"
    ):
        cart.handler()(cast(Loose, only_saga))

    @cart.handler()
    async def checkout(saga: SagaContext, ctx: restate.ObjectContext, value: int) -> int:
        return value

    @cart.handler(name="clear")
    async def clear(saga: SagaContext, ctx: restate.Context) -> None: ...

    @cart.handler(kind="shared")
    async def peek(ctx: restate.ObjectSharedContext) -> int:  # a shared handler is a plain Restate handler
        return 0


def test_a_restate_workflow_main_must_take_saga_and_ctx() -> None:
    workflow = create_saga_restate_workflow("Orders")

    async def run(ctx: restate.WorkflowContext, order: int) -> None: ...

    with refused(
        "Orders.run: the saga handler run(ctx, order) takes the Restate context first, but it is called as "
        "(saga, ctx, input) or (saga, ctx): add a `saga: SagaContext` parameter before 'ctx' "
        "(or register it with .handler() as a plain shared handler)"
    ):
        workflow.main()(cast(Loose, run))

    @workflow.main()
    async def main(saga: SagaContext, ctx: restate.WorkflowContext, order: int) -> int:
        return order


async def test_embedded_saga_code_is_called_with_saga_and_input() -> None:
    async def saga_only(saga: SagaContext) -> int:
        return 1

    with refused(
        "step 'saga_only': the saga handler saga_only(saga) takes 1 positional parameter, but it is called as "
        "(saga, input)"
    ):
        as_step(cast(Loose, saga_only))
    with refused(
        "step 'N': the saga handler saga_only(saga) takes 1 positional parameter, but it is called as (saga, input)"
    ):
        nested("N", cast(Loose, saga_only))

    async def code(saga: SagaContext, value: int) -> int:
        return await step("Inner", action)(saga, value + 1)

    embedded = [as_step(code), as_step(lambda saga, value: code(saga, value), name="Lambda"), nested("N", code)]
    assert [await each.run(FakeContext().as_context(), 1) for each in embedded] == [2, 2, 2]


# --- adjacent steps' types -------------------------------------------------------------------------


@dataclass(frozen=True)
class Order:
    order_id: str


@dataclass(frozen=True)
class RushOrder(Order):
    pass


@dataclass(frozen=True)
class Payment:
    payment_id: str


class Item(BaseModel):
    sku: str


async def create_order(cart: str) -> Order:
    return Order(cart)


async def create_rush(cart: str) -> RushOrder:
    return RushOrder(cart)


async def charge(order: Order) -> Payment:
    return Payment(order.order_id)


async def ship(payment: Payment) -> str:
    return payment.payment_id


async def maybe_order(cart: str) -> Order | None:
    return None


async def as_dict(cart: str) -> dict[str, str]:
    return {"sku": cart}


async def take_item(item: Item) -> str:
    return item.sku


async def to_int(text: str) -> int:
    return len(text)


async def take_float(x: float) -> float:
    return x


async def ints(text: str) -> list[int]:
    return [1]


async def strings(values: list[str]) -> int:
    return 0


async def sequence(values: Sequence[int]) -> int:
    return 0


async def literal(text: str) -> Literal["a", "b"]:
    return "a"


async def optional_order(order: Order | None) -> str:
    return ""


def test_adjacent_steps_whose_types_do_not_fit_are_refused() -> None:
    ship_after_order = (
        "step 'Ship' cannot follow step 'CreateOrder': its input 'payment' is Payment, but 'CreateOrder' returns Order"
    )
    with refused(ship_after_order):
        step("CreateOrder", create_order).then(step("Ship", cast(Loose, ship)))
    with refused(
        "step 'Charge' cannot follow step 'Maybe': its input 'order' is Order, but 'Maybe' returns Order | None"
    ):
        step("Maybe", maybe_order).then(step("Charge", cast(Loose, charge)))
    with refused(
        "step 'Strings' cannot follow step 'Ints': its input 'values' is list[str], but 'Ints' returns list[int]"
    ):
        step("Ints", ints).then(step("Strings", cast(Loose, strings)))
    with refused("step 'Charge' cannot follow step 'Length': its input 'order' is Order, but 'Length' returns int"):
        step("Length", to_int).then(step("Charge", cast(Loose, charge)))
    # the first steps of what follows: each branch of a group, both sides of a fallback
    with refused(ship_after_order):
        step("CreateOrder", create_order).then(cast(Loose, parallel(step("Charge", charge), step("Ship", ship))))
    with refused(ship_after_order):
        fallback = step("Charge", charge).or_else(cast(Loose, step("Ship", ship)))
        step("CreateOrder", create_order).then(cast(Loose, fallback))
    # the last step of what comes before, through pipelines and the pivot builder
    with refused(
        "step 'Ship' cannot follow step 'Charge': its input 'payment' is Payment, but 'Charge' returns Payment | None"
    ):

        async def maybe_pay(order: Order) -> Payment | None:
            return None

        step("CreateOrder", create_order).then(step("Charge", maybe_pay)).then(step("Ship", cast(Loose, ship)))
    with refused(ship_after_order):
        compensatable(step("CreateOrder", create_order)).pivot(cast(Loose, step("Ship", ship)))


def test_a_parallel_groups_tuple_is_checked_against_the_next_step() -> None:
    async def summarize(booked: tuple[str, int]) -> str:
        return booked[0]

    async def text(order: Order) -> str:
        return ""

    async def number(order: Order) -> int:
        return 0

    group = parallel(step("Text", text), step("Number", number), step("Again", number))
    with refused(
        "step 'Summary' cannot follow step 'parallel(Text, Number, Again)': its input 'booked' is tuple[str, int], "
        "but 'parallel(Text, Number, Again)' returns tuple[str, int, int]"
    ):
        group.then(step("Summary", cast(Loose, summarize)))
    parallel(step("Text", text), step("Number", number)).then(step("Summary", summarize))


def test_adjacent_steps_whose_types_fit_are_accepted() -> None:
    step("Rush", create_rush).then(step("Charge", charge))  # a subclass
    step("Dict", as_dict).then(step("Item", take_item))  # validation builds a model from a mapping
    step("Length", to_int).then(step("Float", take_float))  # int is accepted where float is
    step("Ints", ints).then(step("Sequence", sequence))
    step("Literal", literal).then(step("Text", to_int))
    step("Order", create_order).then(step("Optional", optional_order))
    step("Order", create_order).then(step("Any", lambda order: action(1)))  # not annotated: not checked
    step("Order", create_order).map(lambda order: order.order_id).then(step("Length", to_int))


def test_the_mismatch_from_the_issue_is_a_definition_error_not_a_400() -> None:
    """Adjacent dataclass steps that do not line up used to fail each call with a 400 on the second input."""
    with pytest.raises(StepDefinitionError) as raised:
        create_saga_workflow("Checkout", step("CreateOrder", create_order).then(step("Ship", cast(Loose, ship))))
    assert not isinstance(raised.value, TerminalError)
    assert str(raised.value).count("Ship") == 1 and str(raised.value).count("CreateOrder") == 2


def test_the_other_build_checks_still_hold() -> None:
    with pytest.raises(StepDefinitionError, match="non-empty name"):
        step("  ", action)

    async def make(n: int) -> Opaque:
        return Opaque()

    with pytest.raises(StepDefinitionError, match=r"step 'Make': its output type .*Opaque.* cannot be stored"):
        step("Make", make)


def test_step_response_defaults_and_failures() -> None:
    plain = StepResponse({"id": 1})
    assert plain.compensation_data == {"id": 1} and plain.data_is_output
    explicit = StepResponse({"id": 1}, compensation_data=None)
    assert explicit.compensation_data is None and not explicit.data_is_output
    failure = StepResponse.permanent_failure("declined", {"auth": "a"}, status_code=402)
    assert failure.is_failure and failure.failure == "declined" and failure.status_code == 402
    with pytest.raises(ValueError, match="non-empty message"):
        StepResponse.permanent_failure("", None)
    with pytest.raises(ValueError, match="4xx or 5xx"):
        StepResponse.permanent_failure("x", None, status_code=200)
