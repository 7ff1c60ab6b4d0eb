"""Each example of the documented API, end to end against a real restate-server."""

from __future__ import annotations

import time

import httpx

from restate_saga.testing import RestateTestBed
from tests.ledger import events, new_run


def test_quick_start_succeeds(bed: RestateTestBed) -> None:
    run = new_run()
    result = bed.call("QuickStart", "run", {"run": run, "customer_id": "c1"})
    assert result.json() == {"order_id": "o-c1", "payment_id": "p-o-c1"}
    assert events(run) == ["CreateOrder", "ProcessPayment"]


def test_quick_start_payment_failure_cancels_the_order_once(bed: RestateTestBed) -> None:
    run = new_run()
    result = bed.call("QuickStart", "run", {"run": run, "customer_id": "c1", "fail_payment": True})
    assert result.status_code == 402
    assert "step 'ProcessPayment' failed: card declined" in result.message
    assert events(run) == ["CreateOrder", "ProcessPayment", "cancel_order o-c1"]
    assert result.invocation_id is not None
    assert bed.run_entries(result.invocation_id) == [
        "CreateOrder",
        "ProcessPayment",
        "compensate:CreateOrder",
    ]


def test_hybrid_step_failing_gets_failed_true_and_its_input(bed: RestateTestBed) -> None:
    run = new_run()
    result = bed.call("HybridFlow", "run", {"run": run, "email": "a@b", "explode": True})
    assert "step 'HybridCreate' failed: order service refused" in result.message
    assert events(run) == [
        "ValidateInput",
        "HybridCreate",
        "hybrid_cancel failed=True keys=['email', 'explode', 'run']",
    ]


def test_hybrid_step_succeeding_gets_its_compensation_data_when_a_later_step_fails(
    bed: RestateTestBed,
) -> None:
    run = new_run()
    result = bed.call("HybridFlow", "run", {"run": run, "email": "a@b", "fail_notify": True})
    assert "step 'Notify' failed" in result.message
    assert events(run) == [
        "ValidateInput",
        "HybridCreate",
        "Notify",
        "hybrid_cancel failed=False keys=['order_id', 'run']",
    ]


def test_validation_step_without_compensation_fails_permanently_and_nothing_else_runs(
    bed: RestateTestBed,
) -> None:
    run = new_run()
    result = bed.call("HybridFlow", "run", {"run": run})
    assert "step 'ValidateInput' failed: Email required" in result.message
    assert events(run) == ["ValidateInput"]
    assert result.invocation_id is not None
    assert bed.run_entries(result.invocation_id) == ["ValidateInput"]


def test_registered_error_compensates_without_retrying(bed: RestateTestBed) -> None:
    run = new_run()
    result = bed.call("ErrorRegistry", "run", {"run": run, "customer_id": "c", "kind": "registered"})
    assert "step 'RaisesRegistered' failed: ValidationProblem: Invalid input" in result.message
    assert events(run) == ["CreateOrder", "RaisesRegistered attempt 1", "cancel_order o-c"]


def test_global_mapper_turns_business_errors_terminal(bed: RestateTestBed) -> None:
    run = new_run()
    result = bed.call("ErrorRegistry", "run", {"run": run, "customer_id": "c", "kind": "business"})
    assert result.status_code == 422
    assert "business rule: limit exceeded" in result.message
    assert events(run) == ["CreateOrder", "RaisesRegistered attempt 1", "cancel_order o-c"]


def test_composed_workflow_compensations_join_the_parent(bed: RestateTestBed) -> None:
    run = new_run()
    result = bed.call("OrderWorkflow", "run", {"run": run, "customer_id": "c", "fail_shipping": True})
    assert "step 'CreateShipment' failed: no courier" in result.message
    assert events(run) == [
        "CreateOrder",
        "ProcessPayment",
        "CreateShipment",
        "refund_payment p-o-c",
        "cancel_order o-c",
    ]
    assert result.invocation_id is not None
    assert bed.run_entries(result.invocation_id) == [
        "CreateOrder",
        "ProcessPayment",
        "CreateShipment",
        "compensate:ProcessPayment",
        "compensate:CreateOrder",
    ]


def test_embedded_workflow_is_also_a_service_of_its_own(bed: RestateTestBed) -> None:
    run = new_run()
    result = bed.call("PaymentWorkflow", "run", {"run": run, "order_id": "o-9"})
    assert result.json() == {"payment_id": "p-o-9"}


def test_nested_saga_module_compensations_join_the_parent(bed: RestateTestBed) -> None:
    run = new_run()
    result = bed.call("NestedWorkflow", "run", {"run": run, "customer_id": "n", "fail_shipping": True})
    assert "CreateShipment" in result.message
    assert events(run) == [
        "CreateOrder",
        "ProcessPayment",
        "CreateShipment",
        "refund_payment p-o-n",
        "cancel_order o-n",
    ]


def test_virtual_object_checkout_keeps_state_consistent(bed: RestateTestBed) -> None:
    key = f"cart-{new_run()}"
    assert bed.call("ShoppingCart", "add_item", {"item": "book"}, key=key).json() == 1
    assert bed.call("ShoppingCart", "add_item", {"item": "pen"}, key=key).json() == 2
    run = new_run()
    failed = bed.call("ShoppingCart", "checkout", {"run": run, "fail_payment": True}, key=key)
    assert failed.status_code == 402
    assert events(run) == ["CreateOrder", "ProcessPayment", f"cancel_order o-{key}"]
    assert bed.call("ShoppingCart", "get_items", key=key).json() == ["book", "pen"]
    run = new_run()
    done = bed.call("ShoppingCart", "checkout", {"run": run}, key=key)
    assert done.json() == {"order_id": f"o-{key}", "payment_id": f"p-o-{key}"}
    assert bed.call("ShoppingCart", "get_items", key=key).json() == []


def _approval(bed: RestateTestBed, approved: bool) -> tuple[str, int, object]:
    run = new_run()
    key = f"approval-{run}"
    invocation = bed.send("ApprovalWorkflow", "run", {"run": run, "customer_id": key}, key=key)
    deadline = time.monotonic() + 20
    while "CreateOrder" not in events(run) and time.monotonic() < deadline:
        time.sleep(0.05)
    signal = bed.call("ApprovalWorkflow", "approve", {"approved": approved}, key=key)
    assert signal.ok, signal.body
    result = bed.attach(invocation)
    return run, result.status_code, result.json() if result.ok else result.message


def test_approval_workflow_completes_when_approved(bed: RestateTestBed) -> None:
    run, status, body = _approval(bed, approved=True)
    assert status == 200
    assert body == {"order_id": f"o-approval-{run}", "shipment_id": "s-1"}
    assert events(run) == ["CreateOrder", "CreateShipment"]


def test_approval_workflow_compensates_when_rejected(bed: RestateTestBed) -> None:
    run, status, body = _approval(bed, approved=False)
    assert status == 500
    assert body == "Order rejected"
    assert events(run) == ["CreateOrder", f"cancel_order o-approval-{run}"]


def test_pydantic_input_is_validated_and_converted(bed: RestateTestBed) -> None:
    run = new_run()
    result = bed.call("PydanticCheckout", "run", {"run": run, "customer_id": "p", "quantity": 2})
    assert result.json() == {"order_id": "o-p", "address": "1 Main St"}
    assert events(run) == ["handler got CheckoutInput", "CreateOrder", "ShipToAddress ShipTo"]


def test_invalid_handler_input_is_a_400_naming_the_fields_and_no_step_runs(bed: RestateTestBed) -> None:
    run = new_run()
    result = bed.call("PydanticCheckout", "run", {"run": run, "quantity": "many"})
    assert result.status_code == 400
    assert "PydanticCheckout.run" in result.message
    assert "'customer_id'" in result.message and "'quantity'" in result.message
    assert events(run) == []


def test_invalid_step_input_is_a_400_naming_the_step_and_compensates_earlier_steps(
    bed: RestateTestBed,
) -> None:
    run = new_run()
    result = bed.call("PydanticCheckout", "run", {"run": run, "customer_id": "p", "quantity": 9})
    assert result.status_code == 400
    assert "invalid input for step 'ShipToAddress'" in result.message and "'address'" in result.message
    assert events(run) == ["handler got CheckoutInput", "CreateOrder", "cancel_order o-p"]


def test_using_ctx_inside_an_action_is_a_clear_terminal_error(bed: RestateTestBed) -> None:
    run = new_run()
    result = bed.call("ContextMisuse", "run", {"run": run, "customer_id": "m"})
    assert "step 'MisusesContext' used ctx.sleep inside its action" in result.message
    assert events(run) == ["CreateOrder", "MisusesContext", "cancel_order o-m"]


def test_service_options_reach_the_server(bed: RestateTestBed) -> None:
    service = httpx.get(f"{bed.server.admin_url}/services/Configured").json()
    assert service["idempotency_retention"] == "2h"
    assert service["journal_retention"] == "3h"
    assert service["inactivity_timeout"] == "1m 10s"
    assert service["abort_timeout"] == "1m 20s"
    assert service["public"] is True
    assert service["documentation"] == "a saga with every option set"
    policy = service["retry_policy"]
    assert (policy["max_attempts"], policy["initial_interval"], policy["max_interval"]) == (5, "250ms", "3s")
    assert policy["on_max_attempts"] == "Kill"
    private = httpx.get(f"{bed.server.admin_url}/services/PrivateSaga").json()
    assert private["public"] is False


def test_ingress_private_saga_is_unreachable_from_ingress_but_callable_from_a_service(
    bed: RestateTestBed,
) -> None:
    run = new_run()
    direct = bed.call("PrivateSaga", "run", {"run": run})
    assert direct.status_code in (400, 403, 404), direct.body
    assert events(run) == []
    via_service = bed.call("PrivateCaller", "call_private", {"run": run})
    assert via_service.ok, via_service.body
    assert events(run) == ["Notify"]


def test_function_api_steps_compensate_like_decorated_ones(bed: RestateTestBed) -> None:
    run = new_run()
    result = bed.call("FunctionApi", "run", {"run": run})
    assert "step 'Notify' failed: mail server gone" in result.message
    assert events(run) == ["Notify", "Notify", "hybrid_cancel failed=False keys=['run']"]
    assert result.invocation_id is not None
    assert bed.run_entries(result.invocation_id) == ["FunctionApiHybrid", "Notify", "compensate:FunctionApiHybrid"]


def test_cancelling_a_workflow_waiting_on_a_durable_promise_compensates(bed: RestateTestBed) -> None:
    run = new_run()
    key = f"approval-{run}"
    invocation = bed.send("ApprovalWorkflow", "run", {"run": run, "customer_id": key}, key=key)
    deadline = time.monotonic() + 20
    while "CreateOrder" not in events(run):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    bed.wait_for_entry(invocation, "Command: GetPromise")  # now waiting on the "approval" promise
    bed.cancel(invocation)
    result = bed.attach(invocation)
    assert result.status_code == 409
    assert events(run) == ["CreateOrder", f"cancel_order o-{key}"]
