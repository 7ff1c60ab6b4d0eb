"""Journal values as operators read them: decrypted with a keyring, or `<encrypted>` without one."""

from __future__ import annotations

import functools

from ._encryption import DecryptionError, EncryptionCodec, MissingKeyError
from ._envelope import Binding, EnvelopeFormatError, is_envelope, parse
from ._keyring import Keyring
from ._secrets import ENCRYPTED, fill_placeholders


@functools.lru_cache(maxsize=8)
def _reader(keyring: Keyring) -> EncryptionCodec:
    return EncryptionCodec(keyring, accept_plaintext=True)


def decrypt_for_display(raw: bytes, keyring: Keyring | None, binding: Binding, *others: Binding) -> str:
    """A journal (or state) value as text for an operator; never raises for a value it cannot read.

    - a value that is not encrypted: its text, unchanged;
    - without a keyring: `<encrypted>` for a fully encrypted value; in selective mode the readable
      part, each secret shown as `"<encrypted>"`;
    - with a keyring: the decrypted value (secrets filled in), or `<encrypted with key 'k1': ...>`
      saying why it cannot be decrypted (the key is not in the keyring, it does not authenticate).

    `binding` says what the value belongs to, e.g. `Binding.step(invocation_id, entry_name)` for a
    step's `Run` entry, `Binding.output(invocation_id)` for a saga's result,
    `Binding.remote_state(service, key)` for a remote sub-saga's kept state; when it may be one of
    several, pass the others too (the first one the value authenticates for is used).
    """
    return reveal_for_display(raw, keyring, binding, *others).decode("utf-8", "replace")


def reveal_for_display(raw: bytes, keyring: Keyring | None, *bindings: Binding) -> bytes:
    """`decrypt_for_display` as bytes: the value's plaintext (in restate_saga's journal encoding, as a
    display decoder expects it), or what to show instead."""
    if not is_envelope(raw):
        return raw
    try:
        envelope = parse(raw)
    except EnvelopeFormatError as error:
        return f"<encrypted: not a well-formed envelope ({error})>".encode()
    why = "no binding to decrypt it for"
    if keyring is not None:
        reader = _reader(keyring)
        for binding in bindings:
            try:
                return reader.reveal(raw, binding)
            except MissingKeyError:
                why = "not in the keyring"
                break
            except DecryptionError:
                why = "does not authenticate for this value (altered, or copied from elsewhere)"
    if envelope.selective:
        return fill_placeholders(envelope.plain, None)
    if keyring is None:
        return ENCRYPTED.encode()
    return f"<encrypted with key {envelope.key_id!r}: {why}>".encode()
