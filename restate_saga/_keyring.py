"""`Keyring`: the AES keys that encrypt journal values — one current key, older ones to decrypt with.

A keyring is plain data and needs no extra: it can be loaded, rotated and saved without
`cryptography` installed. Its JSON form (a file, or an environment variable) is::

    {"current": "k2", "keys": {"k2": "<base64 of 32 bytes>", "k1": "<base64 of 32 bytes>"}}

Key material never appears in a repr, a message or a log; key ids do (they are not secret).
"""

from __future__ import annotations

import json
import os
import string
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import cast

from ._errors import RestateSagaError

KEYRING_ENV = "RESTATE_SAGA_KEYRING"
"""Environment variable holding a keyring's JSON."""
KEYRING_FILE_ENV = "RESTATE_SAGA_KEYRING_FILE"
"""Environment variable holding the path of a keyring file."""

KEY_ID_CHARS = frozenset(string.ascii_letters + string.digits + "._-")
"""Key ids are 1-8 of these characters: each journal value carries its key id, and its overhead stays <= 40 bytes."""
KEY_SIZES = (16, 24, 32)
"""AES-128, AES-192 or AES-256 keys (`Keyring.generate` makes 256-bit ones)."""


class KeyringError(RestateSagaError, ValueError):
    """A keyring is malformed (its message names the source and the field, never key material)."""


@dataclass(frozen=True, slots=True, repr=False)
class Keyring:
    """AES-GCM keys by id: `current` encrypts new values; every key decrypts.

    Rotate by making a new key current and keeping the old one (`rotate`): values journaled
    under the old key still decrypt. Drop an old key (`retire`) only once no invocation whose
    journal uses it can still replay (after the journal retention of everything started before
    the rotation).
    """

    current: str
    keys: Mapping[str, bytes]

    def __post_init__(self) -> None:
        keys = dict(self.keys)
        for key_id, key in keys.items():
            _check_key(key_id, key, "keyring")
        _check_key_id(self.current, "keyring: current")
        if self.current not in keys:
            raise KeyringError(f"keyring: the current key {self.current!r} is not one of its keys {sorted(keys)}")
        object.__setattr__(self, "keys", MappingProxyType(keys))

    @classmethod
    def generate(cls, key_id: str = "k1") -> Keyring:
        """A keyring with one fresh random 256-bit key, current."""
        return cls(key_id, {key_id: os.urandom(32)})

    def key(self, key_id: str) -> bytes | None:
        """The key with this id, or None."""
        return self.keys.get(key_id)

    @property
    def key_ids(self) -> tuple[str, ...]:
        """Every key id, the current one first."""
        return (self.current, *sorted(k for k in self.keys if k != self.current))

    def rotate(self, new_id: str, key: bytes | None = None) -> Keyring:
        """This keyring with a new current key (random unless given); the old keys stay to decrypt."""
        if new_id in self.keys:
            raise KeyringError(f"keyring: key id {new_id!r} is already in use; a rotation needs a new id")
        return Keyring(new_id, {**self.keys, new_id: key if key is not None else os.urandom(32)})

    def retire(self, key_id: str) -> Keyring:
        """This keyring without an old key (values journaled under it can no longer be read)."""
        if key_id == self.current:
            raise KeyringError(f"keyring: {key_id!r} is the current key; rotate to a new key before retiring it")
        if key_id not in self.keys:
            raise KeyringError(f"keyring: there is no key {key_id!r} to retire (keys: {', '.join(self.key_ids)})")
        return Keyring(self.current, {k: v for k, v in self.keys.items() if k != key_id})

    def to_json(self) -> str:
        """The keyring's JSON form (contains key material: store it as a secret)."""
        import base64

        encoded = {key_id: base64.b64encode(self.keys[key_id]).decode() for key_id in self.key_ids}
        return json.dumps({"current": self.current, "keys": encoded}, indent=2)

    @classmethod
    def from_json(cls, text: str, source: str = "keyring") -> Keyring:
        """Parse a keyring's JSON form; `source` names it in errors (a file, a variable)."""
        import base64
        import binascii

        try:
            data: object = json.loads(text)
        except json.JSONDecodeError as error:
            raise KeyringError(f"{source}: not JSON ({error.msg} at line {error.lineno})") from None
        if not isinstance(data, dict):
            raise KeyringError(f'{source}: expected an object {{"current": ..., "keys": {{...}}}}')
        fields = cast(dict[str, object], data)
        unknown = sorted(set(fields) - {"current", "keys"})
        if unknown:
            raise KeyringError(f"{source}: unknown field(s) {unknown}; expected 'current' and 'keys'")
        current, keys = fields.get("current"), fields.get("keys")
        if not isinstance(current, str):
            raise KeyringError(f"{source}: field 'current' must be a key id (a string)")
        if not isinstance(keys, dict) or not keys:
            raise KeyringError(f"{source}: field 'keys' must be a non-empty object of key id -> base64 key")
        decoded: dict[str, bytes] = {}
        for key_id, encoded in cast(dict[str, object], keys).items():
            if not isinstance(encoded, str):
                raise KeyringError(f"{source}: keys.{key_id} must be a base64 string")
            try:
                decoded[key_id] = base64.b64decode(encoded, validate=True)
            except (binascii.Error, ValueError):
                raise KeyringError(f"{source}: keys.{key_id} is not valid base64") from None
            _check_key(key_id, decoded[key_id], source)
        _check_key_id(current, f"{source}: current")
        if current not in decoded:
            raise KeyringError(f"{source}: the current key {current!r} is not one of its keys {sorted(decoded)}")
        return cls(current, decoded)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> Keyring:
        """Read a keyring file (its JSON form)."""
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as error:
            raise KeyringError(f"keyring file {os.fspath(path)!r}: cannot be read ({error.strerror})") from None
        return cls.from_json(text, f"keyring file {os.fspath(path)!r}")

    def __repr__(self) -> str:
        return f"Keyring(current={self.current!r}, keys={list(self.key_ids)!r})"

    def __hash__(self) -> int:
        return hash((self.current, tuple(sorted(self.keys.items()))))


def load_keyring(path: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None) -> Keyring | None:
    """The keyring an operator tool was given: `path`, else `$RESTATE_SAGA_KEYRING` (its JSON), else
    `$RESTATE_SAGA_KEYRING_FILE` (a path); None when there is none (values then show as `<encrypted>`)."""
    if path is not None:
        return Keyring.from_file(path)
    environment = os.environ if env is None else env
    text = environment.get(KEYRING_ENV)
    if text:
        return Keyring.from_json(text, f"${KEYRING_ENV}")
    file = environment.get(KEYRING_FILE_ENV)
    if file:
        return Keyring.from_file(file)
    return None


def _check_key_id(key_id: object, where: str) -> None:
    if not isinstance(key_id, str) or not 1 <= len(key_id) <= 8 or not KEY_ID_CHARS.issuperset(key_id):
        raise KeyringError(f"{where}: key id {key_id!r} must be 1-8 characters of A-Z a-z 0-9 . _ -")


def _check_key(key_id: object, key: object, source: str) -> None:
    _check_key_id(key_id, source)
    if not isinstance(key, bytes):
        raise KeyringError(f"{source}: key {key_id!r} must be bytes")
    if len(key) not in KEY_SIZES:
        raise KeyringError(f"{source}: key {key_id!r} must be 16, 24 or 32 bytes long, got {len(key)}")
