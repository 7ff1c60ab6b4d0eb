"""Typed (de)serialization of step results into one lean journal value.

A step's journal value is, byte for byte:

- the output's JSON, when the compensation data is the output (the common case), or when the
  step has no compensation (an empty value for `None`) — exactly what a hand-written saga stores;
- `~` + the output's JSON, when the step said `compensation_data=None` (nothing to undo);
- `@` + `[output, data]`, when the compensation data differs from the output;
- `!` + `[message, status, data]`, for `StepResponse.permanent_failure`.

None of `~@!` can start a JSON document, so the forms cannot be confused.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from typing import Any, cast

from pydantic import TypeAdapter, ValidationError
from pydantic_core import PydanticSerializationError
from restate import TerminalError

from ._envelope import refuse_without_codec
from ._errors import StepFailedError
from ._response import StepResponse

_NO_UNDO = b"~"
_PAIR = b"@"
_FAILURE = b"!"
_MARKERS = frozenset(b"~@!")


@functools.lru_cache(maxsize=512)
def _cached_adapter(tp: Any) -> TypeAdapter[Any]:
    return TypeAdapter(tp)


def adapter_for(tp: object) -> TypeAdapter[Any]:
    """A (cached) pydantic `TypeAdapter` for a runtime type hint."""
    try:
        return _cached_adapter(tp)
    except TypeError:  # an unhashable hint: build it uncached
        return TypeAdapter(cast(Any, tp))


@dataclass(frozen=True, slots=True)
class Decoded:
    """A step result read back from the journal."""

    output: object
    data: object
    has_data: bool
    failure: str | None
    status_code: int


@dataclass(frozen=True, slots=True)
class StepCodec:
    """Encodes a step's result by its declared output and compensation-data types.

    Adapters are built once per step definition; the rarely used pair and failure forms lazily.
    """

    step: str
    output_type: object
    data_type: object
    compensated: bool
    _output: TypeAdapter[Any] = field(init=False, repr=False, compare=False)
    _data: TypeAdapter[Any] = field(init=False, repr=False, compare=False)
    _same_type: bool = field(init=False, repr=False, compare=False)
    _lazy: dict[str, TypeAdapter[Any]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_output", adapter_for(self.output_type))
        object.__setattr__(self, "_data", adapter_for(self.data_type))
        object.__setattr__(self, "_same_type", self.output_type == self.data_type)
        object.__setattr__(self, "_lazy", {})

    def _adapter(self, form: str) -> TypeAdapter[Any]:
        adapter = self._lazy.get(form)
        if adapter is None:
            shape: object = (
                tuple[self.output_type, self.data_type] if form == "pair" else tuple[str, int, self.data_type]
            )
            adapter = self._lazy[form] = adapter_for(shape)
        return adapter

    def encode(self, result: object) -> bytes:
        """The journal value for what an action returned (a `StepResponse` or a bare output)."""
        if not isinstance(result, StepResponse):
            return _dump(self._output, result, "output", self.output_type)
        response = cast(StepResponse[object, object], result)
        if response.failure is not None:
            data = _dump(self._data, response.compensation_data, "compensation data", self.data_type)
            head = json.dumps(response.failure).encode()
            return b"%s[%s,%d,%s]" % (_FAILURE, head, response.status_code, data or b"null")
        output = _dump(self._output, response.output, "output", self.output_type)
        if not self.compensated or response.data_is_output:
            return output
        if response.compensation_data is None:
            return _NO_UNDO + (output or b"null")
        data = _dump(self._data, response.compensation_data, "compensation data", self.data_type)
        if data == output and self._same_type:  # stored once: it reads back as the same value and type
            return output
        return b"%s[%s,%s]" % (_PAIR, output or b"null", data or b"null")

    def decode(self, raw: bytes) -> Decoded:
        """Read a journal value back into typed Python values."""
        try:
            if not raw:
                return Decoded(None, None, True, None, 500)
            if raw[0] not in _MARKERS:
                output = self._output.validate_json(raw)
                return Decoded(output, output, True, None, 500)
            marker, body = raw[:1], raw[1:]
            if marker == _NO_UNDO:
                return Decoded(self._output.validate_json(body), None, False, None, 500)
            if marker == _PAIR:
                output, data = self._adapter("pair").validate_json(body)
                return Decoded(output, data, data is not None, None, 500)
            message, status, data = self._adapter("failure").validate_json(body)
            return Decoded(None, data, data is not None, message, status)
        except ValidationError as error:
            refuse_without_codec(raw, f"the journal value of step {self.step!r}")
            raise StepFailedError(
                self.step, f"its journaled result does not match the declared types: {error}"
            ) from error


def _dump(adapter: TypeAdapter[Any], value: object, what: str, tp: object) -> bytes:
    if value is None:
        return b""
    try:
        return adapter.dump_json(value, warnings="error")
    except (PydanticSerializationError, ValueError, TypeError) as error:
        raise TerminalError(f"its {what} cannot be serialized as {_type_name(tp)}: {error}") from error


def _type_name(tp: object) -> str:
    return getattr(tp, "__name__", None) or repr(tp)
