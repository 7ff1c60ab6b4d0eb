"""The binary envelope of an encrypted journal value, and the binding that ties it to its place.

Full form (every byte of the value encrypted), byte for byte::

    0xF5 | len(key id) | key id | position (uvarint) | nonce (12) | AES-GCM(value) + tag (16)

Selective form (only the values of `Secret` fields encrypted)::

    0xF6 | len(key id) | key id | position (uvarint) | nonce (12) | len(plain) (uvarint) | plain
         | AES-GCM(JSON list of the secret values) + tag (16)

`plain` is the value with each secret replaced by `"<secret:N>"`: operators still read it. The
associated data of AES-GCM is the binding (what the value belongs to: its invocation and step, or
its service, handler and key) followed by the whole header, so a value copied to another
invocation or step, or altered anywhere, fails to decrypt. The full form costs 30 bytes plus the
key id and the position's varint: at most 40 with the 1-8 character key ids a keyring allows.
Neither 0xF5 nor 0xF6 can start UTF-8 text, so an envelope is never mistaken for a JSON value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NamedTuple

from ._errors import RestateSagaError

FULL = 0xF5
SELECTIVE = 0xF6
NONCE_BYTES = 12
TAG_BYTES = 16

BindingKind = Literal["step", "input", "output", "remote-input", "remote-output", "remote-state"]
_LABELS: dict[str, bytes] = {
    kind: b"28:restate_saga/journal-value/1,%d:%s," % (len(kind), kind.encode())
    for kind in ("step", "input", "output", "remote-input", "remote-output", "remote-state")
}


def is_envelope(raw: bytes) -> bool:
    """Whether a journal value is an encrypted restate_saga envelope."""
    return len(raw) > 0 and raw[0] in (FULL, SELECTIVE)


@dataclass(frozen=True, slots=True)
class Binding:
    """What an encrypted value belongs to; its bytes are part of the associated data.

    Build one with the class methods: `step` (a step's result in one invocation), `input` and
    `output` (a saga handler's input and result), `remote_input`, `remote_output`, `remote_state`
    (a remote sub-saga's payloads and kept compensation data, by its service and object key).
    """

    kind: BindingKind
    parts: tuple[str, ...]

    @classmethod
    def step(cls, invocation_id: str, step: str) -> Binding:
        """A step's journal value (its position in the saga is in the envelope's header)."""
        return cls("step", (invocation_id, step))

    @classmethod
    def input(cls, service: str, handler: str, key: str | None = None) -> Binding:
        """A saga handler's input: its target (sealed by the caller, before Restate assigns an invocation id)."""
        return cls("input", (service, handler, key or ""))

    @classmethod
    def output(cls, invocation_id: str) -> Binding:
        """A saga handler's result."""
        return cls("output", (invocation_id,))

    @classmethod
    def remote_input(cls, service: str, object_key: str) -> Binding:
        """The input of one run of a remote sub-saga (its object key names the calling step)."""
        return cls("remote-input", (service, object_key))

    @classmethod
    def remote_output(cls, service: str, object_key: str) -> Binding:
        """The result of one run of a remote sub-saga."""
        return cls("remote-output", (service, object_key))

    @classmethod
    def remote_state(cls, service: str, object_key: str) -> Binding:
        """The compensation data a remote sub-saga keeps in its object state."""
        return cls("remote-state", (service, object_key))

    def associated_data(self, header: bytes) -> bytes:
        """The associated data: a fixed label, this binding's kind and parts (each as a netstring,
        `<length>:<utf-8 bytes>,`, so no two bindings read the same), then the envelope header."""
        data = _LABELS[self.kind]
        for part in self.parts:
            encoded = part.encode()
            data += b"%d:%s," % (len(encoded), encoded)
        return data + header

    def describe(self) -> str:
        """The value in words, for error messages (ids and names only, never data)."""
        match self.kind:
            case "step":
                return f"the journal value of step {self.parts[1]!r} (invocation {self.parts[0]})"
            case "input":
                service, handler, key = self.parts
                return f"the input of {service}{'/' + key if key else ''}.{handler}"
            case "output":
                return f"the result of invocation {self.parts[0]}"
            case "remote-input" | "remote-output" | "remote-state":
                what = {"remote-input": "input", "remote-output": "result", "remote-state": "kept state"}[self.kind]
                return f"the {what} of remote saga {self.parts[0]!r} (key {self.parts[1]})"


class Envelope(NamedTuple):
    """A parsed envelope (`parse`); a tuple, as it is built for every value read."""

    selective: bool
    key_id: str
    position: int
    nonce: bytes
    plain: bytes
    """The readable part (selective form); empty in the full form."""
    header: bytes
    """Every byte before the ciphertext (authenticated as associated data)."""
    sealed: bytes
    """The ciphertext and its tag."""


class EnvelopeFormatError(ValueError):
    """Bytes that start like an envelope but are not a well-formed one."""


def header(selective: bool, key_id: bytes, position: int, nonce: bytes, plain: bytes = b"") -> bytes:
    """The header of an envelope (everything before the ciphertext)."""
    position_bytes = bytes((position,)) if position < 0x80 else _uvarint(position)
    head = bytes((SELECTIVE if selective else FULL, len(key_id))) + key_id + position_bytes + nonce
    if selective:
        head += _uvarint(len(plain)) + plain
    return head


def parse(raw: bytes) -> Envelope:
    """Split an envelope into its parts; `EnvelopeFormatError` if it is truncated or malformed."""
    if not is_envelope(raw):
        raise EnvelopeFormatError("not an envelope")
    selective = raw[0] == SELECTIVE
    if len(raw) < 2:
        raise EnvelopeFormatError("truncated header")
    end = 2 + raw[1]
    try:
        key_id = raw[2:end].decode("ascii")
    except UnicodeDecodeError:
        raise EnvelopeFormatError("the key id is not ASCII") from None
    if len(key_id) != raw[1] or not key_id:
        raise EnvelopeFormatError("truncated key id")
    if end < len(raw) and raw[end] < 0x80:  # a position below 128: one byte
        position, at = raw[end], end + 1
    else:
        position, at = _read_uvarint(raw, end)
    nonce = raw[at : at + NONCE_BYTES]
    at += NONCE_BYTES
    if len(nonce) != NONCE_BYTES:
        raise EnvelopeFormatError("truncated nonce")
    plain = b""
    if selective:
        size, at = _read_uvarint(raw, at)
        plain = raw[at : at + size]
        at += size
        if len(plain) != size:
            raise EnvelopeFormatError("truncated readable part")
    if len(raw) - at < TAG_BYTES:
        raise EnvelopeFormatError("truncated ciphertext")
    return Envelope(selective, key_id, position, nonce, plain, raw[:at], raw[at:])


def _uvarint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _read_uvarint(raw: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if at >= len(raw) or shift > 63:
            raise EnvelopeFormatError("truncated varint")
        byte = raw[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, at
        shift += 7


class EncryptionSetupError(RestateSagaError, RuntimeError):
    """Encryption is set up wrongly for this deployment (a mistake to fix, not a failure of the saga).

    Deliberately not terminal: the invocation retries, running nothing again, until the service is
    fixed — e.g. a journaled value is encrypted but the service has no `EncryptionCodec`, or an
    encrypted remote call is served without `PAYLOAD_CHECKS_OFF`.
    """


def envelope_key_id(raw: bytes) -> str | None:
    """The key id of a well-formed envelope; None for anything else (JSON, garbage)."""
    if not is_envelope(raw):
        return None
    try:
        return parse(raw).key_id
    except EnvelopeFormatError:
        return None


def refuse_without_codec(raw: bytes, subject: str) -> None:
    """Raise `EncryptionSetupError` if `raw` is an envelope (where a value failed to decode as JSON)."""
    key_id = envelope_key_id(raw)
    if key_id is not None:
        raise EncryptionSetupError(
            f"{subject} is encrypted (key {key_id!r}), but this service has no EncryptionCodec: configure "
            "SagaWorkflowOptions(codec=EncryptionCodec(keyring)) with a keyring that holds the key"
        )
