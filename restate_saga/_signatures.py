"""What a saga handler takes and returns, and the signature the SDK reads to describe it."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from ._definitions import SagaCodeForm, check_saga_code, signature_of, type_hints
from ._nodes import input_type_of, output_type_of
from ._step import is_step


def handler_types(
    where: str, handler: Callable[..., object], form: SagaCodeForm, context_type: object = None, plain: str = ""
) -> tuple[Callable[..., Awaitable[object]], object, object, bool]:
    """(code to call, input type, output type, takes input) of saga code or a `Step`, checked."""
    if is_step(handler):
        return handler, input_type_of(handler.node), output_type_of(handler.node), True
    code, takes_input = check_saga_code(where, handler, form, context_type, plain)
    hints = type_hints(handler)
    signature = signature_of(handler)
    params = [p for p in signature.parameters.values() if p.kind in _POSITIONAL] if signature else []
    position = 2 if form == "keyed" else 1
    input_type = hints.get(params[position].name, Any) if takes_input and len(params) > position else None
    if takes_input and input_type is None:
        input_type = Any
    return code, input_type, hints.get("return", Any), takes_input


_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


def restate_signature(
    context_type: object, input_type: object, output_type: object, takes_input: bool
) -> inspect.Signature:
    """The signature the SDK reads to describe a handler (its JSON schemas)."""
    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    params = [inspect.Parameter("ctx", kind, annotation=context_type)]
    if takes_input:
        params.append(inspect.Parameter("value", kind, annotation=input_type))
    return inspect.Signature(params, return_annotation=output_type)
