"""Input validation against declared types (pydantic models and dataclasses)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any, cast

from pydantic import BaseModel, TypeAdapter, ValidationError

from ._codec import MAX_NESTING, adapter_for
from ._envelope import envelope_key_id
from ._errors import InvalidInputError


def input_validator(tp: object) -> TypeAdapter[Any] | None:
    """A validator for an input annotated with a pydantic model or dataclass, else None."""
    if isinstance(tp, type):
        cls = cast(type[object], tp)
        if issubclass(cls, BaseModel) or dataclasses.is_dataclass(cls):
            return adapter_for(cls)
    return None


def describe_validation_error(error: ValidationError) -> str:
    """One line per problem, each naming the offending field."""
    problems: list[str] = []
    for item in error.errors(include_url=False):
        location = ".".join(str(part) for part in item["loc"]) or "<root>"
        problems.append(f"field {location!r}: {item['msg']}")
    return "; ".join(problems)


def validate_input(target: str, validator: TypeAdapter[Any], value: object) -> Any:
    """`value` validated and converted, or an `InvalidInputError` (400) naming `target` and the fields."""
    try:
        return validator.validate_python(value)
    except ValidationError as error:
        raise InvalidInputError(target, describe_validation_error(error)) from None


def validate_json_input(target: str, validator: TypeAdapter[Any], raw: bytes) -> Any:
    """Raw JSON bytes validated into the declared type, or an `InvalidInputError` (400)."""
    try:
        return validator.validate_json(raw)
    except ValidationError as error:
        invalid = [item for item in error.errors(include_url=False) if item["type"] == "json_invalid"]
        if invalid:
            problem = f"malformed JSON: {_json_problem(raw, invalid[0]['msg'])}"
            key_id = envelope_key_id(raw)
            if key_id is not None:
                problem += (
                    f"; it is a restate_saga encrypted value (key {key_id!r}), but this handler does not decrypt "
                    "its input (EncryptionCodec(encrypt_io=True))"
                )
            raise InvalidInputError(target, problem) from None
        raise InvalidInputError(target, describe_validation_error(error)) from None


def _json_problem(raw: bytes, pydantic_message: str) -> str:
    if "recursion limit" in pydantic_message:  # json.loads would recurse too (and might not stop)
        return f"nested more than {MAX_NESTING} levels deep (arrays and objects)"
    try:
        json.loads(raw)
    except RecursionError:
        return f"nested more than {MAX_NESTING} levels deep (arrays and objects)"
    except ValueError as error:
        return str(error)
    return pydantic_message.removeprefix("Invalid JSON: ")
