"""Journal values read back strictly, upgraded, or refused; values beyond the limits refused before journaling.

Unit level, on the codec and on `FakeContext` replays; `tests/infra/test_redeploy.py` and
`tests/infra/test_hostile_values.py` show the same on a real server.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, JsonValue

from restate_saga import (
    JournalValueMismatchError,
    SagaCompensatedError,
    StepDataChangedError,
    StepDefinitionError,
    StepResponse,
    ValueLimitError,
    journal_value_limit,
    run_saga,
    set_journal_value_limit,
    step,
)
from restate_saga._codec import MAX_NESTING, StepCodec, Unreadable
from restate_saga.testing import FakeContext, FakeEntry


class Receipt(BaseModel):
    order_id: str
    amount: int


class ReceiptWithCurrency(Receipt):
    currency: str


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")
    order_id: str


@dataclass(frozen=True)
class Booking:
    booking_id: str
    seats: int = 1


def codec(output: object, data: object = None, **upgrades: Any) -> StepCodec:
    return StepCodec("Reserve", output, output if data is None else data, True, **upgrades)


def test_a_value_reads_back_as_its_type() -> None:
    c = codec(Receipt)
    decoded = c.decode(c.encode(Receipt(order_id="o1", amount=3)))
    assert decoded.mismatch is None
    assert decoded.output == Receipt(order_id="o1", amount=3)


def test_values_are_never_coerced_into_another_kind_of_value() -> None:
    decoded = codec(Receipt).decode(b'{"order_id": "o1", "amount": "42"}')
    assert decoded.mismatch is not None
    assert decoded.mismatch.problems == "field 'amount': Input should be a valid integer"
    assert codec(int).decode(b"true").mismatch is not None  # a lax decoder would read 1
    assert codec(float).decode(b"3").output == 3.0  # an int is a float without loss


def test_removed_fields_are_ignored_and_new_defaulted_fields_take_their_default() -> None:
    assert codec(Booking).decode(b'{"booking_id": "b1", "gone": true}').output == Booking("b1", 1)
    forbidden = codec(Strict).decode(b'{"order_id": "o1", "gone": true}')
    assert (
        forbidden.mismatch is not None and "field 'gone': Extra inputs are not permitted" in forbidden.mismatch.problems
    )


def test_a_new_required_field_is_a_mismatch_that_names_the_field() -> None:
    decoded = codec(ReceiptWithCurrency).decode(b'{"order_id": "o1", "amount": 3}')
    mismatch = decoded.mismatch
    assert isinstance(mismatch, JournalValueMismatchError)
    assert mismatch.step == "Reserve" and mismatch.what == "output" and mismatch.type_name == "ReceiptWithCurrency"
    assert "field 'currency': Field required" in str(mismatch)
    assert decoded.has_data and isinstance(decoded.data, Unreadable)  # its undo cannot be given its data


def test_an_upgrade_runs_only_for_values_that_do_not_validate() -> None:
    calls: list[JsonValue] = []

    def upgrade(old: JsonValue) -> object:
        calls.append(old)
        assert isinstance(old, dict)
        return {**old, "currency": "EUR"}

    c = codec(ReceiptWithCurrency, upgrade_output=upgrade)
    assert c.decode(b'{"order_id": "o1", "amount": 3}').output == ReceiptWithCurrency(
        order_id="o1", amount=3, currency="EUR"
    )
    assert c.decode(b'{"order_id": "o2", "amount": 4, "currency": "USD"}').output.currency == "USD"
    assert calls == [{"order_id": "o1", "amount": 3}]


def test_an_upgrade_that_fails_or_returns_a_wrong_value_is_reported() -> None:
    def broken(old: JsonValue) -> object:
        raise KeyError("price")

    raised = codec(ReceiptWithCurrency, upgrade_output=broken).decode(b'{"order_id": "o1", "amount": 3}')
    assert raised.mismatch is not None and "its upgrade function raised KeyError" in raised.mismatch.problems
    assert "price" not in raised.mismatch.problems  # what an upgrade's error quotes may be a secret
    wrong = codec(ReceiptWithCurrency, upgrade_output=lambda old: {"order_id": "o1"}).decode(b'{"order_id": "o1"}')
    assert wrong.mismatch is not None and "after its upgrade function: field 'amount'" in wrong.mismatch.problems


def test_compensation_data_journaled_apart_is_read_on_its_own() -> None:
    c = codec(ReceiptWithCurrency, str)
    old = b'@[{"order_id": "o1", "amount": 3}, "reservation-7"]'
    decoded = c.decode(old)
    assert decoded.mismatch is not None and decoded.mismatch.what == "output"
    assert decoded.data == "reservation-7" and decoded.has_data  # the undo still gets its real data
    unreadable = codec(Receipt, ReceiptWithCurrency).decode(b'@[{"order_id": "o1", "amount": 3}, {"x": 1}]')
    assert unreadable.mismatch is not None and unreadable.mismatch.what == "compensation data"
    assert isinstance(unreadable.data, Unreadable)
    nothing_to_undo = codec(ReceiptWithCurrency).decode(b'~{"order_id": "o1", "amount": 3}')
    assert nothing_to_undo.mismatch is not None and not nothing_to_undo.has_data


@pytest.fixture
def small_limit() -> Iterator[int]:
    default = journal_value_limit()
    set_journal_value_limit(2048)
    yield 2048
    set_journal_value_limit(default)


def test_a_value_over_the_limit_is_refused_naming_the_size_and_the_limit(small_limit: int) -> None:
    with pytest.raises(ValueLimitError, match=r"its output is 3,00\d bytes, over the 2,048-byte limit") as raised:
        codec(str).encode("x" * 3000)
    assert raised.value.limit == small_limit and raised.value.kind == "bytes"
    with pytest.raises(ValueLimitError, match="its output is"):  # the whole journal value counts
        codec(str).encode(StepResponse("small", compensation_data="x" * 3000))
    assert codec(str).encode("x" * 2000) == b'"' + b"x" * 2000 + b'"'
    with pytest.raises(ValueError, match="1 KiB"):
        set_journal_value_limit(10)


def _nested(depth: int) -> Any:
    value: Any = 0
    for _ in range(depth):
        value = [value]
    return value


def test_a_value_nested_deeper_than_the_decoder_reads_is_refused() -> None:
    with pytest.raises(ValueLimitError, match=f"nested more than {MAX_NESTING} levels deep"):
        codec(Any).encode(_nested(MAX_NESTING + 20))
    with pytest.raises(ValueLimitError, match=f"its output is nested more than {MAX_NESTING} levels deep"):
        codec(Any).encode(_nested(MAX_NESTING + 100))  # past what pydantic serializes at all
    ok = codec(Any)
    assert ok.decode(ok.encode(_nested(MAX_NESTING - 1))).output == _nested(MAX_NESTING - 1)
    assert ok.encode(["[" * 500]) == b'["' + b"[" * 500 + b'"]'  # brackets inside strings are not nesting


def test_many_shallow_brackets_with_compensation_data_are_not_mistaken_for_deep_nesting() -> None:
    wide = [{"n": [i]} for i in range(MAX_NESTING)]  # 400 brackets, 3 levels deep
    c = codec(list[dict[str, list[int]]], str)
    encoded = c.encode(StepResponse(wide, compensation_data="undo"))
    assert encoded[:1] == b"@"  # output and compensation data journaled apart, behind a marker
    assert c.decode(encoded).output == wide and c.decode(encoded).data == "undo"


def test_with_upgrade_applies_to_single_steps_only() -> None:
    async def reserve(order: str) -> Receipt:
        return Receipt(order_id=order, amount=1)

    single = step("Reserve", reserve)
    assert single.with_upgrade(lambda old: old).name == "Reserve"
    assert single.with_timeout(timedelta(seconds=1)).with_upgrade(lambda old: old).name == "Reserve"
    with pytest.raises(StepDefinitionError, match="needs an output or compensation_data upgrade"):
        single.with_upgrade()
    async def pay(receipt: Receipt) -> Receipt:
        return receipt

    with pytest.raises(StepDefinitionError, match="applies to a single step"):
        single.then(step("Pay", pay)).with_upgrade(lambda old: old)


# --- replays on the in-process double ---------------------------------------------------------------

undone: list[str] = []


async def open_order(order: str) -> str:
    return order


async def close_order(order: str) -> None:
    undone.append(f"close {order}")


async def reserve_v2(order: str) -> ReceiptWithCurrency:
    return ReceiptWithCurrency(order_id=order, amount=1, currency="EUR")


async def release(receipt: ReceiptWithCurrency) -> None:
    undone.append(f"release {receipt.order_id}")


async def finish(receipt: ReceiptWithCurrency) -> str:
    return receipt.currency


V2 = step("Open", open_order, close_order).then(step("Reserve", reserve_v2, release)).then(step("Finish", finish))
WRITTEN_BY_V1 = [FakeEntry("Open", b'"o1"'), FakeEntry("Reserve", b'{"order_id": "o1", "amount": 1}')]


async def test_a_mismatch_that_ends_the_journal_rolls_the_saga_back() -> None:
    undone.clear()
    ctx = FakeContext(replay_from=list(WRITTEN_BY_V1))
    with pytest.raises(SagaCompensatedError) as raised:
        await run_saga(ctx.as_context(), V2, "o1")
    assert raised.value.failed_step == "Reserve"
    assert [f.step for f in raised.value.compensation_failures] == ["Reserve"]
    assert "not run: its journaled output does not match" in raised.value.compensation_failures[0].reason
    assert undone == ["close o1"]  # Open undone; Reserve's undo could not be given its data
    assert [e.name for e in ctx.journal] == ["Open", "Reserve", "compensate:Reserve", "compensate:Open"]


async def test_a_mismatch_with_later_entries_journaled_waits_for_an_upgrade() -> None:
    undone.clear()
    later = [*WRITTEN_BY_V1, FakeEntry("Finish", b'"EUR"')]
    with pytest.raises(StepDataChangedError, match="field 'currency': Field required") as raised:
        await run_saga(FakeContext(replay_from=list(later)).as_context(), V2, "o1")
    assert not isinstance(raised.value, SagaCompensatedError) and raised.value.step == "Reserve"
    assert undone == []  # nothing rolled back, nothing run again
    upgraded = step("Open", open_order, close_order).then(
        step("Reserve", reserve_v2, release).with_upgrade(lambda old: {**_object(old), "currency": "GBP"})
    )
    assert (await run_saga(FakeContext(replay_from=list(WRITTEN_BY_V1)).as_context(), upgraded, "o1")).currency == "GBP"


def _object(value: JsonValue) -> dict[str, JsonValue]:
    assert isinstance(value, dict)
    return value
