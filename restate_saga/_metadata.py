"""The metadata saga services publish at discovery, so operators' tools recognise them as sagas.

Restate propagates service and handler metadata to its admin API (`GET /services`). Every saga
service publishes its kind, the library version, its compensation policy and its plan's
fingerprint (and the plan itself when it is small enough); each handler that runs a saga is
marked with its role. `restate_saga.admin` reads these back; nothing is added to any journal.
"""

from __future__ import annotations

import functools
from dataclasses import replace
from typing import Literal

import restate

from ._options import SagaWorkflowOptions
from ._plan_json import plan_to_json
from ._plans import Plan, fingerprint

KIND = "restate_saga.kind"
VERSION = "restate_saga.version"
ON_FAILURE = "restate_saga.on_failure"
FINGERPRINT = "restate_saga.plan_fingerprint"
PLAN = "restate_saga.plan"
ROLE = "restate_saga.role"
MAX_PLAN_CHARS = 16_000
"""A plan whose JSON is longer is not published (its fingerprint still is)."""

SagaKind = Literal["service", "virtual_object", "workflow", "remote"]
HandlerRole = Literal["saga", "compensate"]


@functools.cache
def _version() -> str:
    from importlib import metadata as distribution  # when first published: it costs ~7 ms to import

    try:
        return distribution.version("restate_saga")
    except distribution.PackageNotFoundError:  # run from a source tree that is not installed
        return "unknown"


def handler_metadata(role: HandlerRole = "saga") -> dict[str, str]:
    """The metadata of a handler that runs a saga (`"saga"`) or undoes a remote one (`"compensate"`)."""
    return {ROLE: role}


def saga_metadata(kind: SagaKind, options: SagaWorkflowOptions | None, plan: Plan | None) -> dict[str, str]:
    """The service metadata of a saga service of `kind`."""
    published = {
        KIND: kind,
        VERSION: _version(),
        ON_FAILURE: (options or SagaWorkflowOptions()).compensation.on_failure,
    }
    if plan is not None:
        published[FINGERPRINT] = fingerprint(plan)
        text = plan_to_json(plan)
        if len(text) <= MAX_PLAN_CHARS:
            published[PLAN] = text
    return published


def publish(
    service: restate.Service | restate.VirtualObject | restate.Workflow,
    kind: SagaKind,
    options: SagaWorkflowOptions | None,
    plan: Plan | None = None,
) -> None:
    """Attach the saga metadata to `service` (merged over metadata it already has)."""
    tag = service.service_tag
    service.service_tag = replace(tag, metadata={**(tag.metadata or {}), **saga_metadata(kind, options, plan)})
