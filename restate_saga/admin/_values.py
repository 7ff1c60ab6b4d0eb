"""Journal values as text for display: the one place where stored bytes are decoded for people.

A deployment that stores values in another form (e.g. encrypted) passes its own `ValueDecoder`
to `SagaAdmin(decode=...)`; the default shows restate_saga's own journal encoding.
"""

from __future__ import annotations

import json

_MARKERS = frozenset(b"~@!")
"""restate_saga's marked journal forms: nothing to undo, output with compensation data, permanent failure."""


def decode_value(raw: bytes) -> str | None:
    """A journaled value as compact text (None for an empty value).

    JSON is shown as compact JSON; restate_saga's marked forms (`~`, `@`, `!`, see `_codec`) keep
    their JSON after the marker; bytes that are not UTF-8 are shown as their length.
    """
    if not raw:
        return None
    try:
        text = raw.decode()
    except UnicodeDecodeError:
        return f"<{len(raw)} bytes>"
    body, marker = (text[1:], text[0]) if raw[0] in _MARKERS else (text, "")
    try:
        body = json.dumps(json.loads(body), separators=(",", ":"), ensure_ascii=False)
    except ValueError:
        pass
    return marker + body
