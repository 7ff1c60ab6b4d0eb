"""Reading a saga's journal: which rows are its steps and compensations, and how each one ended.

Forward steps are `ctx.run_typed` entries named after the step; compensations are entries named
`compensate:<step>`; a remote sub-saga is a call to `<Service>/run` (undone by `compensate`)
keyed `<invocation id>:<position>:<step>`; a parked escalation is the entry
`restate_saga:parked:<step>`; a cancellation is the notification of signal 1.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, cast

from .._display import reveal_for_display
from .._envelope import Binding
from .._keyring import Keyring
from .._rollback import COMPENSATE_PREFIX, PARKED_PREFIX, REMOTE_COMPENSATE, REMOTE_RUN
from .._service import PLAN_ENTRY
from ._model import Activity, Outcome, Parked

CANCEL_SIGNAL = 1
"""Restate delivers a cancellation as signal 1; awakeables use signals from 17 on."""

ValueDecoder = Callable[[bytes], str | None]
"""Turns a journaled value (a step's result, the input, the output) into text for display."""


@dataclass(frozen=True, slots=True)
class JournalRow:
    """One `sys_journal` row of a saga invocation, parsed."""

    index: int
    entry_type: str
    name: str
    lite: Mapping[str, Any]
    """`entry_lite_json`: the entry without its payloads."""
    appended_at: datetime | None = None
    full: Mapping[str, Any] | None = None
    """`entry_json`, when it was read (`SagaAdmin.get`), for failure messages and values."""


@dataclass(frozen=True, slots=True)
class TransientFailure:
    """A `TransientError` journal event: one failed attempt of the command at `command_index`."""

    command_index: int
    message: str


@dataclass(slots=True)
class _Open:
    """An activity whose command was read, waiting for its result."""

    kind: Literal["step", "compensation", "parked"]
    name: str
    index: int
    command_index: int
    started_at: datetime | None
    remote_service: str | None = None
    remote_invocation_id: str | None = None
    remote_key: str | None = None
    outcome: Outcome = "running"
    finished_at: datetime | None = None
    error: str | None = None
    value: str | None = None
    awakeable_id: str | None = None


@dataclass(frozen=True, slots=True)
class Timeline:
    """The steps and compensations of one invocation, and what its journal says about its state."""

    steps: tuple[Activity, ...]
    compensations: tuple[Activity, ...]
    current: str | None
    """The step (or `undo <step>`) that ran last."""
    rolling_back: bool
    """The latest event is a step's failure, a compensation, a park or a cancellation."""
    cancelled: bool
    """A cancellation reached it."""
    parked: Parked | None
    """An escalation that waits for an operator now."""
    input: str | None = None
    output: str | None = None

    def last_failed_step(self) -> str | None:
        """The latest forward step that failed for good."""
        failed = [step.name for step in self.steps if step.outcome == "failed"]
        return failed[-1] if failed else None


def _dig(data: Mapping[str, Any] | None, *path: str) -> Any:
    current: Any = data
    for key in path:
        if not isinstance(current, dict):
            return None
        current = cast(dict[str, Any], current).get(key)
    return current


def _target(lite: Mapping[str, Any]) -> tuple[str, str, str | None, str | None] | None:
    """(service, handler, key, invocation id) of a call command."""
    call = _dig(lite, "Command", "Call")
    target = _dig(call, "invocation_target")
    if not isinstance(target, dict) or not target:
        return None
    inner = next(iter(cast(dict[str, Any], target).values()))
    if not isinstance(inner, dict):
        return None
    fields = cast(dict[str, Any], inner)
    key = fields.get("key")
    invoked = _dig(call, "invocation_id")
    return (
        str(fields.get("name")),
        str(fields.get("handler")),
        key if isinstance(key, str) else None,
        invoked if isinstance(invoked, str) else None,
    )


def _remote_step(invocation_id: str, key: str | None) -> str | None:
    """The step name in a remote sub-saga key `<invocation id>:<position>:<step>` of this invocation."""
    if key is None or not key.startswith(invocation_id + ":"):
        return None
    position, _, step = key[len(invocation_id) + 1 :].partition(":")
    return step if position.isdigit() and step else None


def _bytes(value: object) -> bytes | None:
    if isinstance(value, list) and all(isinstance(b, int) for b in cast(list[object], value)):
        return bytes(cast(list[int], value))
    return None


def _result(full: Mapping[str, Any] | None, *path: str) -> tuple[bytes | None, str | None]:
    """(success bytes, failure message) of a result object inside `entry_json`."""
    result = _dig(full, *path)
    if not isinstance(result, dict):
        return None, None
    fields = cast(dict[str, Any], result)
    failure = fields.get("Failure")
    if isinstance(failure, dict):
        return None, str(cast(dict[str, Any], failure).get("message", ""))
    return _bytes(fields.get("Success")), None


def build_timeline(
    invocation_id: str,
    rows: Sequence[JournalRow],
    transient: Sequence[TransientFailure] = (),
    decode: ValueDecoder | None = None,
    retries: int = 0,
    keyring: Keyring | None = None,
    target: tuple[str, str, str | None] | None = None,
) -> Timeline:
    """Read the activities of one invocation from its journal rows (in index order).

    `retries` is Restate's retry count of the invocation (`sys_invocation.retry_count`): the
    attempts of a step still in flight are at least that many plus one. Encrypted values
    (`EncryptionCodec`) are decrypted with `keyring` before `decode` (`<encrypted>` without one);
    `target` is the invocation's (service, handler, key), to which its input and result are bound.
    """
    opened: dict[int, _Open] = {}
    order: list[_Open] = []
    command_index = -1
    latest = "none"
    cancelled = False
    signal_after_park = False
    last_park: _Open | None = None
    commands_after_park = False
    input_value: str | None = None
    output_value: str | None = None

    def show(raw: bytes | None, *bindings: Binding) -> str | None:
        if raw is None or decode is None:
            return None
        return decode(reveal_for_display(raw, keyring, *bindings))

    service, handler, key = target or ("", "", None)
    input_bindings = (Binding.input(service, handler, key), Binding.remote_input(service, key or ""))
    output_bindings = (Binding.output(invocation_id), Binding.remote_output(service, key or ""))

    for row in rows:
        if row.entry_type.startswith("Command: "):
            command_index += 1
            if last_park is not None:
                commands_after_park = True
        if row.entry_type == "Command: Input":
            input_value = show(_bytes(_dig(row.full, "Command", "Input", "payload")), *input_bindings)
        elif row.entry_type == "Command: Output":
            success, _ = _result(row.full, "Command", "Output", "result")
            output_value = show(success, *output_bindings)
        elif row.entry_type == "Command: Run":
            completion = _dig(row.lite, "Command", "Run", "completion_id")
            if row.name == PLAN_ENTRY or not isinstance(completion, int):
                continue
            if row.name.startswith(PARKED_PREFIX):
                activity = _Open(
                    "parked", row.name.removeprefix(PARKED_PREFIX), row.index, command_index, row.appended_at
                )
                last_park, commands_after_park, signal_after_park = activity, False, False
                latest = "rollback"
            elif row.name.startswith(COMPENSATE_PREFIX):
                activity = _Open(
                    "compensation", row.name.removeprefix(COMPENSATE_PREFIX), row.index, command_index, row.appended_at
                )
                latest = "rollback"
            else:
                activity = _Open("step", row.name, row.index, command_index, row.appended_at)
                latest = "forward"
            opened[completion] = activity
            order.append(activity)
        elif row.entry_type == "Command: Call":
            call_target = _target(row.lite)
            completion = _dig(row.lite, "Command", "Call", "result_completion_id")
            if call_target is None or not isinstance(completion, int):
                continue
            called, called_handler, called_key, invoked = call_target
            step = _remote_step(invocation_id, called_key)
            if step is None or called_handler not in (REMOTE_RUN, REMOTE_COMPENSATE):
                continue  # a plain call made by saga code, not a remote sub-saga
            kind: Literal["step", "compensation"] = "step" if called_handler == REMOTE_RUN else "compensation"
            activity = _Open(kind, step, row.index, command_index, row.appended_at, called, invoked, called_key)
            latest = "forward" if kind == "step" else "rollback"
            opened[completion] = activity
            order.append(activity)
        elif row.entry_type in ("Notification: Run", "Notification: Call"):
            completion = _dig(row.lite, "Notification", "id", "CompletionId")
            settled = opened.get(completion) if isinstance(completion, int) else None
            if settled is None:
                continue
            failed = _dig(row.lite, "Notification", "result") == "Failure"
            settled.outcome = "failed" if failed else "succeeded"
            settled.finished_at = row.appended_at
            kind_name = "Run" if row.entry_type == "Notification: Run" else "Call"
            success, message = _result(row.full, "Notification", "Completion", kind_name, "result")
            settled.error = message
            if settled.kind == "parked":
                settled.awakeable_id = success.decode(errors="replace") if success is not None else None
            elif settled.remote_service is not None:
                settled.value = show(success, Binding.remote_output(settled.remote_service, settled.remote_key or ""))
            else:
                settled.value = show(success, Binding.step(invocation_id, settled.name))
            if failed and settled.kind == "step":
                latest = "failure"
        elif row.entry_type == "Notification: Signal":
            signal = _dig(row.lite, "Notification", "id", "SignalIndex")
            if signal == CANCEL_SIGNAL:
                cancelled = True
                latest = "rollback"
            if last_park is not None:
                signal_after_park = True

    retried: dict[int, list[str]] = {}
    for attempt in transient:
        retried.setdefault(attempt.command_index, []).append(attempt.message)

    def finish(activity: _Open) -> Activity:
        failures = retried.get(activity.command_index, [])
        duration = None
        if activity.finished_at is not None and activity.started_at is not None:
            duration = activity.finished_at - activity.started_at
        error = activity.error
        if error is None and activity.outcome == "running" and failures:
            error = failures[-1]
        return Activity(
            activity.name,
            activity.outcome,
            max(1 + len(failures), 1 + retries if activity.outcome == "running" else 1),
            activity.started_at,
            duration,
            error,
            activity.remote_service,
            activity.remote_invocation_id,
            activity.value,
        )

    steps = tuple(finish(a) for a in order if a.kind == "step")
    compensations = tuple(finish(a) for a in order if a.kind == "compensation")
    last = next((a for a in reversed(order) if a.kind != "parked"), None)
    current = None if last is None else (last.name if last.kind == "step" else f"undo {last.name}")
    parked = None
    if last_park is not None and not commands_after_park and not signal_after_park:
        reason = next((a.error for a in reversed(order) if a.kind == "compensation" and a.name == last_park.name), None)
        parked = Parked(last_park.name, last_park.awakeable_id or "", reason or "", last_park.started_at)
    return Timeline(
        steps,
        compensations,
        current,
        latest in ("failure", "rollback"),
        cancelled,
        parked,
        input_value,
        output_value,
    )


_RUN_COMMAND = re.compile(r'^\{"Command":\{"Run":\{"completion_id":(\d+)[,}]')
_COMPLETION = re.compile(
    r'^\{"Notification":\{"ty":\{"Completion":"\w+"\},"id":\{"CompletionId":(\d+)\},"result":"(\w+)"\}\}$'
)


def parse_lite(text: object) -> Mapping[str, Any]:
    """`entry_lite_json` as data; the two most common shapes (a run, a completion) without a JSON parse."""
    if isinstance(text, str):
        if found := _RUN_COMMAND.match(text):
            return {"Command": {"Run": {"completion_id": int(found.group(1))}}}
        if found := _COMPLETION.match(text):
            return {"Notification": {"id": {"CompletionId": int(found.group(1))}, "result": found.group(2)}}
    return parse_json(text)


def parse_json(text: object) -> Mapping[str, Any]:
    """A JSON object from a SQL text column (an empty mapping for anything else)."""
    if not isinstance(text, str) or not text:
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    return cast(dict[str, Any], data) if isinstance(data, dict) else {}


def elapsed(start: datetime | None, end: datetime | None) -> timedelta | None:
    """`end - start`, when both are known."""
    return None if start is None or end is None else end - start
