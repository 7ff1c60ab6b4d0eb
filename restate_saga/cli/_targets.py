"""`module:attr` targets of `restate-saga diagram`: a pipeline, a saga service, or a plan."""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

from typing_extensions import TypeIs

from .._keyed import SagaRestateWorkflow, SagaVirtualObject
from .._plans import CodePlan, Plan
from .._remote import RemoteSaga
from .._service import SagaWorkflowService
from .._step import Step


class TargetError(Exception):
    """A `module:attr` that cannot be drawn; the message says why."""


def split_target(text: str) -> tuple[str, str]:
    """`"pkg.module:attr"` as (module, attribute); `ValueError` when it has another shape."""
    module, sep, attribute = text.partition(":")
    if not sep or not module or not attribute:
        raise ValueError(f"expected module:attribute (e.g. examples.travel:travel_booking), got {text!r}")
    return module, attribute


def _is_remote(value: object) -> TypeIs[RemoteSaga[Any, Any]]:
    return isinstance(value, RemoteSaga)


def load_plan(text: str) -> Plan:
    """The plan of the pipeline, saga service or plan at `module:attr` (the cwd is importable)."""
    module_name, attribute = split_target(text)
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise TargetError(f"cannot import {module_name!r}: {error}") from error
    value: object = module
    for part in attribute.split("."):
        if not hasattr(value, part):
            raise TargetError(f"{module_name!r} has no attribute {attribute!r}")
        value = getattr(value, part)
    if isinstance(value, Step):
        return value.plan
    if isinstance(value, SagaWorkflowService) or _is_remote(value):
        plan = value.plan if isinstance(value, SagaWorkflowService) else value.pipeline.plan
        if isinstance(plan, CodePlan):
            raise TargetError(f"{text} is saga code: its steps are only known when it runs (draw a pipeline)")
        return plan
    if isinstance(value, SagaVirtualObject | SagaRestateWorkflow):
        raise TargetError(f"{text} runs saga code: its steps are only known when it runs (draw a pipeline)")
    if isinstance(value, Plan):
        return value
    raise TargetError(f"{text} is a {type(value).__name__}, not a pipeline, saga service or plan")
