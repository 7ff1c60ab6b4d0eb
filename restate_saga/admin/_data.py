"""The status model as JSON-ready data (what the CLI prints with `--json`)."""

from __future__ import annotations

from datetime import datetime, timedelta

from .._plan_json import plan_data
from ._model import Activity, Parked, Saga, SagaSummary


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def _seconds(value: timedelta | None) -> float | None:
    return None if value is None else round(value.total_seconds(), 3)


def summary_data(summary: SagaSummary) -> dict[str, object]:
    """One `ls` row: `invocation_id`, `service`, `handler`, `key`, `status`, `failed_step`, ..."""
    return {
        "invocation_id": summary.invocation_id,
        "service": summary.service,
        "handler": summary.handler,
        "key": summary.key,
        "kind": summary.kind,
        "status": summary.status,
        "failed_step": summary.failed_step,
        "current_step": summary.current_step,
        "started_at": _time(summary.started_at),
        "duration_s": _seconds(summary.duration),
        "restate_status": summary.restate_status,
    }


def activity_data(activity: Activity) -> dict[str, object]:
    """One step or compensation: `name`, `outcome`, `attempts`, times, `error`, ..."""
    data: dict[str, object] = {
        "name": activity.name,
        "outcome": activity.outcome,
        "attempts": activity.attempts,
        "started_at": _time(activity.started_at),
        "duration_s": _seconds(activity.duration),
        "error": activity.error,
    }
    if activity.remote_service is not None:
        data["remote_service"] = activity.remote_service
        data["remote_invocation_id"] = activity.remote_invocation_id
    if activity.value is not None:
        data["value"] = activity.value
    return data


def _parked(parked: Parked | None) -> dict[str, object] | None:
    if parked is None:
        return None
    return {
        "step": parked.step,
        "awakeable_id": parked.awakeable_id,
        "reason": parked.reason,
        "since": _time(parked.since),
    }


def saga_data(saga: Saga) -> dict[str, object]:
    """`show --json`: the summary plus `error`, `steps`, `compensations` (in the order they ran), ..."""
    return {
        **summary_data(saga.summary),
        "error": saga.error,
        "status_code": saga.status_code,
        "steps": [activity_data(step) for step in saga.steps],
        "compensations": [activity_data(compensation) for compensation in saga.compensations],
        "left_undone": list(saga.left_undone),
        "parked": _parked(saga.parked),
        "paused_reason": saga.paused_reason,
        "deployment_id": saga.deployment_id,
        "input": saga.input,
        "output": saga.output,
        "plan": None if saga.plan is None else plan_data(saga.plan),
    }
