"""Oversized and hostile values against a real restate-server.

The server here runs with 1 MB message, per-invocation memory and request limits (instead of
32 MiB) so that the values stay small, and restate_saga's journal value limit is set to match.
Every value beyond a limit must end in a clear terminal error that names the step (or handler) and
the limit, with the saga rolled back, the action run once (no retry loop that repeats it), and no
oversized entry in the journal.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Iterator

import pytest
import restate

from restate_saga import journal_value_limit, set_journal_value_limit
from restate_saga._codec import DEFAULT_VALUE_LIMIT, MAX_NESTING
from restate_saga.testing import RestateTestBed, find_restate_server
from tests.infra import values_app
from tests.ledger import events, new_run

SERVER_LIMIT = 1_000_000
LIMIT = SERVER_LIMIT - 64 * 1024
TOO_BIG = 1_500_000  # over the message size limit, which the server applies with 256 KiB of slack
SERVER_ENV = {
    "RESTATE_WORKER__INVOKER__MESSAGE_SIZE_LIMIT": str(SERVER_LIMIT),
    "RESTATE_WORKER__INVOKER__PER_INVOCATION_MEMORY_LIMIT": str(SERVER_LIMIT),
    "RESTATE_INGRESS__REQUEST_SIZE_LIMIT": str(SERVER_LIMIT),
}


@pytest.fixture(scope="module")
def bed() -> Iterator[RestateTestBed]:
    default = journal_value_limit()
    set_journal_value_limit(LIMIT)
    try:
        with RestateTestBed(restate.app(services=values_app.services), server_env=SERVER_ENV) as test_bed:
            yield test_bed
    finally:
        set_journal_value_limit(default)


def _largest_entry(bed: RestateTestBed, invocation: str | None) -> int:
    assert invocation is not None
    return max(entry.raw_length or 0 for entry in bed.journal(invocation))


def test_an_output_over_the_limit_fails_its_step_once_and_rolls_back(bed: RestateTestBed) -> None:
    run = new_run()
    result = bed.call("HybridValues", "run", {"run": run, "kind": "huge output", "size": TOO_BIG})
    assert result.status_code == 500
    assert re.search(
        rf"step 'Produce' failed: its output is 1,5\d\d,\d\d\d bytes, over the {LIMIT:,}-byte limit of one journal",
        result.message,
    ), result.message
    assert "set_journal_value_limit" in result.message
    # ran once; its own (hybrid) undo and the earlier step's undo ran; nothing else
    assert events(run) == ["Open", "Produce huge output", "undo Produce failed=True", "undo Open"]
    assert result.invocation_id is not None
    assert bed.run_entries(result.invocation_id) == ["Open", "Produce", "compensate:Produce", "compensate:Open"]
    assert _largest_entry(bed, result.invocation_id) < 10_000


def test_a_strict_step_over_the_limit_is_not_undone_but_earlier_steps_are(bed: RestateTestBed) -> None:
    run = new_run()
    result = bed.call("StrictValues", "run", {"run": run, "kind": "huge output", "size": TOO_BIG})
    assert result.status_code == 500
    assert "step 'ProduceStrict' failed: its output is" in result.message
    # a strict step registers its undo only after a success: make steps with big outputs hybrid
    assert events(run) == ["Open", "ProduceStrict huge output", "undo Open"]


def test_compensation_data_over_the_limit_fails_its_step(bed: RestateTestBed) -> None:
    run = new_run()
    result = bed.call("UndoDataValues", "run", {"run": run, "size": TOO_BIG})
    assert result.status_code == 500
    assert "step 'HugeUndoData' failed: its output is" in result.message
    assert f"over the {LIMIT:,}-byte limit" in result.message
    assert events(run) == ["Open", "HugeUndoData", "undo Open"]
    assert _largest_entry(bed, result.invocation_id) < 10_000


def test_an_output_nested_too_deep_fails_its_step_once_and_rolls_back(bed: RestateTestBed) -> None:
    run = new_run()
    result = bed.call("HybridValues", "run", {"run": run, "kind": "deep output", "depth": MAX_NESTING + 50})
    assert result.status_code == 500
    assert f"step 'Produce' failed: its output is nested more than {MAX_NESTING} levels deep" in result.message
    assert events(run) == ["Open", "Produce deep output", "undo Produce failed=True", "undo Open"]


def test_values_within_the_limits_pass_intact(bed: RestateTestBed) -> None:
    run = new_run()
    huge = bed.call("HybridValues", "run", {"run": run, "kind": "huge output", "size": LIMIT - 1000})
    assert huge.ok, huge.message
    assert huge.json()["blob_length"] == LIMIT - 1000
    assert _largest_entry(bed, huge.invocation_id) > LIMIT - 1000
    deep = bed.call("HybridValues", "run", {"run": run, "kind": "deep output", "depth": MAX_NESTING - 10})
    assert deep.ok, deep.message
    assert events(run) == ["Open", "Produce huge output", "Finish", "Open", "Produce deep output", "Finish"]


def test_a_remote_step_input_over_the_limit_fails_before_the_call(bed: RestateTestBed) -> None:
    run = new_run()
    result = bed.call("RemoteValues", "run", {"run": run, "size": TOO_BIG})
    assert result.status_code == 500
    assert "step 'Pay' failed: its input is" in result.message
    assert f"over the {LIMIT:,}-byte limit" in result.message
    assert events(run) == ["Open", "undo Open"]  # the remote saga never started
    assert result.invocation_id is not None
    assert "Command: Call" not in [entry.entry_type for entry in bed.journal(result.invocation_id)]


def test_a_saga_result_over_the_limit_rolls_the_saga_back(bed: RestateTestBed) -> None:
    run = new_run()
    result = bed.call("ResultValues", "run", {"run": run, "size": TOO_BIG})
    assert result.status_code == 500
    assert "ResultValues.run: its result is" in result.message
    assert events(run) == ["Open", "Result", "undo Open"]


def _invocations(bed: RestateTestBed) -> int:
    rows = bed.sql("SELECT count(*) AS n FROM sys_invocation WHERE target_service_name = 'HybridValues'")
    return int(rows[0]["n"])


def test_an_input_over_the_ingress_limit_is_refused_before_anything_starts(bed: RestateTestBed) -> None:
    before = _invocations(bed)
    payload = json.dumps({"run": new_run(), "kind": "", "pad": "x" * TOO_BIG}).encode()
    result = bed.call("HybridValues", "run", raw=payload)
    assert result.status_code == 413, result.body[:300]
    assert _invocations(bed) == before


@pytest.mark.parametrize("depth", [MAX_NESTING + 50, 100_000])
def test_an_input_nested_too_deep_is_refused_with_400(bed: RestateTestBed, depth: int) -> None:
    payload = b'{"run": "deep", "kind": "", "x": ' + b"[" * depth + b"]" * depth + b"}"
    result = bed.call("HybridValues", "run", raw=payload)
    assert result.status_code == 400, result.body[:300]
    assert f"malformed JSON: nested more than {MAX_NESTING} levels deep" in result.message
    assert result.invocation_id is not None
    assert bed.run_entries(result.invocation_id) == []  # no step ran


def test_without_the_limit_the_server_would_refuse_the_value_and_rerun_the_action(bed: RestateTestBed) -> None:
    """Why restate_saga checks sizes itself: restate-server refuses the oversized message and retries the
    invocation, so the action runs again and again (until the invocation is paused)."""
    run = new_run()
    set_journal_value_limit(100 * SERVER_LIMIT)
    try:
        invocation = bed.send("StrictValues", "run", {"run": run, "kind": "huge output", "size": TOO_BIG})
        deadline = time.monotonic() + 30
        while events(run).count("ProduceStrict huge output") < 2:
            assert time.monotonic() < deadline, events(run)
            time.sleep(0.05)
        status = bed.invocation_status(invocation)
        assert "message size limit" in str(status.get("last_failure")), status
        bed.client.patch(f"{bed.server.admin_url}/invocations/{invocation}/kill").raise_for_status()
    finally:
        set_journal_value_limit(LIMIT)


def _setting(config: str, section: str, key: str) -> str:
    block = config.split(f"[{section}]", 1)[1].split("\n[", 1)[0]
    found = re.search(rf'^{re.escape(key)} = "([^"]+)"', block, re.MULTILINE)
    assert found, (section, key)
    return found.group(1)


def _bytes(text: str) -> int:
    number, unit = text.split()
    return int(float(number) * {"KiB": 1024, "MiB": 1024**2, "GiB": 1024**3}[unit])


def test_the_default_limit_stays_below_the_servers_default_limits() -> None:
    config = subprocess.run(
        [str(find_restate_server()), "--dump-config"], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    message = _bytes(_setting(config, "worker.invoker", "message-size-limit"))
    memory = _bytes(_setting(config, "worker.invoker", "per-invocation-memory-limit"))
    assert DEFAULT_VALUE_LIMIT == min(message, memory) - 64 * 1024
