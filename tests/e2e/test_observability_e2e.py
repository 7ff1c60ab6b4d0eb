"""OpenTelemetry spans and metrics of sagas on a real restate-server, replays included.

The app (`observe_app`) is served in this process, so the OpenTelemetry SDK's in-memory span
exporter and metric reader hold what its interceptor reported.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import StatusCode

from restate_saga.testing import CallResult, RestateTestBed
from tests.e2e import observe_app
from tests.ledger import events, new_run

Tree = list[tuple[str, str, int | None]]
"""(span name, status, attempt) of the saga span's children, in start order."""


def _spans_of(invocation_id: str, expect_saga: bool = True) -> list[ReadableSpan]:
    deadline = time.monotonic() + 20
    while True:
        found = [
            s
            for s in observe_app.spans.get_finished_spans()
            if (s.attributes or {}).get("restate.invocation.id") == invocation_id
        ]
        if not expect_saga or any(s.name.startswith("saga ") for s in found):
            return sorted(found, key=lambda s: s.start_time or 0)
        assert time.monotonic() < deadline, f"no saga span for {invocation_id}"
        time.sleep(0.05)


def _saga_and_children(invocation_id: str) -> tuple[ReadableSpan, Tree]:
    found = _spans_of(invocation_id)
    sagas = [s for s in found if s.name.startswith("saga ")]
    assert len(sagas) == 1, [s.name for s in sagas]
    saga = sagas[0]
    assert saga.context is not None
    children = [s for s in found if s is not saga]
    for child in children:  # every other span is a child of the saga span, in its trace
        assert child.parent is not None and child.parent.span_id == saga.context.span_id, child.name
        assert child.context is not None and child.context.trace_id == saga.context.trace_id
    tree: Tree = [
        (s.name, s.status.status_code.name, _int((s.attributes or {}).get("restate_saga.attempt"))) for s in children
    ]
    return saga, tree


def _int(value: object) -> int | None:
    return value if isinstance(value, int) else None


def _event_names(span: ReadableSpan) -> list[str]:
    return [event.name for event in span.events]


def _metrics() -> Counter[tuple[str, tuple[tuple[str, Any], ...]]]:
    """Every counter's value and every histogram's count, by metric name and attributes."""
    totals: Counter[tuple[str, tuple[tuple[str, Any], ...]]] = Counter()
    data = observe_app.metric_reader.get_metrics_data()
    if data is None:
        return totals
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                for point in metric.data.data_points:
                    key = (metric.name, tuple(sorted((point.attributes or {}).items())))
                    value = getattr(point, "count", None)
                    totals[key] = int(value if value is not None else getattr(point, "value", 0))
    return totals


def _delta(before: Counter[Any], after: Counter[Any]) -> dict[str, int]:
    """What changed, as `"metric{k=v,...}": n` (attribute values only, for brevity)."""
    changed: dict[str, int] = {}
    for key, value in after.items():
        if value != before.get(key, 0):
            name, attributes = key
            labels = ",".join(str(v) for k, v in attributes if k != "restate_saga.saga")
            changed[f"{name}{{{labels}}}"] = value - before.get(key, 0)
    return changed


def _call(
    bed: RestateTestBed, service: str, payload: dict[str, Any], headers: dict[str, str] | None = None
) -> CallResult:
    answer = bed.client.post(
        f"{bed.server.ingress_url}/{service}/run",
        content=json.dumps(payload).encode(),
        headers={"content-type": "application/json", **(headers or {})},
    )
    return CallResult(answer.status_code, answer.content, answer.headers.get("x-restate-id"))


def _observed(
    bed: RestateTestBed, service: str, payload: dict[str, Any]
) -> tuple[CallResult, ReadableSpan, Tree, dict[str, int]]:
    before = _metrics()
    result = _call(bed, service, payload)
    assert result.invocation_id is not None
    saga, tree = _saga_and_children(result.invocation_id)
    return result, saga, tree, _delta(before, _metrics())


SUCCESS: Tree = [("step Flight", "UNSET", 1), ("step Hotel", "UNSET", 1), ("step Car", "UNSET", 1)]
COMPENSATED: Tree = [
    ("step Flight", "UNSET", 1),
    ("step Hotel", "UNSET", 1),
    ("step Car", "ERROR", 1),
    ("compensate Hotel", "UNSET", 1),
    ("compensate Flight", "UNSET", 1),
]
STEPS_OK = {"restate_saga.step.duration{ok,Flight}": 1, "restate_saga.step.duration{ok,Hotel}": 1}


@pytest.mark.parametrize("service", ["Trip", "TripReplayed"])
def test_a_saga_that_succeeds(bed: RestateTestBed, service: str) -> None:
    result, saga, tree, delta = _observed(bed, service, {"run": new_run()})
    assert result.status_code == 200, result.body
    assert saga.name == f"saga {service}"
    assert saga.status.status_code is StatusCode.UNSET
    assert (saga.attributes or {})["restate_saga.outcome"] == "succeeded"
    assert tree == SUCCESS
    assert delta == {
        "restate_saga.sagas{succeeded}": 1,
        "restate_saga.saga.duration{succeeded}": 1,
        **STEPS_OK,
        "restate_saga.step.duration{ok,Car}": 1,
    }


@pytest.mark.parametrize("service", ["Trip", "TripReplayed"])
def test_a_saga_that_compensates(bed: RestateTestBed, service: str) -> None:
    run = new_run()
    result, saga, tree, delta = _observed(bed, service, {"run": run, "fail_at": "Car"})
    assert result.status_code == 409
    assert events(run) == ["Flight", "Hotel", "Car", "undo Hotel", "undo Flight"]
    assert saga.status.status_code is StatusCode.ERROR
    assert saga.status.description is not None and "step 'Car' failed: Car refused" in saga.status.description
    attributes = saga.attributes or {}
    assert (attributes["restate_saga.outcome"], attributes["restate_saga.failed_step"]) == ("compensated", "Car")
    assert _event_names(saga) == ["restate_saga.step_failed", "restate_saga.rollback"]
    assert saga.events[1].attributes is not None
    assert saga.events[1].attributes["restate_saga.compensations"] == "Hotel, Flight"
    assert tree == COMPENSATED
    assert delta == {
        "restate_saga.sagas{compensated}": 1,
        "restate_saga.saga.duration{compensated}": 1,
        "restate_saga.compensations{done,Hotel}": 1,
        "restate_saga.compensations{done,Flight}": 1,
        **STEPS_OK,
        "restate_saga.step.duration{error,Car}": 1,
    }


@pytest.mark.parametrize("service", ["Trip", "TripReplayed"])
def test_a_saga_whose_compensation_fails(bed: RestateTestBed, service: str) -> None:
    run = new_run()
    result, saga, tree, delta = _observed(bed, service, {"run": run, "fail_at": "Car", "undo_fails": "Flight"})
    assert result.status_code == 409 and "compensations that failed: 'Flight'" in result.message
    assert saga.status.status_code is StatusCode.ERROR
    assert (saga.attributes or {})["restate_saga.outcome"] == "compensation_failed"
    assert tree == [*COMPENSATED[:-1], ("compensate Flight", "ERROR", 1)]
    assert delta == {
        "restate_saga.sagas{compensation_failed}": 1,
        "restate_saga.saga.duration{compensation_failed}": 1,
        "restate_saga.compensations{done,Hotel}": 1,
        "restate_saga.compensations{failed,Flight}": 1,
        **STEPS_OK,
        "restate_saga.step.duration{error,Car}": 1,
    }


def test_replays_at_every_await_report_nothing_twice(bed: RestateTestBed, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="restate_saga"):
        result = _call(bed, "TripReplayed", {"run": new_run(), "fail_at": "Car"})
    assert result.invocation_id is not None
    # the handler did replay: the replay-observing interceptor saw Flight's step_done again and again
    assert observe_app.replays.count((result.invocation_id, "Flight")) >= 3
    _, tree = _saga_and_children(result.invocation_id)
    assert tree == COMPENSATED
    lines = [r for r in caplog.records if r.__dict__.get("invocation_id") == result.invocation_id]
    assert [(r.levelname, r.__dict__["outcome"]) for r in lines] == [("INFO", "compensated")]


def test_a_retried_attempt_has_its_own_span_with_retry_events(bed: RestateTestBed) -> None:
    _, saga, tree, delta = _observed(bed, "Trip", {"run": new_run(), "flaky": 1})
    assert saga.status.status_code is StatusCode.UNSET
    assert tree == [
        ("step Flight", "UNSET", 1),
        ("step Hotel", "UNSET", 1),
        ("step Hotel", "UNSET", 2),
        ("step Car", "UNSET", 1),
    ]
    assert saga.context is not None
    hotel = [s for s in _spans_of(str((saga.attributes or {})["restate.invocation.id"])) if s.name == "step Hotel"]
    assert _event_names(hotel[0]) == ["exception", "restate_saga.retry"]
    assert _event_names(hotel[1]) == []
    assert delta["restate_saga.step.duration{error,Hotel}"] == 1
    assert delta["restate_saga.step.duration{ok,Hotel}"] == 1


def test_a_step_whose_retries_run_out_ends_in_error(bed: RestateTestBed) -> None:
    run = new_run()
    _, saga, tree, delta = _observed(bed, "Trip", {"run": run, "flaky": 9})
    assert events(run) == ["Flight", "Hotel", "Hotel", "Hotel", "undo Flight"]
    assert tree == [
        ("step Flight", "UNSET", 1),
        ("step Hotel", "UNSET", 1),
        ("step Hotel", "UNSET", 2),
        ("step Hotel", "ERROR", 3),
        ("compensate Flight", "UNSET", 1),
    ]
    assert (saga.attributes or {})["restate_saga.failed_step"] == "Hotel"
    assert delta["restate_saga.sagas{compensated}"] == 1
    assert delta["restate_saga.step.duration{error,Hotel}"] == 3


def test_spans_join_the_callers_trace(bed: RestateTestBed) -> None:
    trace_id, parent_id = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
    result = _call(bed, "Trip", {"run": new_run()}, {"traceparent": f"00-{trace_id}-{parent_id}-01"})
    assert result.invocation_id is not None
    saga, _ = _saga_and_children(result.invocation_id)
    assert saga.context is not None and saga.parent is not None
    assert (f"{saga.context.trace_id:032x}", f"{saga.parent.span_id:016x}") == (trace_id, parent_id)


@pytest.mark.parametrize("case", [{}, {"fail_at": "Car"}, {"fail_at": "Car", "undo_fails": "Flight"}])
def test_an_interceptor_that_raises_changes_no_outcome(bed: RestateTestBed, case: dict[str, str]) -> None:
    plain_run, broken_run = new_run(), new_run()
    plain = _call(bed, "Trip", {"run": plain_run, **case})
    broken = _call(bed, "TripBroken", {"run": broken_run, **case})
    same = broken.message.replace(broken_run, plain_run).replace("TripBroken", "Trip")
    assert (broken.status_code, same) == (plain.status_code, plain.message)
    assert events(broken_run) == events(plain_run)
    assert plain.invocation_id is not None and broken.invocation_id is not None
    assert bed.run_entries(broken.invocation_id) == bed.run_entries(plain.invocation_id)
    # the OpenTelemetry interceptor after the broken one still saw everything
    assert _saga_and_children(broken.invocation_id)[1] == _saga_and_children(plain.invocation_id)[1]


def _parked_awakeable(invocation_id: str) -> str:
    deadline = time.monotonic() + 30
    while True:
        parked = [d for inv, hook, d in observe_app.seen if inv == invocation_id and hook == "escalation_parked"]
        if parked:
            return parked[0]
        assert time.monotonic() < deadline, "the saga never parked"
        time.sleep(0.05)


@pytest.mark.parametrize("service", ["EscalatingReplayed", "EscalatingWorkflow"])
def test_a_parked_compensation_is_reported_once_across_suspensions_and_replays(
    bed: RestateTestBed, service: str
) -> None:
    run = new_run()
    key = None if service == "EscalatingReplayed" else f"esc-{run}"
    before = _metrics()
    invocation = bed.send(service, "run", {"run": run, "fail_at": "Doomed"}, key=key)
    awakeable_id = _parked_awakeable(invocation)
    deadline = time.monotonic() + 30  # wait until it suspended while parked, so that answering replays it
    while bed.invocation_status(invocation)["status"] != "suspended":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    answer = bed.client.post(f"{bed.server.ingress_url}/restate/awakeables/{awakeable_id}/resolve", json="retry")
    assert answer.status_code in (200, 202), answer.text
    result = bed.attach(invocation)
    assert result.status_code == 409 and "step 'Doomed' failed" in result.message
    assert events(run) == ["Doomed", "undo Fragile attempt 1", "undo Fragile attempt 2"]
    assert [(hook, detail) for inv, hook, detail in observe_app.seen if inv == invocation] == [
        ("saga_started", ""),
        ("step_done", "Start"),
        ("step_done", "Fragile"),
        ("step_failed", "Doomed"),
        ("rollback_started", "Fragile,Start"),
        ("compensation_failed", "Fragile"),
        ("escalation_parked", awakeable_id),
        ("escalation_resumed", "retry"),
        ("compensation_done", "Fragile"),
        ("compensation_done", "Start"),
        ("saga_finished", "compensated"),
    ]
    saga, tree = _saga_and_children(invocation)
    assert tree == [
        ("step Start", "UNSET", 1),
        ("step Fragile", "UNSET", 1),
        ("step Doomed", "ERROR", 1),
        ("compensate Fragile", "ERROR", 1),
        ("compensate Fragile", "UNSET", 2),
        ("compensate Start", "UNSET", 1),
    ]
    assert _event_names(saga) == [
        "restate_saga.step_failed",
        "restate_saga.rollback",
        "restate_saga.escalation.parked",
        "restate_saga.escalation.resumed",
    ]
    delta = _delta(before, _metrics())
    assert delta["restate_saga.escalations{Fragile}"] == 1
    assert delta["restate_saga.compensations{failed,Fragile}"] == 1
    assert delta["restate_saga.compensations{done,Fragile}"] == 1
    assert delta["restate_saga.sagas{compensated}"] == 1
    if key is not None:  # the status handler (an interceptor that writes state on replays too)
        status = bed.call(service, "status", key=key).json()
        assert status == {
            "steps_done": ["Start", "Fragile"],
            "compensations_done": ["Fragile", "Start"],
            "parked": None,
        }


def test_a_parked_saga_cancelled_while_suspended_reports_its_parking_once(bed: RestateTestBed) -> None:
    run = new_run()
    invocation = bed.send("EscalatingReplayed", "run", {"run": run, "fail_at": "Doomed"})
    awakeable_id = _parked_awakeable(invocation)
    deadline = time.monotonic() + 30
    while bed.invocation_status(invocation)["status"] != "suspended":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    bed.cancel(invocation)
    result = bed.attach(invocation)
    assert result.status_code == 409 and "left undone: cancelled while parked" in result.message
    assert [(hook, detail) for inv, hook, detail in observe_app.seen if inv == invocation] == [
        ("saga_started", ""),
        ("step_done", "Start"),
        ("step_done", "Fragile"),
        ("step_failed", "Doomed"),
        ("rollback_started", "Fragile,Start"),
        ("compensation_failed", "Fragile"),
        ("escalation_parked", awakeable_id),
        ("escalation_resumed", "cancelled"),
        ("compensation_done", "Start"),
        ("saga_finished", "compensation_failed"),
    ]
