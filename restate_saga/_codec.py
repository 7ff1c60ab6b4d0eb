"""Typed (de)serialization of step results into one lean journal value.

A step's journal value is, byte for byte:

- the output's JSON, when the compensation data is the output (the common case), or when the
  step has no compensation (an empty value for `None`) — exactly what a hand-written saga stores;
- `~` + the output's JSON, when the step said `compensation_data=None` (nothing to undo);
- `@` + `[output, data]`, when the compensation data differs from the output;
- `!` + `[message, status, data]`, for `StepResponse.permanent_failure`.

None of `~@!` can start a JSON document, so the forms cannot be confused.

Reading a value back (after a replay, or under a newer deployment) validates it against the
step's declared types in pydantic's strict mode: a journaled value is never coerced into another
kind of value (`"42"` does not become `42`, `true` does not become `1`). Fields the model no
longer has are ignored and new fields with defaults take them; anything else (a new required
field, a changed type) goes through the step's upgrade function (`Step.with_upgrade`) if it has
one, or fails the step with `JournalValueMismatchError` naming each field.

Values are checked before they are journaled: at most `journal_value_limit()` bytes (by default
just below restate-server's 32 MiB message and per-invocation memory limits) and at most
`MAX_NESTING` levels deep (what the JSON decoder reads back). A value beyond either fails its step
with `ValueLimitError` instead of reaching the server, which would refuse it and retry the
invocation, running the action again, until it is paused.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from types import GenericAlias
from typing import Any, cast

from pydantic import JsonValue, TypeAdapter, ValidationError
from pydantic_core import PydanticSerializationError, from_json
from restate import TerminalError

from ._envelope import refuse_without_codec
from ._errors import JournalValueMismatchError, ValueLimitError
from ._response import StepResponse

_NO_UNDO = b"~"
_PAIR = b"@"
_FAILURE = b"!"
_MARKERS = frozenset(b"~@!")

Upgrade = Callable[[JsonValue], object]
"""Turns a journaled value written by an earlier version of a step (as plain JSON data) into the
step's current type."""

SERVER_VALUE_LIMIT = 32 * 1024 * 1024
"""restate-server's default `worker.invoker.message-size-limit` and `per-invocation-memory-limit`."""
_ENTRY_MARGIN = 64 * 1024
DEFAULT_VALUE_LIMIT = SERVER_VALUE_LIMIT - _ENTRY_MARGIN
"""The default `journal_value_limit()`: the server's limits less room for the journal entry around a value."""
MAX_NESTING = 200
"""How deeply a journal value may nest (arrays and objects): pydantic's JSON decoder refuses deeper ones."""
_limit = [DEFAULT_VALUE_LIMIT]


def journal_value_limit() -> int:
    """The largest journal value (in bytes) a step may produce; see `set_journal_value_limit`."""
    return _limit[0]


def set_journal_value_limit(max_bytes: int) -> None:
    """Set the largest value (bytes) a step may journal, process-wide.

    Keep it about 64 KiB below the smaller of restate-server's `worker.invoker.message-size-limit`
    and `worker.invoker.per-invocation-memory-limit` (32 MiB each by default): a larger value is
    refused by the server, which then retries the invocation — running the step's action again —
    until it pauses it. Beyond this limit the step fails terminally with `ValueLimitError` instead.
    """
    if max_bytes < 1024:
        raise ValueError(f"a journal value limit below 1 KiB cannot be right, got {max_bytes}")
    _limit[0] = max_bytes


@dataclass(frozen=True, slots=True)
class Unreadable:
    """Stands in for compensation data that could not be read back from the journal: the
    compensation is then not run but recorded as failed, with `reason`."""

    reason: str


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
    mismatch: JournalValueMismatchError | None = None
    """Set when the value did not match the declared types: the step fails with it."""


@dataclass(frozen=True, slots=True)
class StepCodec:
    """Encodes a step's result by its declared output and compensation-data types.

    Adapters are built once per step definition; the rarely used pair and failure forms lazily.
    `upgrade_output` and `upgrade_data` read values written under an earlier declared type.
    """

    step: str
    output_type: object
    data_type: object
    compensated: bool
    upgrade_output: Upgrade | None = None
    upgrade_data: Upgrade | None = None
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
            shape = (
                GenericAlias(tuple, (self.output_type, self.data_type))
                if form == "pair"
                else GenericAlias(tuple, (str, int, self.data_type))
            )
            adapter = self._lazy[form] = adapter_for(shape)
        return adapter

    def encode(self, result: object) -> bytes:
        """The journal value for what an action returned (a `StepResponse` or a bare output)."""
        return _checked(self._encode(result), "output")

    def _encode(self, result: object) -> bytes:
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

    def with_upgrades(self, output: Upgrade | None, data: Upgrade | None) -> StepCodec:
        """This codec, reading values of earlier versions with these upgrades (None keeps the current one)."""
        return StepCodec(
            self.step,
            self.output_type,
            self.data_type,
            self.compensated,
            output or self.upgrade_output,
            data or self.upgrade_data,
        )

    def decode(self, raw: bytes) -> Decoded:
        """Read a journal value back into typed Python values.

        A value that does not match the declared types (and that no upgrade turns into them) is
        returned with `mismatch` set, and with whatever compensation data could still be read.
        """
        try:
            return self._decode(raw)
        except _Mismatch as unread:
            return Decoded(None, unread.data, unread.holds_data, unread.failure, 500, unread.error)

    def _decode(self, raw: bytes) -> Decoded:
        if not raw:
            return Decoded(None, None, True, None, 500)
        if raw[0] not in _MARKERS:
            output = self._read(raw, "output", holds_data=True)
            return Decoded(output, output, True, None, 500)
        marker, body = raw[:1], raw[1:]
        if marker == _NO_UNDO:
            return Decoded(self._read(body, "output", holds_data=False), None, False, None, 500)
        if marker == _PAIR:
            try:
                output, data = self._adapter("pair").validate_json(body, strict=True)
            except ValidationError:
                output_json, data_json = self._parts(body, 2)
                data = self._read(data_json, "compensation data", holds_data=data_json != b"null")
                output = self._read(output_json, "output", holds_data=data is not None, data=data)
            return Decoded(output, data, data is not None, None, 500)
        try:
            message, status, data = self._adapter("failure").validate_json(body, strict=True)
        except ValidationError:
            head, status_json, data_json = self._parts(body, 3)
            message, status = str(json.loads(head)), int(json.loads(status_json))
            data = self._read(data_json, "compensation data", holds_data=data_json != b"null", failure=message)
        return Decoded(None, data, data is not None, message, status)

    def _read(self, raw: bytes, what: str, *, holds_data: bool, data: object = None, failure: str | None = None) -> Any:
        """One journaled value (output or data) validated strictly, or upgraded from an earlier shape."""
        output = what == "output"
        adapter, tp = (self._output, self.output_type) if output else (self._data, self.data_type)
        upgrade = self.upgrade_output if output else (self.upgrade_data or self._same_upgrade())
        try:
            return adapter.validate_json(raw, strict=True)
        except ValidationError as error:
            refuse_without_codec(raw, f"the journal value of step {self.step!r}")
            problems = describe_problems(error)
            if upgrade is not None and not _unparsable(error):
                try:
                    upgraded = upgrade(cast(JsonValue, from_json(raw)))
                except Exception as failed:  # the user's upgrade function: reported, never retried
                    problems = f"{problems}; its upgrade function raised {_without_values(failed)}"
                else:
                    try:
                        return adapter.validate_python(upgraded)
                    except ValidationError as again:
                        problems = f"{problems}; after its upgrade function: {describe_problems(again)}"
            mismatch = JournalValueMismatchError(self.step, what, type_name(tp), problems)
            unread = Unreadable(f"its journaled {what} does not match the declared type {type_name(tp)}: {problems}")
            salvaged = data if output and data is not None else unread
            raise _Mismatch(mismatch, holds_data, salvaged, failure) from None

    def _parts(self, body: bytes, count: int) -> list[bytes]:
        """The JSON texts of the items of a journaled array of `count` items."""
        try:
            items = from_json(body)
        except ValueError as error:
            raise _Mismatch(
                JournalValueMismatchError(self.step, "value", "JSON", str(error)), True, Unreadable(str(error)), None
            ) from None
        if not isinstance(items, list) or len(cast(list[object], items)) != count:
            got = f"{len(cast(list[object], items))} items" if isinstance(items, list) else type(items).__name__
            problem = f"expected an array of {count} items, got {got}"
            raise _Mismatch(
                JournalValueMismatchError(self.step, "value", f"array of {count}", problem),
                True,
                Unreadable(problem),
                None,
            )
        return [json.dumps(item, separators=(",", ":")).encode() for item in cast(list[object], items)]

    def _same_upgrade(self) -> Upgrade | None:
        return self.upgrade_output if self._same_type else None


class _Mismatch(Exception):
    """Internal: a journal value did not match; carries what can still be registered as the undo."""

    def __init__(self, error: JournalValueMismatchError, holds_data: bool, data: object, failure: str | None) -> None:
        super().__init__(error.message)
        self.error = error
        self.holds_data = holds_data
        self.data = data
        self.failure = failure


def describe_problems(error: ValidationError) -> str:
    """One phrase per problem of a validation error, each naming the offending field."""
    problems: list[str] = []
    for item in error.errors(include_url=False):
        location = ".".join(str(part) for part in item["loc"])
        where = f"field {location!r}" if location else "the value"
        problems.append(f"{where}: {item['msg']}")
    return "; ".join(problems)


def _without_values(error: Exception) -> str:
    """An upgrade function's error, named without the values it may quote (they may be secrets)."""
    if isinstance(error, ValidationError):
        return f"{type(error).__name__} ({describe_problems(error)})"
    return type(error).__name__


def _unparsable(error: ValidationError) -> bool:
    return any(item["type"] == "json_invalid" for item in error.errors(include_url=False))


def check_size(encoded: bytes, what: str) -> None:
    """A `ValueLimitError` if `encoded` is larger than `journal_value_limit()`."""
    limit = _limit[0]
    if len(encoded) > limit:
        raise ValueLimitError(
            f"its {what} is {len(encoded):,} bytes, over the {limit:,}-byte limit of one journal value "
            "(restate-server refuses larger messages; see restate_saga.set_journal_value_limit)",
            limit,
            "bytes",
        )


def _checked(encoded: bytes, what: str) -> bytes:
    """`encoded`, if it can be journaled and read back; a `ValueLimitError` otherwise."""
    check_size(encoded, what)
    check_nesting(encoded[1:] if encoded[:1] in (_NO_UNDO, _PAIR, _FAILURE) else encoded, what)
    return encoded


def check_nesting(text: bytes, what: str) -> None:
    """A `ValueLimitError` if the JSON `text` nests deeper than the journal's decoder reads back."""
    if text.count(b"[") + text.count(b"{") <= MAX_NESTING:  # cheap bound: only then parse
        return
    try:
        from_json(text)
    except ValueError as error:
        if "recursion limit" not in str(error):
            return  # not JSON as a whole (decoding reports it); only its depth is checked here
        raise ValueLimitError(
            f"its {what} is nested more than {MAX_NESTING} levels deep (arrays and objects), deeper "
            "than the journal's JSON decoder reads back",
            MAX_NESTING,
            "levels",
        ) from None


def _dump(adapter: TypeAdapter[Any], value: object, what: str, tp: object) -> bytes:
    if value is None:
        return b""
    try:
        return adapter.dump_json(value, warnings="error")
    except (PydanticSerializationError, ValueError, TypeError) as error:
        if "serialization depth" in str(error):  # pydantic stops before the journal's limit could be checked
            raise ValueLimitError(
                f"its {what} is nested more than {MAX_NESTING} levels deep (arrays and objects), deeper "
                "than the journal's JSON decoder reads back",
                MAX_NESTING,
                "levels",
            ) from None
        raise TerminalError(f"its {what} cannot be serialized as {type_name(tp)}: {error}") from error


def type_name(tp: object) -> str:
    """A type as messages name it: its `__name__`, else its repr (`list[int]`)."""
    return getattr(tp, "__name__", None) or repr(tp)
