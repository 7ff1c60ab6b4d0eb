"""Encrypted journal values on the in-process double: envelopes, bindings, keys, selective mode, errors."""

from __future__ import annotations

import base64
import json
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import pytest
from pydantic import BaseModel, Field, TypeAdapter
from restate import TerminalError

from restate_saga import (
    KEYRING_ENV,
    KEYRING_FILE_ENV,
    PAYLOAD_CHECKS_OFF,
    Binding,
    DecryptionError,
    EncryptionCodec,
    EncryptionSetupError,
    EncryptionUnavailableError,
    JournalUnreadableError,
    Keyring,
    KeyringError,
    MissingKeyError,
    ReplayBlockedError,
    SagaCompensatedError,
    Secret,
    StepResponse,
    decrypt_for_display,
    hybrid_step,
    load_keyring,
    parallel,
    step,
)
from restate_saga._envelope import parse
from restate_saga._payload_checks import require_payload_checks_off
from restate_saga._validation import input_validator, validate_json_input
from restate_saga.testing import FakeContext, FakeEntry

SECRET = "tok_SECRET_4242"
KEYS = Keyring.generate("k1")
FULL = EncryptionCodec(KEYS)
SELECTIVE = EncryptionCodec(KEYS, selective=True)
received: list[object] = []


class Card(BaseModel):
    holder: str
    token: Annotated[str, Secret, Field(repr=False)]
    cvv: Annotated[int, Secret] = 0


@dataclass(frozen=True)
class Order:
    order: str
    card: Card
    codes: list[Annotated[str, Secret]]


async def tokenize(order: str) -> Card:
    return Card(holder=f"holder of {order}", token=SECRET, cvv=123)


async def forget(card: Card) -> None:
    received.append(card)


async def charge(card: Card) -> StepResponse[str, Card]:
    return StepResponse(f"charged {card.holder}", compensation_data=card)


async def refund(card: Card) -> None:
    received.append(card)


async def refuse(value: object) -> str:
    raise TerminalError("refused", 409)


def checkout() -> Any:
    return step("Tokenize", tokenize, forget).then(step("Charge", charge, refund)).then(step("Ship", refuse))


@pytest.fixture(autouse=True)
def _clear() -> None:
    received.clear()


def _leaks(journal: list[FakeEntry]) -> list[str]:
    forms = [SECRET.encode(), base64.b64encode(SECRET.encode())[:-4]]
    return [entry.name for entry in journal for form in forms if form in (entry.value or b"")]


# --- the envelope ----------------------------------------------------------------------------------


def test_the_full_envelope_costs_30_bytes_plus_the_key_id_and_the_position() -> None:
    plain = b'{"x":"' + b"a" * 1000 + b'"}'
    for key_id, position, varint in (("k", 0, 1), ("k1", 127, 1), ("abcdefgh", 128, 2), ("abcdefgh", 16383, 2)):
        codec = EncryptionCodec(Keyring.generate(key_id))
        sealed = codec.encode(lambda: plain, Binding.step("inv_1", "S"), position)
        assert len(sealed) - len(plain) == 30 + len(key_id) + varint
        assert len(sealed) - len(plain) <= 40
        assert codec.decode(sealed, Binding.step("inv_1", "S"), bytes, position) == plain


def test_the_journal_value_limit_applies_to_the_encrypted_value() -> None:
    from restate_saga import ValueLimitError, journal_value_limit, set_journal_value_limit

    default = journal_value_limit()
    set_journal_value_limit(2048)
    try:
        fits_plain = b'"' + b"a" * 2030 + b'"'  # under the limit, but not once sealed (+33 bytes with key id "k1")
        with pytest.raises(ValueLimitError, match="its encrypted value is 2,065 bytes, over the 2,048-byte limit"):
            FULL.encode(lambda: fits_plain, Binding.step("inv_1", "S"))
        assert len(FULL.encode(lambda: fits_plain[:-40] + b'"', Binding.step("inv_1", "S"))) <= 2048
    finally:
        set_journal_value_limit(default)


def test_each_value_gets_a_fresh_nonce_and_empty_values_stay_empty() -> None:
    binding = Binding.step("inv_1", "S")
    first, second = (FULL.encode(lambda: b'"same"', binding) for _ in range(2))
    assert first != second and parse(first).nonce != parse(second).nonce
    assert FULL.encode(lambda: b"", binding) == b""


def test_keys_must_be_aes_keys_and_ids_short_enough_for_the_envelope() -> None:
    with pytest.raises(KeyringError, match="must be 16, 24 or 32 bytes long, got 7"):
        Keyring("k1", {"k1": b"1234567"})
    with pytest.raises(KeyringError, match="1-8 characters"):
        Keyring("far-too-long", {"far-too-long": bytes(32)})
    with pytest.raises(KeyringError, match="is not one of its keys"):
        Keyring("k2", {"k1": bytes(32)})


# --- sagas with encrypted journals -----------------------------------------------------------------


@pytest.mark.parametrize("codec", [FULL, SELECTIVE], ids=["full", "selective"])
async def test_a_saga_compensates_with_its_decrypted_data_and_the_journal_never_shows_the_secret(
    codec: EncryptionCodec,
) -> None:
    ctx = FakeContext()
    with pytest.raises(SagaCompensatedError, match="refused"):
        await checkout().run(ctx.as_context(), "o1", codec=codec)
    assert [entry.name for entry in ctx.journal] == [
        "Tokenize",
        "Charge",
        "Ship",
        "compensate:Charge",
        "compensate:Tokenize",
    ]
    assert received == [Card(holder="holder of o1", token=SECRET, cvv=123)] * 2
    assert _leaks(ctx.journal) == []
    replay = FakeContext(replay_from=list(ctx.journal))
    received.clear()
    with pytest.raises(SagaCompensatedError):
        await checkout().run(replay.as_context(), "o1", codec=codec)
    assert replay.executed == []  # replayed from the journal: nothing ran again
    assert [entry.value for entry in replay.journal] == [entry.value for entry in ctx.journal]


async def test_selective_mode_hides_only_the_marked_fields() -> None:
    ctx = FakeContext()
    with pytest.raises(SagaCompensatedError):
        await checkout().run(ctx.as_context(), "o1", codec=SELECTIVE)
    value = ctx.journal[0].value or b""
    envelope = parse(value)
    assert json.loads(envelope.plain) == {"holder": "holder of o1", "token": "<secret:0>", "cvv": "<secret:1>"}
    assert SECRET.encode() not in value
    shown = decrypt_for_display(value, None, Binding.step("inv_fake", "Tokenize"))
    assert json.loads(shown) == {"holder": "holder of o1", "token": "<encrypted>", "cvv": "<encrypted>"}
    revealed = decrypt_for_display(value, KEYS, Binding.step("inv_fake", "Tokenize"))
    assert json.loads(revealed) == {"holder": "holder of o1", "token": SECRET, "cvv": 123}


async def test_selective_mode_journals_a_value_without_secrets_as_it_is() -> None:
    async def plain(n: int) -> dict[str, int]:
        return {"n": n}

    ctx = FakeContext()
    await step("Plain", plain).run(ctx.as_context(), 7, codec=SELECTIVE)
    assert ctx.journal[0].value == b'{"n":7}'


class Booking(BaseModel):
    name: str
    when: Annotated[datetime, Secret]
    seats: Annotated[tuple[int, int], Secret]
    note: str = ""


@pytest.mark.parametrize("codec", [None, FULL, SELECTIVE], ids=["plain", "full", "selective"])
async def test_secrets_of_any_type_read_back_as_unmarked_values_do(codec: EncryptionCodec | None) -> None:
    booked = Booking(name="b1", when=datetime(2026, 12, 2, 12, 30), seats=(3, 4))

    async def book(name: str) -> Booking:
        return booked

    pipeline = step("Book", book)
    first = FakeContext()
    assert await pipeline.run(first.as_context(), "b1", codec=codec) == booked
    replay = FakeContext(replay_from=first.journal)
    assert await pipeline.run(replay.as_context(), "b1", codec=codec) == booked  # strict decoding, secrets back
    assert replay.executed == []


async def test_a_value_that_reads_like_a_placeholder_is_encrypted_whole_in_selective_mode() -> None:
    tricky = Booking(name='"<secret:0>"', when=datetime(2026, 1, 1), seats=(1, 2), note="<secret:1>")

    async def book(name: str) -> Booking:
        return tricky

    pipeline = step("Book", book)
    first = FakeContext()
    await pipeline.run(first.as_context(), "b1", codec=SELECTIVE)
    value = first.journal[0].value
    assert value is not None and not parse(value).selective and b"secret" not in value  # the whole value
    replay = FakeContext(replay_from=first.journal)
    assert await pipeline.run(replay.as_context(), "b1", codec=SELECTIVE) == tricky


async def test_a_secret_nested_too_deep_fails_before_it_is_journaled() -> None:
    class Deep(BaseModel):
        blob: Annotated[list[Any], Secret]

    deep: list[Any] = []
    for _ in range(250):
        deep = [deep]

    async def make(name: str) -> Deep:
        return Deep(blob=deep)

    ctx = FakeContext()
    with pytest.raises(SagaCompensatedError, match="nested more than 200 levels deep"):
        await step("Deep", make).run(ctx.as_context(), "x", codec=SELECTIVE)
    assert [entry.value for entry in ctx.journal] == [None]  # a failure entry, no value


def test_secret_marks_change_nothing_without_a_codec_and_nest() -> None:
    adapter = TypeAdapter(Order)
    order = Order("o1", Card(holder="h", token=SECRET, cvv=1), ["c1", "c2"])
    assert json.loads(adapter.dump_json(order)) == {
        "order": "o1",
        "card": {"holder": "h", "token": SECRET, "cvv": 1},
        "codes": ["c1", "c2"],
    }
    assert Card.model_json_schema()["properties"]["token"] == {"title": "Token", "type": "string"}
    assert SECRET not in repr(order.card)
    sealed = SELECTIVE.encode(lambda: adapter.dump_json(order), Binding.step("inv", "S"))
    assert SECRET.encode() not in sealed
    assert SELECTIVE.decode(sealed, Binding.step("inv", "S"), adapter.validate_json) == order
    with pytest.raises(TypeError, match="marker"):
        Secret()


async def test_rotation_keeps_old_values_readable_and_writes_new_ones_with_the_current_key() -> None:
    ctx = FakeContext()
    await step("Tokenize", tokenize).run(ctx.as_context(), "o1", codec=FULL)
    rotated = EncryptionCodec(KEYS.rotate("k2"))
    replay = FakeContext(replay_from=list(ctx.journal))
    pipeline = step("Tokenize", tokenize).then(step("Charge", charge))
    assert await pipeline.run(replay.as_context(), "o1", codec=rotated) == "charged holder of o1"
    assert [parse(entry.value or b"").key_id for entry in replay.journal] == ["k1", "k2"]


# --- values that cannot be read --------------------------------------------------------------------


async def _journal_of_a_checkout(codec: EncryptionCodec = FULL, invocation_id: str = "inv_fake") -> list[FakeEntry]:
    ctx = FakeContext(invocation_id=invocation_id)
    pipeline = step("Tokenize", tokenize, forget).then(step("Charge", charge, refund))
    await pipeline.run(ctx.as_context(), "o1", codec=codec)
    return list(ctx.journal)


async def test_a_missing_key_at_the_end_of_the_journal_ends_the_saga_naming_it_and_runs_no_compensation() -> None:
    journal = await _journal_of_a_checkout()
    ctx = FakeContext(replay_from=journal[:1])
    without = EncryptionCodec(Keyring.generate("k9"))
    pipeline = step("Tokenize", tokenize, forget).then(step("Charge", charge, refund))
    with pytest.raises(SagaCompensatedError) as raised:
        await pipeline.run(ctx.as_context(), "o1", codec=without)
    message = raised.value.message
    assert "step 'Tokenize' failed" in message and "encrypted with key 'k1'" in message and "(keys: k9)" in message
    assert raised.value.not_compensated == ("Tokenize",)
    assert isinstance(raised.value.__cause__, JournalUnreadableError)
    assert isinstance(raised.value.__cause__.cause, MissingKeyError)
    assert raised.value.__cause__.key_id == "k1"
    assert [entry.name for entry in ctx.journal] == ["Tokenize"]  # nothing journaled after it, nothing ran
    assert ctx.executed == [] and received == []
    assert SECRET not in message


async def test_in_the_middle_of_a_replay_an_unreadable_value_blocks_the_invocation_without_a_terminal_error() -> None:
    journal = await _journal_of_a_checkout()
    assert len(journal) > 1  # the unreadable first value is followed by more of the journal
    ctx = FakeContext(replay_from=journal)  # the double reports a replay as the SDK does
    pipeline = step("Tokenize", tokenize, forget).then(step("Charge", charge, refund))
    with pytest.raises(ReplayBlockedError) as raised:
        await pipeline.run(ctx.as_context(), "o1", codec=EncryptionCodec(Keyring.generate("k9")))
    assert not isinstance(raised.value, TerminalError)
    assert raised.value.key_id == "k1" and "'k1'" in str(raised.value) and "restored" in str(raised.value)
    assert ctx.executed == []


async def test_a_value_moved_to_another_invocation_or_step_fails_to_decrypt() -> None:
    journal = await _journal_of_a_checkout()
    elsewhere = FakeContext(replay_from=journal[:1], invocation_id="inv_other")
    with pytest.raises(SagaCompensatedError, match="does not authenticate under key 'k1'"):
        await step("Tokenize", tokenize, forget).run(elsewhere.as_context(), "o1", codec=FULL)
    binding = Binding.step("inv_fake", "Tokenize")
    sealed = journal[0].value or b""
    assert FULL.decode(sealed, binding, bytes, 0)
    with pytest.raises(DecryptionError, match="copied from another step"):
        FULL.decode(sealed, binding, bytes, 1)
    with pytest.raises(DecryptionError, match="does not authenticate"):
        FULL.decode(sealed, Binding.step("inv_fake", "Charge"), bytes, 0)
    altered = bytearray(sealed)
    altered[-1] ^= 1
    with pytest.raises(DecryptionError, match="altered"):
        FULL.decode(bytes(altered), binding, bytes, 0)
    with pytest.raises(DecryptionError, match="not a well-formed envelope"):
        FULL.decode(sealed[:20], binding, bytes, 0)


async def test_plaintext_is_refused_unless_allowed_while_turning_encryption_on() -> None:
    plain = FakeContext()
    await step("Tokenize", tokenize).run(plain.as_context(), "o1")
    replay = FakeContext(replay_from=list(plain.journal))
    with pytest.raises(SagaCompensatedError, match="refuses plaintext"):
        await step("Tokenize", tokenize).run(replay.as_context(), "o1", codec=FULL)
    migrating = EncryptionCodec(KEYS, accept_plaintext=True)
    replay = FakeContext(replay_from=list(plain.journal))
    card = await step("Tokenize", tokenize).run(replay.as_context(), "o1", codec=migrating)
    assert card.token == SECRET


async def test_a_service_without_the_codec_does_not_treat_an_encrypted_journal_as_a_failure() -> None:
    journal = await _journal_of_a_checkout()
    ctx = FakeContext(replay_from=journal)
    with pytest.raises(EncryptionSetupError, match=r"key 'k1'.*has no EncryptionCodec"):
        await step("Tokenize", tokenize, forget).run(ctx.as_context(), "o1")
    assert ctx.executed == []


class Stricter(BaseModel):
    holder: int
    token: Annotated[str, Secret]


async def tokenize_again(order: str) -> Stricter:
    raise AssertionError("replayed, never run")


async def test_a_changed_type_never_quotes_the_decrypted_value() -> None:
    for codec in (FULL, SELECTIVE):
        journal = await _journal_of_a_checkout(codec)
        ctx = FakeContext(replay_from=journal[:1])
        with pytest.raises(SagaCompensatedError) as raised:
            await step("Tokenize", tokenize_again).run(ctx.as_context(), "o1", codec=codec)
        assert "field 'holder'" in raised.value.message
        assert SECRET not in raised.value.message and "holder of o1" not in raised.value.message


async def test_a_hybrid_steps_unreadable_value_is_reported_as_left_undone() -> None:
    ctx = FakeContext()
    await hybrid_step("Tokenize", tokenize, forget).run(ctx.as_context(), "o1", codec=FULL)
    replay = FakeContext(replay_from=list(ctx.journal))
    with pytest.raises(SagaCompensatedError) as raised:
        await hybrid_step("Tokenize", tokenize, forget).run(
            replay.as_context(), "o1", codec=EncryptionCodec(Keyring.generate("k9"))
        )
    assert raised.value.not_compensated == ("Tokenize",) and received == []


async def test_when_a_parallel_sibling_fails_first_the_unreadable_step_is_reported_as_failed_to_undo() -> None:
    async def book(order: str) -> Card:
        return Card(holder=order, token=SECRET)

    async def fails(order: str) -> Card:
        raise TerminalError("sold out", 409)

    first = FakeContext()
    group = parallel(step("Sibling", fails, forget), step("Book", book, forget))
    with pytest.raises(SagaCompensatedError):
        await group.run(first.as_context(), "o1", codec=FULL)
    replay = FakeContext(replay_from=[entry for entry in first.journal if not entry.name.startswith("compensate:")])
    received.clear()
    with pytest.raises(SagaCompensatedError) as raised:
        await group.run(replay.as_context(), "o1", codec=EncryptionCodec(Keyring.generate("k9")))
    assert [f.step for f in raised.value.compensation_failures] == ["Book"]
    assert "left undone" in raised.value.compensation_failures[0].reason and "'k1'" in raised.value.message
    assert received == []


# --- the caller's side, inputs, operators' view ----------------------------------------------------


def test_a_sealed_input_opens_only_for_its_target() -> None:
    sealed = FULL.seal_input("Vault", "run", Card(holder="h", token=SECRET))
    assert SECRET.encode() not in sealed
    opened = FULL.decode(sealed, Binding.input("Vault", "run"), bytes)
    assert json.loads(opened)["token"] == SECRET
    with pytest.raises(DecryptionError, match=r"the input of Vault/k\.run"):
        FULL.decode(sealed, Binding.input("Vault", "run", "k"), bytes, status_code=400)
    validator = input_validator(Card)
    assert validator is not None
    with pytest.raises(Exception, match=r"malformed JSON.*encrypted value \(key 'k1'\), but this handler does not"):
        validate_json_input("Other.run", validator, sealed)
    with pytest.raises(Exception, match="malformed JSON") as garbage:
        validate_json_input("Other.run", validator, b"\xf5")
    assert "encrypted" not in str(garbage.value)


def test_a_result_is_opened_by_the_caller_with_the_invocation_id() -> None:
    sealed = SELECTIVE.encode(
        lambda: TypeAdapter(Card).dump_json(Card(holder="h", token=SECRET)), Binding.output("inv_9")
    )
    assert json.loads(SELECTIVE.open_output(sealed, "inv_9")) == {"holder": "h", "token": SECRET, "cvv": 0}
    with pytest.raises(DecryptionError):
        SELECTIVE.open_output(sealed, "inv_8")


def test_display_without_a_keyring_shows_encrypted_and_never_raises() -> None:
    binding = Binding.step("inv_1", "S")
    sealed = FULL.encode(lambda: b'{"token":"x"}', binding)
    assert decrypt_for_display(sealed, None, binding) == "<encrypted>"
    assert decrypt_for_display(sealed, KEYS, binding) == '{"token":"x"}'
    assert (
        decrypt_for_display(sealed, Keyring.generate("k2"), binding) == "<encrypted with key 'k1': not in the keyring>"
    )
    assert "does not authenticate" in decrypt_for_display(sealed, KEYS, Binding.step("inv_2", "S"))
    assert decrypt_for_display(b'{"plain":1}', None, binding) == '{"plain":1}'
    assert decrypt_for_display(sealed[:9], KEYS, binding).startswith("<encrypted: not a well-formed envelope")


# --- keyrings --------------------------------------------------------------------------------------


def test_a_keyring_round_trips_through_json_and_never_shows_its_keys() -> None:
    rotated = KEYS.rotate("k2")
    assert rotated.current == "k2" and rotated.key_ids == ("k2", "k1")
    assert Keyring.from_json(rotated.to_json()) == rotated
    assert base64.b64encode(rotated.keys["k1"]).decode() not in repr(rotated)
    assert repr(rotated) == "Keyring(current='k2', keys=['k2', 'k1'])"
    assert rotated.retire("k1").key_ids == ("k2",)
    with pytest.raises(KeyringError, match="current key; rotate"):
        rotated.retire("k2")
    with pytest.raises(KeyringError, match="already in use"):
        rotated.rotate("k1")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not JSON"),
        ("[]", "expected an object"),
        ('{"current": "k1"}', "field 'keys' must be a non-empty object"),
        ('{"keys": {"k1": "AAAA"}}', "field 'current' must be a key id"),
        ('{"current": "k1", "keys": {"k1": "!!"}}', "keys.k1 is not valid base64"),
        ('{"current": "k1", "keys": {"k1": "AAAA"}}', "key 'k1' must be 16, 24 or 32 bytes long, got 3"),
        ('{"current": "k1", "keys": {"k1": "AAAA"}, "extra": 1}', "unknown field"),
    ],
)
def test_a_malformed_keyring_is_refused_naming_the_field(text: str, message: str) -> None:
    with pytest.raises(KeyringError, match=message) as raised:
        Keyring.from_json(text, "keyring file 'k.json'")
    assert str(raised.value).startswith("keyring file 'k.json'")


def test_operator_tools_load_a_keyring_from_a_file_or_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    path.write_text(KEYS.to_json())
    assert load_keyring(path, env={}) == KEYS
    assert load_keyring(env={KEYRING_ENV: KEYS.to_json()}) == KEYS
    assert load_keyring(env={KEYRING_FILE_ENV: str(path)}) == KEYS
    assert load_keyring(env={}) is None
    with pytest.raises(KeyringError, match="cannot be read"):
        load_keyring(tmp_path / "missing.json")
    with pytest.raises(KeyringError, match=f"\\${KEYRING_ENV}: not JSON"):
        load_keyring(env={KEYRING_ENV: "{"})


# --- setup ---------------------------------------------------------------------------------------


def test_without_cryptography_the_codec_fails_at_startup_naming_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "cryptography.hazmat.primitives.ciphers.aead", None)
    with pytest.raises(EncryptionUnavailableError, match=r"restate_saga\[encryption\]"):
        EncryptionCodec(KEYS)
    assert isinstance(EncryptionUnavailableError("x"), ImportError)


async def test_payload_checks_off_changes_no_value_and_is_required_for_encrypted_commands() -> None:
    assert PAYLOAD_CHECKS_OFF.encode(b"abc") == b"abc"
    assert await PAYLOAD_CHECKS_OFF.decode(b"abc") == b"abc"

    @dataclass
    class Served:
        vm: object = None
        journal_codec: object = None

    with pytest.raises(EncryptionSetupError, match="PAYLOAD_CHECKS_OFF"):
        require_payload_checks_off(Served(vm=object()), "the input of remote saga 'Payment'")
    require_payload_checks_off(Served(vm=object(), journal_codec=PAYLOAD_CHECKS_OFF), "x")
    require_payload_checks_off(FakeContext(), "x")


# --- interceptors ------------------------------------------------------------------------------


@pytest.mark.parametrize("codec", [FULL, SELECTIVE], ids=["full", "selective"])
async def test_interceptors_see_the_attempt_as_it_was_while_the_journal_gets_it_encrypted(
    codec: EncryptionCodec,
) -> None:
    from restate_saga import Proceed, SagaInterceptor, StepAttempt

    seen: list[tuple[str, str]] = []

    class Watch(SagaInterceptor):
        async def step_attempt(self, attempt: StepAttempt, proceed: Proceed) -> None:
            try:
                await proceed()
            except Exception as error:
                seen.append((attempt.step, type(error).__name__))
                raise
            seen.append((attempt.step, "ok"))

    async def decline(card: Card) -> StepResponse[str, Card]:
        return StepResponse.permanent_failure("card declined", card)

    ctx = FakeContext()
    pipeline = step("Tokenize", tokenize, forget).then(hybrid_step("Charge", decline, refund))
    with pytest.raises(SagaCompensatedError, match="card declined"):
        await pipeline.run(ctx.as_context(), "o1", codec=codec, interceptors=[Watch()])
    assert seen == [("Tokenize", "ok"), ("Charge", "StepFailedError")]  # the permanent failure, decrypted
    assert all(parse(entry.value).key_id == "k1" for entry in ctx.journal[:2] if entry.value)
    assert _leaks(ctx.journal) == []
    assert received == [Card(holder="holder of o1", token=SECRET, cvv=123)] * 2
