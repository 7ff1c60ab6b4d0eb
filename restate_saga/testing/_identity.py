"""Request identity for tests: an Ed25519 key pair in the formats restate-server and the SDK expect."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .._errors import MissingExtraError

_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def _base58(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    digits = ""
    while number:
        number, remainder = divmod(number, 58)
        digits = _BASE58[remainder] + digits
    leading_zeros = len(data) - len(data.lstrip(b"\0"))
    return _BASE58[0] * leading_zeros + digits


@dataclass(frozen=True, slots=True)
class IdentityKeys:
    """A signing key for restate-server and the public key that services verify with."""

    private_key_file: Path
    """PEM file: give it to the server as RESTATE_WORKER__INVOKER__REQUEST_IDENTITY_PRIVATE_KEY_PEM_FILE."""
    public_key: str
    """`publickeyv1_...`: pass it to `restate.app(..., identity_keys=[public_key])`."""

    @property
    def server_env(self) -> dict[str, str]:
        """The server setting that makes restate-server sign every request it sends to services."""
        return {"RESTATE_WORKER__INVOKER__REQUEST_IDENTITY_PRIVATE_KEY_PEM_FILE": str(self.private_key_file)}


def make_identity_keys(folder: Path) -> IdentityKeys:
    """Generate a fresh Ed25519 key pair into `folder` (needs `cryptography`, of the `testing` extra)."""
    try:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    except ModuleNotFoundError as error:
        raise MissingExtraError("restate_saga.testing.make_identity_keys", "testing", error.name) from error

    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    raw_public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    path = folder / "restate-identity.pem"
    path.write_bytes(pem)
    return IdentityKeys(path, "publickeyv1_" + _base58(raw_public))
