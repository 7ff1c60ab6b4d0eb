"""Definitions end to end: a mismatch between adjacent steps is refused when built, before it can be
served (it used to reach the caller as a 400), and links whose types fit run on a real server."""

from __future__ import annotations

import pytest

from restate_saga import StepDefinitionError
from restate_saga.testing import RestateTestBed
from tests.e2e.definitions_app import mismatched


def test_a_mismatch_between_adjacent_steps_is_refused_when_built() -> None:
    with pytest.raises(StepDefinitionError) as raised:
        mismatched()
    assert str(raised.value) == (
        "step 'Ship' cannot follow step 'CreateRushOrder': its input 'payment' is Payment, "
        "but 'CreateRushOrder' returns RushOrder"
    )


def test_links_whose_types_fit_run_and_only_a_bad_request_is_a_400(bed: RestateTestBed) -> None:
    result = bed.call("LinkedTypes", "run", {"customer": "ada"})
    assert result.status_code == 200, result.body
    assert result.json() == "pay-order-ada by bike"
    assert result.invocation_id is not None
    assert bed.run_entries(result.invocation_id) == ["CreateRushOrder", "Charge", "ReceiptFields", "Issue"]

    refused = bed.call("LinkedTypes", "run", {"client": "ada"})
    assert refused.status_code == 400
    assert "invalid input for LinkedTypes.run" in refused.message and "'customer'" in refused.message
    assert refused.invocation_id is not None
    assert bed.run_entries(refused.invocation_id) == []
