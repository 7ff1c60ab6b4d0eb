"""Plans as JSON: what a saga service publishes in its metadata, read back by operators' tools."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any, assert_never, cast

from ._options import StepRetryPolicy
from ._plans import (
    CodePlan,
    FallbackPlan,
    MapPlan,
    NestedPlan,
    ParallelPlan,
    Plan,
    RemotePlan,
    SequencePlan,
    StepPlan,
    TimeoutPlan,
)

_DURATIONS = ("initial_retry_interval", "max_retry_interval", "max_duration")


def _policy_data(policy: StepRetryPolicy | None) -> dict[str, object] | None:
    if policy is None:
        return None
    data: dict[str, object] = {
        "max_retry_attempts": policy.max_retry_attempts,
        "retry_interval_factor": policy.retry_interval_factor,
    }
    for name in _DURATIONS:
        value: timedelta | None = getattr(policy, name)
        data[name] = None if value is None else value.total_seconds()
    return {key: value for key, value in data.items() if value is not None}


def _policy(data: object) -> StepRetryPolicy | None:
    if data is None:
        return None
    fields = _object(data, "retry policy")
    durations = {
        name: timedelta(seconds=float(cast(float, fields[name]))) for name in _DURATIONS if fields.get(name) is not None
    }
    attempts = fields.get("max_retry_attempts")
    factor = fields.get("retry_interval_factor")
    return StepRetryPolicy(
        max_retry_attempts=None if attempts is None else int(cast(int, attempts)),
        retry_interval_factor=None if factor is None else float(cast(float, factor)),
        **durations,
    )


def plan_data(plan: Plan) -> dict[str, object]:
    """A plan as JSON-ready data: one object per node, tagged by `"node"`."""
    match plan:
        case StepPlan(name, compensated, mode, retry, compensation_retry):
            data: dict[str, object] = {"node": "step", "name": name, "compensated": compensated, "mode": mode}
            if retry is not None:
                data["retry"] = _policy_data(retry)
            if compensation_retry is not None:
                data["compensation_retry"] = _policy_data(compensation_retry)
            return data
        case SequencePlan(parts):
            return {"node": "sequence", "parts": [plan_data(part) for part in parts]}
        case NestedPlan(name, body):
            return {"node": "nested", "name": name, "body": plan_data(body)}
        case ParallelPlan(name, branches, parallel_compensation, max_concurrency):
            return {
                "node": "parallel",
                "name": name,
                "branches": [plan_data(branch) for branch in branches],
                "parallel_compensation": parallel_compensation,
                "max_concurrency": max_concurrency,
            }
        case FallbackPlan(primary, alternative):
            return {"node": "fallback", "primary": plan_data(primary), "alternative": plan_data(alternative)}
        case TimeoutPlan(body, seconds):
            return {"node": "timeout", "body": plan_data(body), "seconds": seconds}
        case RemotePlan(name, service):
            return {"node": "remote", "name": name, "service": service}
        case MapPlan(label):
            return {"node": "map", "label": label}
        case CodePlan(name):
            return {"node": "code", "name": name}
        case _:
            assert_never(plan)


def plan_to_json(plan: Plan) -> str:
    """The compact JSON text of a plan."""
    return json.dumps(plan_data(plan), separators=(",", ":"))


def _object(data: object, what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValueError(f"a plan's {what} must be a JSON object, got {type(data).__name__}")
    return cast(dict[str, Any], data)


def _text(fields: dict[str, Any], name: str) -> str:
    value = fields.get(name)
    if not isinstance(value, str):
        raise ValueError(f"a plan node needs a string {name!r}, got {value!r}")
    return value


def _step(data: object) -> StepPlan:
    fields = _object(data, "step")
    mode = fields.get("mode")
    if mode not in ("hybrid", "strict"):
        raise ValueError(f"a plan step's mode must be 'hybrid' or 'strict', got {mode!r}")
    return StepPlan(
        _text(fields, "name"),
        bool(fields.get("compensated")),
        "hybrid" if mode == "hybrid" else "strict",
        _policy(fields.get("retry")),
        _policy(fields.get("compensation_retry")),
    )


def plan_from_data(data: object) -> Plan:
    """The plan that `plan_data` produced; `ValueError` when the data is not a plan."""
    fields = _object(data, "node")
    match fields.get("node"):
        case "step":
            return _step(fields)
        case "sequence":
            return SequencePlan(tuple(plan_from_data(part) for part in cast(list[object], fields.get("parts") or [])))
        case "nested":
            return NestedPlan(_text(fields, "name"), plan_from_data(fields.get("body")))
        case "parallel":
            branches = tuple(_step(branch) for branch in cast(list[object], fields.get("branches") or []))
            limit = fields.get("max_concurrency")
            return ParallelPlan(
                _text(fields, "name"),
                branches,
                bool(fields.get("parallel_compensation")),
                None if limit is None else int(cast(int, limit)),
            )
        case "fallback":
            return FallbackPlan(plan_from_data(fields.get("primary")), plan_from_data(fields.get("alternative")))
        case "timeout":
            return TimeoutPlan(plan_from_data(fields.get("body")), float(cast(float, fields.get("seconds"))))
        case "remote":
            return RemotePlan(_text(fields, "name"), _text(fields, "service"))
        case "map":
            return MapPlan(_text(fields, "label"))
        case "code":
            return CodePlan(_text(fields, "name"))
        case other:
            raise ValueError(f"unknown plan node {other!r}")


def plan_from_json(text: str) -> Plan:
    """The plan whose JSON text is `text`; `ValueError` when it is not one."""
    return plan_from_data(json.loads(text))
