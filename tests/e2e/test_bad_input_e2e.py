"""Property tests: malformed, mistyped, incomplete and over-complete inputs are refused with a 400.

Each bad input must end the invocation with a terminal error whose status is 400 (not 500) and
whose message names the offending field, before any step runs: the journal holds no run entry.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from restate_saga.testing import RestateTestBed
from tests.ledger import events, new_run

FIELDS = ("run", "customer_id", "quantity", "address")
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=8))
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def valid(run: str) -> dict[str, Any]:
    return {"run": run, "customer_id": "c-1", "quantity": 2, "address": {"street": "Main", "zip_code": 12345}}


def assert_refused(bed: RestateTestBed, raw: bytes, *fields: str) -> str:
    result = bed.call("StrictInput", "run", raw=raw)
    assert result.status_code == 400, (raw, result.status_code, result.body)
    assert "invalid input for StrictInput.run" in result.message
    for field in fields:
        assert repr(field) in result.message, (field, result.message)
    assert result.invocation_id is not None
    assert bed.run_entries(result.invocation_id) == []
    return result.message


@PROPERTY
@given(st.binary(min_size=1, max_size=40))
def test_malformed_json_is_refused(bed: RestateTestBed, raw: bytes) -> None:
    try:
        json.loads(raw)
    except ValueError:
        assert "malformed JSON" in assert_refused(bed, raw)
    # bytes that happen to be valid JSON are covered by the type tests below


@PROPERTY
@given(st.sampled_from(FIELDS[1:]), json_values)
def test_wrong_types_are_refused_naming_the_field(bed: RestateTestBed, field: str, value: Any) -> None:
    run = new_run()
    payload = valid(run)
    payload[field] = value
    ok = (
        (field == "customer_id" and isinstance(value, str) and len(value) >= 1)
        or (field == "quantity" and isinstance(value, int) and not isinstance(value, bool) and value >= 1)
        or (field == "quantity" and isinstance(value, float) and value.is_integer() and value >= 1)
        or (field == "quantity" and isinstance(value, bool) and value)
        or (field == "address" and isinstance(value, dict))
    )
    if ok:
        return
    assert_refused(bed, json.dumps(payload).encode(), field)
    assert events(run) == []


@PROPERTY
@given(st.lists(st.sampled_from(FIELDS), min_size=1, unique=True))
def test_missing_fields_are_refused_naming_each(bed: RestateTestBed, missing: list[str]) -> None:
    run = new_run()
    payload = {k: v for k, v in valid(run).items() if k not in missing}
    assert_refused(bed, json.dumps(payload).encode(), *missing)
    assert events(run) == []


@PROPERTY
@given(
    st.dictionaries(
        st.text(min_size=1, max_size=6).filter(lambda k: k not in FIELDS), json_values, min_size=1, max_size=3
    )
)
def test_extra_fields_are_refused_naming_them(bed: RestateTestBed, extra: dict[str, Any]) -> None:
    run = new_run()
    payload = {**valid(run), **extra}
    assert_refused(bed, json.dumps(payload).encode(), *extra)
    assert events(run) == []


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(st.sampled_from(["street", "zip_code", "extra"]), json_values, max_size=3))
def test_bad_step_input_is_a_400_naming_the_step_and_compensates_earlier_steps(
    bed: RestateTestBed, address: dict[str, Any]
) -> None:
    good = (
        set(address) == {"street", "zip_code"}
        and isinstance(address["street"], str)
        and address["street"] != ""
        and isinstance(address["zip_code"], int)
        and not isinstance(address["zip_code"], bool)
        and 1000 <= address["zip_code"] <= 99999
    )
    if good:
        return
    run = new_run()
    payload = {**valid(run), "address": address}
    result = bed.call("StrictInput", "run", payload)
    assert result.status_code == 400, result.body
    assert "invalid input for step 'ShipTo'" in result.message
    assert events(run) == ["ReserveStock", "undo ReserveStock"]
    assert result.invocation_id is not None
    assert bed.run_entries(result.invocation_id) == ["ReserveStock", "compensate:ReserveStock"]
