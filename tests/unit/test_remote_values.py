"""Remote sub-saga values where journal limits, redeploys and encryption meet (on the in-process double)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import pytest
from pydantic import BaseModel
from restate import TerminalError

from restate_saga import (
    PAYLOAD_CHECKS_OFF,
    Binding,
    EncryptionCodec,
    Keyring,
    SagaCompensatedError,
    SagaWorkflowOptions,
    Secret,
    StepDataChangedError,
    StepResponse,
    create_remote_saga,
    journal_value_limit,
    remote_saga_ref,
    remote_step,
    set_journal_value_limit,
    step,
)
from restate_saga._remote import STATE_KEY
from restate_saga.testing import FakeContext

FULL = EncryptionCodec(Keyring.generate("k1"))
SECRET = "tok_SECRET_4242"
CODECS = [None, FULL]


class Replaying:
    """What the SDK's state machine answers while later journal entries remain."""

    def is_replaying(self) -> bool:
        return True


def _remote_answering(ctx: FakeContext, codec: EncryptionCodec | None, result: bytes, calls: list[str]) -> None:
    def call(
        service: str, handler: str, payload: bytes, key: str | None = None, idempotency_key: str | None = None
    ) -> Awaitable[bytes]:
        calls.append(handler)

        async def answer() -> bytes:
            if handler != "run":
                return b"[]"
            if codec is None:
                return result
            return codec.encode(lambda: result, Binding.remote_output(service, key or ""))

        return answer()

    ctx.generic_call = call  # type: ignore[method-assign]
    ctx.journal_codec = PAYLOAD_CHECKS_OFF  # type: ignore[attr-defined]


async def _after(value: object) -> None:
    return None


@pytest.mark.parametrize("codec", CODECS, ids=["plain", "encrypted"])
async def test_a_remote_result_whose_type_changed_waits_mid_replay_and_rolls_back_at_the_end(
    codec: EncryptionCodec | None,
) -> None:
    ref = remote_saga_ref("Pay", str, int)  # the callee answered a string
    pipeline = remote_step(ref, "Pay").then(step("After", _after))
    replaying, calls = FakeContext(), list[str]()
    replaying.vm = Replaying()  # type: ignore[attr-defined]
    _remote_answering(replaying, codec, b'"receipt-1"', calls)
    changed = r"step 'Pay'.*journaled result does not match the declared type int"
    with pytest.raises(StepDataChangedError, match=changed):
        await pipeline.run(replaying.as_context(), "a", codec=codec)
    assert calls == ["run"]  # no compensate call that the journal would not hold

    at_end, calls = FakeContext(), list[str]()
    _remote_answering(at_end, codec, b'"receipt-1"', calls)
    with pytest.raises(SagaCompensatedError) as raised:
        await pipeline.run(at_end.as_context(), "a", codec=codec)
    assert raised.value.failed_step == "Pay" and calls == ["run", "compensate"]


@pytest.mark.parametrize("codec", CODECS, ids=["plain", "encrypted"])
async def test_a_remote_input_over_the_limit_fails_its_step_before_the_call(codec: EncryptionCodec | None) -> None:
    default = journal_value_limit()
    set_journal_value_limit(2048)
    try:
        ctx, calls = FakeContext(), list[str]()
        _remote_answering(ctx, codec, b'"x"', calls)
        with pytest.raises(SagaCompensatedError) as raised:
            await remote_step(remote_saga_ref("Pay", str, str), "Pay").run(ctx.as_context(), "a" * 3000, codec=codec)
        assert raised.value.failed_step == "Pay" and "over the 2,048-byte limit" in raised.value.message
        assert calls == []
    finally:
        set_journal_value_limit(default)


class Card(BaseModel):
    holder: str
    token: Annotated[str, Secret]


class CardV2(BaseModel):
    holder: str
    token: Annotated[int, Secret]


@pytest.mark.parametrize("codec", CODECS, ids=["plain", "encrypted"])
async def test_kept_compensation_data_whose_type_changed_is_retried_and_never_quoted(
    codec: EncryptionCodec | None,
) -> None:
    undone: list[object] = []

    async def charge(order: str) -> StepResponse[str, Card]:
        return StepResponse("charged", compensation_data=Card(holder="h", token=SECRET))

    async def charge_v2(order: str) -> StepResponse[str, CardV2]:
        raise AssertionError("not run")

    async def refund(card: Any) -> None:
        undone.append(card)

    options = SagaWorkflowOptions(codec=codec)
    v1 = create_remote_saga("Pay", step("Charge", charge, refund), options)
    v2 = create_remote_saga("Pay", step("Charge", charge_v2, refund), options)
    ctx = FakeContext()
    ctx.object_key = "k"
    run: Callable[..., Awaitable[bytes]] = v1.handlers["run"].fn  # pyright: ignore[reportUnknownMemberType]
    payload = b'"o1"' if codec is None else codec.encode(lambda: b'"o1"', Binding.remote_input("Pay", "k"))
    ctx.journal_codec = PAYLOAD_CHECKS_OFF  # type: ignore[attr-defined]
    await run(ctx.as_context(), payload)
    assert STATE_KEY in ctx.state
    compensate: Callable[..., Awaitable[bytes]] = v2.handlers["compensate"].fn  # pyright: ignore[reportUnknownMemberType]
    with pytest.raises(StepDataChangedError) as raised:
        await compensate(ctx.as_context(), b"")
    assert not isinstance(raised.value, TerminalError)
    assert "step 'Charge'" in str(raised.value) and "field 'token'" in str(raised.value)
    assert SECRET not in str(raised.value) and undone == []
