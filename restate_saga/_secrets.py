"""`Secret`: marks fields whose values selective encryption keeps out of the journal.

`Annotated[str, Secret]` (on a pydantic model, a dataclass, a list item, ...) changes nothing by
itself: the value validates and serializes as before. While restate_saga encodes a journal value
in selective mode, each secret value is taken out into a list (encrypted separately) and replaced
by a placeholder string `"<secret:N>"`; while it decodes one, each placeholder is put back in the
JSON text before the value is validated (so a secret validates exactly as an unmarked value).
"""

from __future__ import annotations

import re
from collections.abc import Generator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar, cast, final

from pydantic import GetCoreSchemaHandler
from pydantic_core import CoreSchema, core_schema

T = TypeVar("T")

PLACEHOLDER = "<secret:{}>"
ENCRYPTED = "<encrypted>"
"""What a secret (or a whole value) shows as when it cannot be decrypted for display."""
_PLACEHOLDER_JSON = re.compile(rb'"<secret:(\d+)>"')

_collected: ContextVar[list[object] | None] = ContextVar("restate_saga_secrets_out", default=None)


@final
class Secret:
    """Marks a value as secret: `Annotated[str, Secret]`.

    With `EncryptionCodec(keyring, selective=True)`, only marked values are encrypted and the rest
    of the journal value stays readable to operators. Secret values are never part of an error
    message restate_saga writes. To also hide a field from `repr`, add `Field(repr=False)`.
    """

    __slots__ = ()

    def __new__(cls) -> Secret:
        raise TypeError("Secret is a marker: use it as Annotated[T, Secret]")

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        schema = dict(handler(source))  # validation is unchanged: decoding puts the secrets back first
        schema["serialization"] = core_schema.wrap_serializer_function_ser_schema(
            _take_out, info_arg=True, schema=handler(source), return_schema=core_schema.any_schema()
        )
        return cast(CoreSchema, schema)


def _take_out(value: object, serialize: core_schema.SerializerFunctionWrapHandler, info: object) -> object:
    out = _collected.get()
    if out is None:
        return serialize(value)
    out.append(serialize(value))
    return PLACEHOLDER.format(len(out) - 1)


@contextmanager
def taking_out_secrets() -> Generator[list[object]]:
    """While inside, serialized secret values go to the yielded list and leave placeholders."""
    out: list[object] = []
    token = _collected.set(out)
    try:
        yield out
    finally:
        _collected.reset(token)


def placeholders_are_exact(plain: bytes, secrets_json: list[bytes]) -> bool:
    """Whether each secret's placeholder appears exactly once in `plain` and the secrets' own JSON,
    and nothing else reads like one (a string that happens to read `"<secret:N>"`)."""
    found = [int(index) for text in (plain, *secrets_json) for index in _PLACEHOLDER_JSON.findall(text)]
    return sorted(found) == list(range(len(secrets_json)))


def fill_placeholders(plain: bytes, secrets_json: list[bytes] | None) -> bytes:
    """A redacted value with its placeholders replaced by the secrets' JSON (None: by `"<encrypted>"`).

    For display only (no types are known here): a non-secret string that happens to read exactly
    `"<secret:N>"` would be replaced too.
    """

    def fill(text: bytes, depth: int) -> bytes:
        def one(match: re.Match[bytes]) -> bytes:
            index = int(match.group(1))
            if secrets_json is None or index >= len(secrets_json) or depth > 32:
                return b'"' + ENCRYPTED.encode() + b'"'
            return fill(secrets_json[index], depth + 1)

        return _PLACEHOLDER_JSON.sub(one, text)

    return fill(plain, 0)
