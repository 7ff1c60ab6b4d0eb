"""Encrypted journals on a real restate-server, forced to replay at every await (inactivity timeout 0).

One server and one service process for the module; tests restart the process (SIGKILL) with the
keyring they need. Secrets carry `MARKER`, which must never be found in `sys_journal`, `state` or
`sys_invocation`, neither plain, nor hex, nor base64 (at any alignment), nor as the byte arrays of
`entry_json`.
"""

from __future__ import annotations

import base64
import json
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from restate_saga import KEYRING_ENV, Binding, EncryptionCodec, Keyring, decrypt_for_display
from restate_saga._envelope import parse
from restate_saga.testing import AppProcess, AppThread, RestateServer, RestateTestBed, register_deployment
from tests.crypto.shared import MARKER, init_ledger

ROOT = Path(__file__).resolve().parents[2]
K1 = Keyring.generate("k1")
K2 = K1.rotate("k2")  # k2 current, k1 kept to decrypt
K3_ONLY = Keyring.generate("k3")  # neither k1 nor k2
SERVER_ENV = {
    "RESTATE_WORKER__INVOKER__INACTIVITY_TIMEOUT": "0s",
    "RESTATE_DEFAULT_RETRY_POLICY__INITIAL_INTERVAL": "100ms",
    "RESTATE_DEFAULT_RETRY_POLICY__MAX_INTERVAL": "1s",
}


@dataclass
class Stack:
    server: RestateServer
    app: AppProcess
    bed: RestateTestBed
    ledger: str
    keyring: Keyring

    def use(self, keyring: Keyring) -> None:
        """SIGKILL the service and start it again with `keyring` (nothing is done when it already has it)."""
        if keyring is self.keyring:
            return
        self.app.kill()
        self.app.env[KEYRING_ENV] = keyring.to_json()
        self.app.start()
        self.keyring = keyring

    def query(self, sql: str, *args: object) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.ledger, timeout=10) as db:
            return db.execute(sql, args).fetchall()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    ledger = str(tmp_path_factory.mktemp("crypto") / "ledger.db")
    init_ledger(ledger)
    app = AppProcess("tests.crypto.crypto_app:app", env={"SAGA_LEDGER": ledger, KEYRING_ENV: K1.to_json()}, cwd=ROOT)
    with RestateServer(env=SERVER_ENV) as server:
        app.start()
        try:
            register_deployment(server.admin_url, app.url)
            bed = RestateTestBed.attached(server, call_timeout=120)
            yield Stack(server, app, bed, ledger, K1)
            bed.close()
        finally:
            app.stop()


# --- looking for the marker ----------------------------------------------------------------------


def _forms(marker: bytes) -> list[bytes]:
    """The marker plain, in hex, and in (url-safe) base64 at each of the three byte alignments."""
    forms = [marker, marker.hex().encode(), marker.hex().upper().encode()]
    for shift in range(3):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            encoded = encode(b"\0" * shift + marker + b"\0\0")
            forms.append(encoded[-(-shift * 8 // 6) : (shift + len(marker)) * 8 // 6])
    return forms


FORMS = _forms(MARKER.encode())


def _blobs(row: dict[str, Any]) -> list[bytes]:
    """Every way a row can show bytes: its JSON text, its hex columns decoded, its byte arrays joined."""
    blobs = [json.dumps(row).encode()]
    for value in row.values():
        if isinstance(value, str):
            try:
                blobs.append(bytes.fromhex(value))
            except ValueError:
                pass
            try:
                parsed = json.loads(value)
            except ValueError:
                continue
            blobs.extend(_byte_arrays(parsed))
    return blobs


def _byte_arrays(node: object) -> Iterator[bytes]:
    if isinstance(node, list) and node and all(isinstance(x, int) and 0 <= x < 256 for x in node):
        yield bytes(node)
    elif isinstance(node, list):
        for item in node:
            yield from _byte_arrays(item)
    elif isinstance(node, dict):
        for item in node.values():
            yield from _byte_arrays(item)


def _exposures(rows: list[dict[str, Any]]) -> list[str]:
    return [
        f"{row.get('id') or row.get('service_name')}#{row.get('index', '')}: {form!r}"
        for row in rows
        for blob in _blobs(row)
        for form in FORMS
        if form in blob
    ]


def _wait(condition: Callable[[], bool], what: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _run_values(bed: RestateTestBed, invocation: str) -> dict[str, bytes]:
    """Each `Run` entry's journaled value, by entry name."""
    names: dict[int, str] = {}
    values: dict[str, bytes] = {}
    for row in bed.journal_rows(invocation):
        entry = json.loads(row["entry_json"] or "{}")
        command = entry.get("Command", {}).get("Run")
        if command is not None:
            names[command["completion_id"]] = command["name"]
        completion = entry.get("Notification", {}).get("Completion", {}).get("Run")
        if completion is not None and "Success" in completion["result"]:
            values[names[completion["completion_id"]]] = bytes(completion["result"]["Success"])
    return values


def _invocations(bed: RestateTestBed, service: str) -> list[str]:
    return [row["id"] for row in bed.sql(f"SELECT id FROM sys_invocation WHERE target_service_name = '{service}'")]


def _reached_promise(stack: Stack, saga: str, invocation: str) -> bool:
    if not stack.query("SELECT 1 FROM effects WHERE saga = ? AND effect = 'authorize'", saga):
        return False
    return any("Promise" in entry.entry_type for entry in stack.bed.journal(invocation))


def _undone(stack: Stack, saga: str) -> dict[str, dict[str, Any]]:
    return {step: json.loads(data) for step, data in stack.query("SELECT step, data FROM undone WHERE saga = ?", saga)}


def _effects(stack: Stack, saga: str) -> list[str]:
    return sorted(effect for (effect,) in stack.query("SELECT effect FROM effects WHERE saga = ?", saga))


# --- the tests -------------------------------------------------------------------------------------


def test_the_search_finds_the_marker_in_every_form() -> None:
    marker = MARKER.encode()
    for shift in range(3):
        padded = b"x" * shift + marker + b"tail"
        rows = [
            {"id": "a", "entry_json": json.dumps({"v": list(padded)})},
            {"id": "b", "raw": padded.hex()},
            {"id": "c", "value": base64.b64encode(padded).decode()},
            {"id": "d", "value": base64.urlsafe_b64encode(padded).decode()},
        ]
        assert len({found.split("#")[0] for found in _exposures(rows)}) == 4, shift
    assert _exposures([{"id": "e", "value": "nothing to see"}]) == []


def test_secrets_stay_out_of_the_journal_and_state_and_the_sagas_compensate_with_them(stack: Stack) -> None:
    stack.use(K1)
    bed = stack.bed
    checkouts = {"co-ok": "ship", "co-fail": "fail"}
    started = {saga: bed.send("Checkout", "run", {"saga": saga}, key=saga) for saga in checkouts}
    for saga, decision in checkouts.items():
        _wait(lambda saga=saga: _reached_promise(stack, saga, started[saga]), f"{saga} at its promise")
        assert bed.call("Checkout", "go", decision, key=saga).ok
    ok, failed = bed.attach(started["co-ok"]), bed.attach(started["co-fail"])
    assert ok.status_code == 200, ok.body
    assert ok.json() == {"saga": "co-ok", "last4": "4242"}
    assert failed.status_code == 409, failed.body
    assert "checkout co-fail refused" in failed.message
    # the compensations got their data back (decrypted from the journal and the remote saga's state)
    undone = _undone(stack, "co-fail")
    assert undone["Ship"]["token"] == f"{MARKER}-card-co-fail"
    assert undone["Authorize"]["code"] == f"{MARKER}-auth-co-fail"
    assert undone["Tokenize"]["token"] == f"{MARKER}-card-co-fail"
    assert _effects(stack, "co-fail") == ["authorize", "ship", "tokenize", "undo tokenize", "unship", "void"]
    assert _effects(stack, "co-ok") == ["authorize", "ship", "tokenize"]
    runs = Counter(saga for (saga,) in stack.query("SELECT saga FROM handler_runs"))
    assert runs["co-ok"] > 1 and runs["co-fail"] > 1  # replayed (inactivity timeout 0), nothing ran twice

    # encrypt_io: the caller seals the input and opens the result
    codec = EncryptionCodec(K1)
    deposit = {"saga": "vault-1", "account": f"{MARKER}-account"}
    body = codec.seal_input("Vault", "run", deposit)
    vault = bed.call("Vault", "run", raw=body)
    assert vault.status_code == 200, vault.body
    assert vault.invocation_id is not None and MARKER.encode() not in vault.body
    assert json.loads(codec.open_output(vault.body, vault.invocation_id)) == deposit
    elsewhere = bed.call("VaultCopy", "run", raw=body)  # sealed for another target
    assert elsewhere.status_code == 400 and "cannot be decrypted" in elsewhere.message, elsewhere.body
    assert "VaultCopy" not in _effects(stack, "vault-1")
    plain = bed.call("Vault", "run", {"saga": "vault-plain", "account": "public"})
    assert plain.status_code == 400 and "refuses plaintext" in plain.message, plain.body

    # selective mode: the marked field is hidden, the rest stays readable
    profile = bed.call("Profile", "run", {"saga": "p-1", "name": "Ada-PUBLIC"})
    assert profile.status_code == 200, profile.body
    assert profile.json() == "verified Ada-PUBLIC-enriched"
    assert profile.invocation_id is not None
    enriched = _run_values(bed, profile.invocation_id)["Enrich"]
    assert b'"name":"Ada-PUBLIC-enriched"' in enriched and b'"ssn":"<secret:0>"' in enriched
    shown = decrypt_for_display(enriched, None, Binding.step(profile.invocation_id, "Enrich"))
    assert json.loads(shown) == {"saga": "p-1", "name": "Ada-PUBLIC-enriched", "ssn": "<encrypted>", "fail": False}
    revealed = decrypt_for_display(enriched, K1, Binding.step(profile.invocation_id, "Enrich"))
    assert json.loads(revealed)["ssn"] == f"{MARKER}-ssn-p-1"
    refused = bed.call("Profile", "run", {"saga": "p-2", "name": "Bob-PUBLIC", "fail": True})
    assert refused.status_code == 422, refused.body
    assert _undone(stack, "p-2")["Enrich"]["ssn"] == f"{MARKER}-ssn-p-2"

    services = ("Checkout", "Payment", "Vault", "VaultCopy", "Profile")
    journal = [
        row
        for service in services
        for invocation in _invocations(bed, service)
        for row in bed.sql(f"SELECT * FROM sys_journal WHERE id = '{invocation}'")
    ]
    assert len(journal) > 40
    state = bed.sql("SELECT * FROM state")
    assert any(row["service_name"] == "Payment" for row in state)  # kept compensation data, encrypted
    invocations = bed.sql(
        "SELECT * FROM sys_invocation WHERE target_service_name IN ('Checkout', 'Payment', 'Vault', 'Profile')"
    )
    assert _exposures(journal) == []
    assert _exposures(state) == []
    assert _exposures(invocations) == []
    control = bed.call("Plain", "run", "control")  # the same search does see an unencrypted journal
    assert control.ok and control.invocation_id is not None
    assert _exposures(bed.sql(f"SELECT * FROM sys_journal WHERE id = '{control.invocation_id}'")) != []


def test_a_sigkill_in_the_middle_of_encrypted_sagas_loses_and_repeats_nothing(stack: Stack) -> None:
    stack.use(K1)
    bed = stack.bed
    sagas = {f"kill-{i}": ("S2" if i % 3 == 0 else "") for i in range(9)}
    invocations = {saga: bed.send("Chain", "run", {"saga": saga, "fail_at": fail}) for saga, fail in sagas.items()}
    _wait(
        lambda: len(stack.query("SELECT 1 FROM attempts WHERE step IN ('S1', 'S2')")) >= 8,
        "sagas in the middle of their steps",
    )
    stack.app.kill()  # SIGKILL, with steps in flight
    done_before = len(stack.query("SELECT 1 FROM effects WHERE saga LIKE 'kill-%'"))
    stack.app.start()
    results = {saga: bed.attach(invocation) for saga, invocation in invocations.items()}
    for saga, fail in sagas.items():
        result = results[saga]
        if fail:
            assert result.status_code == 409, (saga, result.body)
            assert _effects(stack, saga) == ["S1", "undo S1"], saga
            assert _undone(stack, saga)["S1"]["secret"] == f"{MARKER}-S1-{saga}"  # the right data, decrypted
        else:
            assert result.ok and result.json() == {"saga": saga, "steps": 2}, (saga, result.body)
            assert _effects(stack, saga) == ["S1", "S2"], saga
        assert bed.run_entries(invocations[saga]) == (["S1", "S2", "compensate:S1"] if fail else ["S1", "S2"])
    assert done_before < 2 * len(sagas)  # the kill hit sagas that had not finished


def test_rotating_the_key_under_in_flight_sagas_lets_them_finish_with_their_old_data(stack: Stack) -> None:
    stack.use(K1)
    bed = stack.bed
    decisions = {"rot-ship": "ship", "rot-fail": "fail"}
    started = {saga: bed.send("Checkout", "run", {"saga": saga}, key=saga) for saga in decisions}
    for saga in decisions:
        _wait(lambda saga=saga: _reached_promise(stack, saga, started[saga]), f"{saga} at its promise")
    stack.use(K2)  # restart the service: k2 is current now, k1 only decrypts
    for saga, decision in decisions.items():
        assert bed.call("Checkout", "go", decision, key=saga).ok
    shipped, failed = bed.attach(started["rot-ship"]), bed.attach(started["rot-fail"])
    assert shipped.status_code == 200 and shipped.json() == {"saga": "rot-ship", "last4": "4242"}, shipped.body
    assert failed.status_code == 409, failed.body
    undone = _undone(stack, "rot-fail")  # written under k1 (Tokenize, Authorize) and k2 (Ship), all read back
    assert undone["Tokenize"]["token"] == undone["Ship"]["token"] == f"{MARKER}-card-rot-fail"
    assert undone["Authorize"]["code"] == f"{MARKER}-auth-rot-fail"
    values = _run_values(bed, started["rot-ship"])
    assert parse(values["Tokenize"]).key_id == "k1"  # journaled before the rotation
    assert parse(values["Ship"]).key_id == "k2"  # and after it
    assert _effects(stack, "rot-ship") == ["authorize", "ship", "tokenize"]


def test_a_missing_key_in_the_middle_of_a_replay_blocks_the_saga_until_the_key_is_back(stack: Stack) -> None:
    stack.use(K2)
    bed = stack.bed
    saga = "blocked"
    invocation = bed.send("Checkout", "run", {"saga": saga}, key=saga)
    _wait(lambda: _reached_promise(stack, saga, invocation), "the checkout at its promise")
    stack.use(K3_ONLY)  # neither k1 nor k2
    assert bed.call("Checkout", "go", "fail", key=saga).ok
    failure = ""

    def blocked() -> bool:
        nonlocal failure
        failure = str(bed.invocation_status(invocation).get("last_failure") or "")
        return "ReplayBlockedError" in failure or "cannot be decrypted" in failure

    _wait(blocked, "the replay to stop at the missing key")
    assert "'k2'" in failure and "Tokenize" in failure, failure
    assert not [form for form in FORMS if form in failure.encode()]
    status = bed.invocation_status(invocation)
    assert status["status"] != "completed", status
    assert _effects(stack, saga) == ["authorize", "tokenize"]  # nothing ran again, nothing new ran
    stack.use(K2)  # the key is back: the saga continues and compensates with the data it journaled
    result = bed.attach(invocation)
    assert result.status_code == 409, result.body
    assert _effects(stack, saga) == ["authorize", "ship", "tokenize", "undo tokenize", "unship", "void"]
    assert _undone(stack, saga)["Authorize"]["code"] == f"{MARKER}-auth-{saga}"


def _restart_as_new(stack: Stack, invocation: str, from_index: int) -> str:
    answer = stack.bed.client.patch(
        f"{stack.server.admin_url}/invocations/{invocation}/restart-as-new", params={"from": from_index}
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["new_invocation_id"])


def test_a_missing_key_at_the_end_of_a_journal_fails_terminally_and_a_moved_value_fails_to_decrypt(
    stack: Stack,
) -> None:
    stack.use(K2)
    bed = stack.bed
    done = bed.call("Chain", "run", {"saga": "tail", "fail_at": ""})
    assert done.ok and done.invocation_id is not None, done.body
    first_step = next(e.index for e in bed.journal(done.invocation_id) if e.name == "S1")

    # the journal of a new invocation that holds this one's first step: a value moved to another invocation
    moved = _restart_as_new(stack, done.invocation_id, first_step)
    result = bed.attach(moved)
    assert result.status_code == 500, result.body
    assert "step 'S1' failed" in result.message and "does not authenticate under key 'k2'" in result.message
    assert "copied from another invocation" in result.message
    assert "left undone after the rollback stopped: 'S1'" in result.message  # reported, not attempted
    assert bed.run_entries(moved) == ["S1"]  # nothing journaled after the unreadable value
    assert _effects(stack, "tail") == ["S1", "S2"]  # nothing ran again
    assert not stack.query("SELECT 1 FROM attempts WHERE invocation = ?", moved)

    stack.use(K3_ONLY)  # the same, with the key gone: a terminal error that names it
    missing = _restart_as_new(stack, done.invocation_id, first_step)
    result = bed.attach(missing)
    assert result.status_code == 500, result.body
    assert "encrypted with key 'k2', which is not in the keyring (keys: k3)" in result.message, result.message
    assert "left undone after the rollback stopped: 'S1'" in result.message
    assert bed.invocation_status(missing)["status"] == "completed"
    assert not stack.query("SELECT 1 FROM attempts WHERE invocation = ?", missing)
    assert not [form for form in FORMS if form in result.body]


def test_an_encrypted_remote_call_on_an_endpoint_that_compares_payloads_is_refused_before_it_is_sent(
    stack: Stack,
) -> None:
    import restate

    from restate_saga import SagaWorkflowOptions, create_remote_saga, create_saga_workflow, remote_step, step

    async def echo(value: str) -> str:
        return value

    options = SagaWorkflowOptions(codec=EncryptionCodec(K1))
    callee = create_remote_saga("EchoRemote", step("Echo", echo), options)
    caller = create_saga_workflow("EchoCaller", remote_step(callee), options)
    with AppThread(restate.app(services=[caller, callee])) as served:  # no PAYLOAD_CHECKS_OFF
        register_deployment(stack.server.admin_url, served.url)
        invocation = stack.bed.send("EchoCaller", "run", "hello")
        failure = ""

        def refused() -> bool:
            nonlocal failure
            failure = str(stack.bed.invocation_status(invocation).get("last_failure") or "")
            return "PAYLOAD_CHECKS_OFF" in failure

        _wait(refused, "the refusal")
        assert "EncryptionSetupError" in failure or "differs on every replay" in failure, failure
        assert _invocations(stack.bed, "EchoRemote") == []  # the call was never sent
        stack.bed.client.patch(f"{stack.server.admin_url}/invocations/{invocation}/kill").raise_for_status()


def test_operators_read_encrypted_values_with_a_keyring_and_see_encrypted_without(stack: Stack, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from restate_saga.admin import SagaAdmin
    from restate_saga.cli import cli_app

    stack.use(K1)
    bed, url = stack.bed, stack.server.admin_url
    saga = "ops-1"
    checkout = bed.send("Checkout", "run", {"saga": saga}, key=saga)
    _wait(lambda: _reached_promise(stack, saga, checkout), "the checkout at its promise")
    assert bed.call("Checkout", "go", "fail", key=saga).ok
    assert bed.attach(checkout).status_code == 409
    profile = bed.call("Profile", "run", {"saga": "ops-p", "name": "Eve-PUBLIC"})
    sealed = EncryptionCodec(K1).seal_input("Vault", "run", {"saga": "ops-v", "account": f"{MARKER}-acct"})
    vault = bed.call("Vault", "run", raw=sealed)
    assert profile.invocation_id and vault.ok and vault.invocation_id

    with SagaAdmin(url, keyring=K1) as admin:
        shown = admin.get(checkout)
        values = {step.name: step.value or "" for step in shown.steps}
        assert f"{MARKER}-card-{saga}" in values["Tokenize"]
        assert f"{MARKER}-auth-{saga}" in values["Payment"]  # a remote sub-saga's result
        enriched = next(s.value for s in admin.get(profile.invocation_id).steps if s.name == "Enrich") or ""
        assert f"{MARKER}-ssn-ops-p" in enriched and "Eve-PUBLIC-enriched" in enriched
        opened = admin.get(vault.invocation_id)
        assert opened.input is not None and f"{MARKER}-acct" in opened.input
        assert opened.output is not None and f"{MARKER}-acct" in opened.output
    with SagaAdmin(url) as admin:  # no keyring
        shown = admin.get(checkout)
        assert {step.name: step.value for step in shown.steps}["Tokenize"] == "<encrypted>"
        enriched = next(s.value for s in admin.get(profile.invocation_id).steps if s.name == "Enrich") or ""
        assert '"ssn":"<encrypted>"' in enriched and "Eve-PUBLIC-enriched" in enriched
        assert admin.get(vault.invocation_id).input == "<encrypted>"
    with SagaAdmin(url, keyring=K3_ONLY) as admin:
        value = {step.name: step.value for step in admin.get(checkout).steps}["Tokenize"]
        assert value == "<encrypted with key 'k1': not in the keyring>"

    keyring_file = tmp_path / "keyring.json"
    keyring_file.write_text(K1.to_json())
    runner = CliRunner()
    base = ["show", checkout, "--admin", url]
    with_file = runner.invoke(cli_app(), [*base, "--keyring", str(keyring_file), "--json"], env={KEYRING_ENV: ""})
    assert with_file.exit_code == 0, with_file.output
    assert f"{MARKER}-card-{saga}" in with_file.stdout
    from_env = runner.invoke(cli_app(), base, env={KEYRING_ENV: K1.to_json()})
    assert from_env.exit_code == 0 and f"{MARKER}-card-{saga}" in from_env.stdout, from_env.output
    without = runner.invoke(cli_app(), [*base, "--json"], env={KEYRING_ENV: ""})
    assert without.exit_code == 0 and "<encrypted>" in without.stdout and MARKER not in without.stdout
    keyring_file.write_text("{not json")
    broken = runner.invoke(cli_app(), [*base, "--keyring", str(keyring_file)], env={KEYRING_ENV: ""})
    assert broken.exit_code == 1 and broken.output.startswith("error: keyring file"), broken.output
    assert "Traceback" not in broken.output
