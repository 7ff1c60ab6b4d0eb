"""What a saga handler takes and returns, and the signature the SDK reads to describe it."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from typing import Any

from ._errors import StepDefinitionError
from ._nodes import input_type_of, output_type_of
from ._step import is_step


def handler_types(handler: Callable[..., object], input_position: int) -> tuple[object, object, bool]:
    """(input type, output type, takes input) of saga code or a `Step`."""
    if is_step(handler):
        return input_type_of(handler.node), output_type_of(handler.node), True
    if not inspect.iscoroutinefunction(handler):
        raise StepDefinitionError(f"{getattr(handler, '__name__', handler)!r} must be an async function or a Step")
    params = list(inspect.signature(handler).parameters.values())
    try:
        hints = typing.get_type_hints(handler)
    except Exception:  # unresolvable annotations: plain JSON in and out
        hints = {}
    takes_input = len(params) > input_position
    input_type = hints.get(params[input_position].name, Any) if takes_input else None
    return input_type, hints.get("return", Any), takes_input


def restate_signature(
    context_type: object, input_type: object, output_type: object, takes_input: bool
) -> inspect.Signature:
    """The signature the SDK reads to describe a handler (its JSON schemas)."""
    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    params = [inspect.Parameter("ctx", kind, annotation=context_type)]
    if takes_input:
        params.append(inspect.Parameter("value", kind, annotation=input_type))
    return inspect.Signature(params, return_annotation=output_type)
