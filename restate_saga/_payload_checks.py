"""`PAYLOAD_CHECKS_OFF`: serve encrypted remote sub-sagas on an endpoint that does not compare payloads.

On a replay, Restate's SDK compares each command it issues again with the journaled one, payload
included. Encryption takes a fresh nonce every time, so the payload of a remote call (and the
state a remote saga keeps) differs on each replay even though its plaintext is the same. The SDK
stops comparing payloads when the endpoint has a journal value codec; this one changes no value
and only serves that purpose:

    restate.app(services=[...], journal_value_codec=restate_saga.PAYLOAD_CHECKS_OFF)
"""

from __future__ import annotations

from typing import final

from restate import JournalValueCodec

from ._envelope import EncryptionSetupError


@final
class PayloadChecksOff(JournalValueCodec):
    """A journal value codec that changes nothing: with it the SDK compares no payloads on replay."""

    def encode(self, buf: bytes) -> bytes:
        """The value, unchanged."""
        return buf

    async def decode(self, buf: bytes) -> bytes:
        """The value, unchanged."""
        return buf


PAYLOAD_CHECKS_OFF = PayloadChecksOff()
"""Pass as `restate.app(..., journal_value_codec=PAYLOAD_CHECKS_OFF)` to serve encrypted remote sub-sagas."""


def require_payload_checks_off(ctx: object, what: str) -> None:
    """Refuse to issue an encrypted command payload on an endpoint that compares payloads on replay.

    Raised before the command is issued, on its first execution, so nothing is left half-done.
    A context without the SDK's machinery (a test double) passes.
    """
    if getattr(ctx, "vm", None) is not None and getattr(ctx, "journal_codec", None) is None:
        raise EncryptionSetupError(
            f"{what} is encrypted with a fresh nonce, so it differs on every replay, and this endpoint compares "
            "command payloads on replay: serve it with "
            "restate.app(services=[...], journal_value_codec=restate_saga.PAYLOAD_CHECKS_OFF)"
        )
