"""`EncryptionCodec`: AES-GCM encryption of journal values, with key rotation and selective mode.

The codec wraps the bytes restate_saga would journal anyway (`_codec.StepCodec`, handler input
and output, remote payloads and state) in a binary envelope (`_envelope`): nothing else about a
value changes, and no journal entry is added. `cryptography` (the `encryption` extra) is imported
when a codec is built, so a missing extra fails at startup, never inside a step.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from pydantic_core import from_json, to_json
from restate import TerminalError

from ._codec import adapter_for, check_nesting, check_size
from ._envelope import Binding, EnvelopeFormatError, header, is_envelope, parse
from ._errors import RestateSagaError, StepFailedError
from ._keyring import Keyring, KeyringError
from ._secrets import fill_placeholders, placeholders_are_exact, taking_out_secrets

T = TypeVar("T")


class _Aead(Protocol):
    """What the codec needs of `cryptography`'s `AESGCM`."""

    def encrypt(self, nonce: bytes, data: bytes, associated_data: bytes | None) -> bytes: ...
    def decrypt(self, nonce: bytes, data: bytes, associated_data: bytes | None) -> bytes: ...


EXTRA = "encryption"


class EncryptionUnavailableError(RestateSagaError, ImportError):
    """`cryptography` is not installed: install the `encryption` extra."""


class DecryptionError(RestateSagaError, TerminalError):
    """A journal value cannot be decrypted: altered, copied from another invocation or step, or not
    encrypted where it must be. The message names the value and the key id, never its content."""

    def __init__(self, subject: str, reason: str, key_id: str | None, status_code: int = 500) -> None:
        super().__init__(f"{subject} cannot be decrypted: {reason}", status_code)
        self.subject = subject
        self.reason = reason
        self.key_id = key_id


class MissingKeyError(DecryptionError):
    """A journal value is encrypted with a key that is not in the keyring; `key_id` names it."""

    def __init__(self, subject: str, key_id: str, known: tuple[str, ...], status_code: int = 500) -> None:
        super().__init__(
            subject,
            f"it is encrypted with key {key_id!r}, which is not in the keyring (keys: {', '.join(known)}); "
            f"add key {key_id!r} back to the keyring as a decrypt-only key",
            key_id,
            status_code,
        )


class JournalUnreadableError(StepFailedError):
    """A step's journaled value cannot be decrypted, and it is the newest entry of the journal.

    The saga ends here, terminally, and runs no compensation: each one would be journaled after
    this value, and a later replay (with the key back, or still missing) could not follow that
    journal. Every step done so far is reported as left undone; `cause` says why.
    """

    def __init__(self, step: str, cause: DecryptionError) -> None:
        super().__init__(
            step,
            f"its journal value cannot be decrypted: {cause.reason}. No compensation can run in this invocation "
            "(it would be journaled after this value): the steps done so far are left undone",
        )
        self.cause = cause
        self.key_id = cause.key_id


class ReplayBlockedError(RestateSagaError, RuntimeError):
    """A journaled value cannot be decrypted while the invocation replays its journal.

    Deliberately not terminal: Restate can only end an invocation by following its journal to
    the end, and the saga cannot go on without this value. So the invocation fails this attempt,
    runs nothing again (every action up to here is journaled), and Restate retries it, then
    pauses it by its retry policy. Restore the key and resume it: it continues where it was, and
    compensates with the right data if it has to. Or kill it: its completed steps then stay done.
    """

    def __init__(self, cause: DecryptionError) -> None:
        super().__init__(
            f"{cause.message}. The invocation's journal goes on past this value, so it cannot end here: "
            "it retries without running any action again (and pauses by its retry policy) until the key is "
            "restored; or kill it, leaving its completed steps undone"
        )
        self.cause = cause
        self.key_id = cause.key_id


@dataclass(frozen=True, slots=True, eq=False)
class EncryptionCodec:
    """Encrypts journal values with AES-GCM under the keyring's current key; decrypts with any key.

    - `selective=False` (default): every non-empty journal value is encrypted (step results and
      compensation data, remote sub-saga payloads and kept state). `selective=True`: only the
      values of fields marked `Secret`; the rest stays readable, and a value without secrets is
      journaled as it is.
    - `encrypt_io=True`: also the saga handler's input and result. Restate journals the input
      before the service sees it, so the caller seals it (`seal_input`) and reads the result
      with `open_output`.
    - `accept_plaintext=True`: also read values that are not encrypted (while turning encryption
      on under in-flight invocations); by default one is refused as tampered (`DecryptionError`).

    Configure the same codec (or keyrings sharing the keys) on every service that reads another's
    values: a saga and its remote sub-sagas, callers that seal inputs.
    """

    keyring: Keyring
    selective: bool = False
    encrypt_io: bool = False
    accept_plaintext: bool = False
    _ciphers: Mapping[str, _Aead] = field(init=False, repr=False, compare=False)
    _current_id: bytes = field(init=False, repr=False, compare=False)
    _current: _Aead = field(init=False, repr=False, compare=False)
    _invalid_tag: type[Exception] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            from cryptography.exceptions import InvalidTag
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        except ImportError as error:
            raise EncryptionUnavailableError(
                f"EncryptionCodec needs the `cryptography` package: pip install 'restate_saga[{EXTRA}]'"
            ) from error
        if not isinstance(self.keyring, Keyring):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise KeyringError(f"EncryptionCodec(keyring=...) must be a Keyring, got {type(self.keyring).__name__}")
        ciphers: dict[str, _Aead] = {key_id: AESGCM(key) for key_id, key in self.keyring.keys.items()}
        object.__setattr__(self, "_ciphers", ciphers)
        object.__setattr__(self, "_current_id", self.keyring.current.encode("ascii"))
        object.__setattr__(self, "_current", ciphers[self.keyring.current])
        object.__setattr__(self, "_invalid_tag", InvalidTag)

    # -- the service side --------------------------------------------------------------------

    def encode(self, dump: Callable[[], bytes], binding: Binding, position: int = 0) -> bytes:
        """The journal value for `dump()`'s bytes, encrypted for `binding` (and a step's position)."""
        plain, secrets = self.take_out(dump)
        return self.seal(plain, secrets, binding, position)

    def take_out(self, dump: Callable[[], bytes]) -> tuple[bytes, list[object] | None]:
        """`dump()`'s bytes and, in selective mode, the secret values taken out of them (`encode`'s
        first half: the plaintext can be looked at before `seal` encrypts it)."""
        if not self.selective:
            return dump(), None
        with taking_out_secrets() as secrets:
            plain = dump()
        if secrets and not placeholders_are_exact(plain, [to_json(secret) for secret in secrets]):
            return dump(), None  # a value that reads like a placeholder: encrypted whole instead
        return plain, secrets

    def seal(self, plain: bytes, secrets: list[object] | None, binding: Binding, position: int = 0) -> bytes:
        """`encode`'s second half: the envelope of what `take_out` returned (secrets None: the
        whole value is encrypted)."""
        if not self.selective or secrets is None:
            if not plain:  # nothing to hide (an output of None, a compensation's empty value)
                return plain
            nonce = os.urandom(12)
            head = header(False, self._current_id, position, nonce)
            return _sized(head + self._current.encrypt(nonce, plain, binding.associated_data(head)))
        if not secrets:
            return plain
        check_nesting(fill_placeholders(plain, [to_json(secret) for secret in secrets]), "value")
        nonce = os.urandom(12)
        head = header(True, self._current_id, position, nonce, plain)
        return _sized(head + self._current.encrypt(nonce, to_json(secrets), binding.associated_data(head)))

    def decode(
        self,
        raw: bytes,
        binding: Binding,
        load: Callable[[bytes], T],
        position: int = 0,
        status_code: int = 500,
    ) -> T:
        """`load` applied to the decrypted value (secrets put back in selective mode).

        Raises `MissingKeyError` or `DecryptionError` (terminal, with `status_code`).
        """
        if not is_envelope(raw):
            if raw and not self.selective and not self.accept_plaintext:
                raise DecryptionError(
                    binding.describe(),
                    "it is not encrypted, and this EncryptionCodec refuses plaintext values "
                    "(set accept_plaintext=True while turning encryption on under in-flight invocations)",
                    None,
                    status_code,
                )
            return load(raw)
        plain, secrets = self.open(raw, binding, position, status_code)
        if secrets is None:
            return load(plain)
        return load(fill_placeholders(plain, [to_json(secret) for secret in secrets]))

    def open(
        self, raw: bytes, binding: Binding, position: int | None = None, status_code: int = 500
    ) -> tuple[bytes, list[object] | None]:
        """Decrypt an envelope: (plaintext, None) in the full form, (readable part, secrets) in the
        selective one. `position`, when given, must be the one the value was written for."""
        try:
            envelope = parse(raw)
        except EnvelopeFormatError as error:
            raise DecryptionError(
                binding.describe(), f"it is not a well-formed envelope ({error})", None, status_code
            ) from None
        key_id = envelope.key_id
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise MissingKeyError(binding.describe(), key_id, self.keyring.key_ids, status_code)
        if position is not None and envelope.position != position:
            raise DecryptionError(
                binding.describe(),
                f"it was written for step position {envelope.position}, not {position}: "
                "it was copied from another step",
                key_id,
                status_code,
            )
        try:
            opened = cipher.decrypt(envelope.nonce, envelope.sealed, binding.associated_data(envelope.header))
        except self._invalid_tag:
            raise DecryptionError(
                binding.describe(),
                f"it does not authenticate under key {key_id!r}: it was altered, or copied from another "
                "invocation, step or service (or the key's bytes changed under the same id)",
                key_id,
                status_code,
            ) from None
        if not envelope.selective:
            return opened, None
        secrets: object = from_json(opened)
        if not isinstance(secrets, list):
            raise DecryptionError(binding.describe(), "its secret part is not a list", key_id, status_code)
        return envelope.plain, list(secrets)  # pyright: ignore[reportUnknownArgumentType]

    def reveal(self, raw: bytes, binding: Binding, position: int | None = None) -> bytes:
        """The value's plaintext bytes, secrets filled in (the caller-side and display counterpart of
        `decode`, for when no types are at hand)."""
        if not is_envelope(raw):
            return raw
        plain, secrets = self.open(raw, binding, position)
        if secrets is None:
            return plain
        return fill_placeholders(plain, [to_json(secret) for secret in secrets])

    # -- the caller side ----------------------------------------------------------------------

    def seal_input(
        self,
        service: str,
        handler: str,
        value: object,
        *,
        key: str | None = None,
        input_type: object | None = None,
    ) -> bytes:
        """The request body that calls `service.handler` (`key`: the object or workflow key) with an
        encrypted input, for a saga service configured with `encrypt_io=True`.

        The input is bound to its target: it does not decrypt for another service, handler or key.
        (Restate assigns the invocation id only once the request is in, so a sealed input can be sent
        to the same target again, as its plaintext could.) `input_type` is the handler's declared
        type (default: the value's).
        """
        adapter = adapter_for(type(value) if input_type is None else input_type)

        def dump() -> bytes:
            return b"" if value is None else adapter.dump_json(value, warnings="error")

        return self.encode(dump, Binding.input(service, handler, key))

    def open_output(self, raw: bytes, invocation_id: str) -> bytes:
        """The JSON result of a saga invocation that encrypts its result (`encrypt_io=True`);
        `invocation_id` is its id (the `x-restate-id` response header)."""
        return self.reveal(raw, Binding.output(invocation_id))


def _sized(sealed: bytes) -> bytes:
    """`sealed`, if it still fits in one journal value (encryption adds up to 40 bytes)."""
    check_size(sealed, "encrypted value")
    return sealed
