"""Handler input and output travel as raw bytes; restate_saga validates and encodes them by type."""

from __future__ import annotations

from typing import Any

from pydantic_core import PydanticSerializationError
from restate import TerminalError

from ._codec import adapter_for, check_size
from ._errors import ValueLimitError
from ._options import PASS_THROUGH
from ._validation import input_validator, validate_json_input

RAW = PASS_THROUGH


def decode_input(target: str, tp: object, raw: bytes) -> Any:
    """A handler's input validated into its declared type; a 400 `InvalidInputError` otherwise."""
    if not raw:
        raw = b"null"
    return validate_json_input(target, input_validator(tp) or adapter_for(tp), raw)


def encode_output(target: str, tp: object, value: object) -> bytes:
    """A handler's output encoded by its declared type; a terminal error if it cannot be."""
    if value is None:
        return b""
    try:
        encoded = adapter_for(tp).dump_json(value, warnings="error")
    except (PydanticSerializationError, ValueError, TypeError) as error:
        raise TerminalError(f"{target}: the result cannot be serialized: {error}") from error
    try:
        check_size(encoded, "result")
    except ValueLimitError as error:
        raise ValueLimitError(f"{target}: {error.message}", error.limit, error.kind) from None
    return encoded
