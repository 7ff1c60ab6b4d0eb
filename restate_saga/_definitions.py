"""Definitions checked when they are built: the callables a saga is made of, and how its steps fit.

Every check raises `StepDefinitionError` naming the step (or handler) and the parameter, before
anything runs. What the types allow is accepted: `async def` functions, bound methods,
`functools.partial` of them, objects with `async def __call__`, and other callables whose result
is awaitable (a lambda returning a coroutine; checked when it runs, since nothing says so before).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import inspect
import types
import typing
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Literal, assert_never
from weakref import WeakKeyDictionary

from restate import TerminalError

from ._errors import StepDefinitionError
from ._nodes import Fallback, Handler, Leaf, MapNode, Nested, Node, Parallel, Remote, Then, Timeout

_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
_BY_KEYWORD = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
_MISSING = inspect.Parameter.empty


# --- what a callable is --------------------------------------------------------------------------


def _call_target(fn: object) -> object:
    """The function whose code and annotations describe a call of `fn`."""
    while isinstance(fn, functools.partial):
        fn = fn.func
    if inspect.isfunction(fn) or inspect.ismethod(fn) or isinstance(fn, type):
        return fn
    return getattr(type(fn), "__call__", fn)  # noqa: B004  # an object: its class's __call__ (not a test)


def type_hints(fn: object) -> dict[str, object]:
    """The resolved annotations of a call of `fn` ({} when they cannot be resolved); do not change it.

    For a callable that is not an `async def` but is annotated to return `Awaitable[X]` (or a
    coroutine of `X`), "return" is `X`: the value the step produces.
    """
    return _remembered(_hints, fn, _describe_hints)[0]


def signature_of(fn: object) -> inspect.Signature | None:
    """`fn`'s signature, or None for a callable that does not have one (some builtins)."""
    return _remembered(_signatures, fn, _describe_signature)


def _awaits(fn: object) -> bool | None:
    """Whether calling `fn` gives an awaitable: True, False, or None when nothing says."""
    if isinstance(fn, type):
        return False
    if inspect.iscoroutinefunction(_call_target(fn)):
        return True
    return _remembered(_hints, fn, _describe_hints)[1]


T = typing.TypeVar("T")
_signatures: WeakKeyDictionary[object, inspect.Signature | None] = WeakKeyDictionary()
_hints: WeakKeyDictionary[object, tuple[dict[str, object], bool | None]] = WeakKeyDictionary()


def _remembered(found: WeakKeyDictionary[object, T], fn: object, describe: Callable[[object], T]) -> T:
    """What `describe` finds about `fn`, once per callable (one function usually makes many steps)."""
    try:
        return found[fn]
    except (KeyError, TypeError):  # not seen yet, or not weakly referenceable / hashable
        pass
    described = describe(fn)
    with contextlib.suppress(TypeError):
        found[fn] = described
    return described


def _describe_signature(fn: object) -> inspect.Signature | None:
    try:
        return inspect.signature(typing.cast(Callable[..., object], fn))
    except (TypeError, ValueError):
        return None


def _describe_hints(fn: object) -> tuple[dict[str, object], bool | None]:
    """(resolved hints, whether the declared result is awaitable: None when not declared)."""
    target = _call_target(fn)
    is_coroutine = inspect.iscoroutinefunction(target)
    try:
        hints: dict[str, object] = typing.get_type_hints(target)
    except Exception:  # unresolvable forward references, or not annotatable: serialize as plain JSON
        return {}, True if is_coroutine else None
    returned = hints.get("return", _MISSING)
    if is_coroutine:
        return hints, True
    if returned is _MISSING:
        return hints, None
    origin = typing.get_origin(returned) or returned
    awaitable = isinstance(origin, type) and issubclass(origin, Awaitable)
    if awaitable:
        args = typing.get_args(returned)
        hints["return"] = args[-1] if args else Any
    return hints, awaitable


def _label(fn: object, signature: inspect.Signature | None) -> str:
    """How a message shows a callable: its name and parameters, e.g. `needs_ctx(ctx, d)`."""
    target = fn.func if isinstance(fn, functools.partial) else fn
    name = getattr(target, "__name__", None) or type(target).__name__
    if isinstance(fn, functools.partial):
        name = f"partial({name})"
    if signature is None:
        return str(name)
    params = list(signature.parameters.values())
    shown: list[str] = []
    for index, param in enumerate(params):
        if param.kind is inspect.Parameter.KEYWORD_ONLY and "*" not in shown and not any(
            p.kind is inspect.Parameter.VAR_POSITIONAL for p in params
        ):
            shown.append("*")
        shown.append(_shown(param))
        following = params[index + 1].kind if index + 1 < len(params) else None
        if param.kind is inspect.Parameter.POSITIONAL_ONLY and following is not inspect.Parameter.POSITIONAL_ONLY:
            shown.append("/")
    return f"{name}({', '.join(shown)})"


def _shown(param: inspect.Parameter) -> str:
    if param.kind is inspect.Parameter.VAR_POSITIONAL:
        return f"*{param.name}"
    if param.kind is inspect.Parameter.VAR_KEYWORD:
        return f"**{param.name}"
    return param.name if param.default is _MISSING else f"{param.name}=..."


def type_name(tp: object) -> str:
    """A type as a message shows it: `Order`, `list[int]`, `Order | None`."""
    if tp is None or tp is type(None):
        return "None"
    args: tuple[object, ...] = typing.get_args(tp)
    origin = typing.get_origin(tp)
    if _is_union(tp):
        return " | ".join(type_name(arg) for arg in args)
    if origin is Literal:
        return f"Literal[{', '.join(map(repr, args))}]"
    if origin is not None and args:
        shown = ", ".join("..." if arg is Ellipsis else type_name(arg) for arg in args)
        return f"{type_name(origin)}[{shown}]"
    if isinstance(tp, type):
        return tp.__qualname__
    return repr(tp).replace("typing.", "")


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def awaitable_call(
    where: str, role: str, fn: Callable[..., object]
) -> Callable[..., Awaitable[object]]:
    """`fn` as a callable returning an awaitable; refuses one that cannot (a plain `def` or a class).

    A callable whose result nothing declares (a lambda) is wrapped: if it returns something that
    is not awaitable, the step fails terminally with a message saying so, instead of being
    retried forever.
    """
    if not callable(fn):
        raise StepDefinitionError(f"{where}: {role} must be an async function, got {fn!r}")
    awaits = _awaits(fn)
    if awaits is True:
        return typing.cast(Callable[..., Awaitable[object]], fn)
    label = _label(fn, signature_of(fn))
    if awaits is False:
        returned = type_hints(fn).get("return", _MISSING)
        gives = f"; it returns {type_name(returned)}" if returned is not _MISSING else ""
        raise StepDefinitionError(f"{where}: {role} {label} must be an async function (async def){gives}")

    @functools.wraps(fn)
    async def awaited(*args: object, **kwargs: object) -> object:
        result = fn(*args, **kwargs)
        if not inspect.isawaitable(result):
            raise TerminalError(
                f"{where}: {role} {label} returned {type(result).__name__}, not an awaitable (define it with async def)"
            )
        return await result

    return awaited


# --- parameters ----------------------------------------------------------------------------------


def _arity_problem(params: Sequence[inspect.Parameter], count: int) -> str | None:
    """Why a callable with `params` cannot be called with `count` positional arguments (None if it can)."""
    positional = [p for p in params if p.kind in _POSITIONAL]
    variadic = any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params)
    required = [p for p in positional if p.default is _MISSING]
    keyword_only = [p.name for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY and p.default is _MISSING]
    if len(required) > count:
        extra = ", ".join(repr(p.name) for p in required[count:])
        return f"needs {_plural(len(required), 'positional argument')} ({extra} would receive nothing)"
    if len(positional) < count and not variadic:
        return f"takes {_plural(len(positional), 'positional parameter')}"
    if keyword_only:
        return f"requires the keyword argument {keyword_only[0]!r}"
    return None


def check_action(where: str, fn: Callable[..., object], form: Literal["step", "seed"]) -> None:
    """A step's action takes one input (`step`, `hybrid_step`) or the seed's `(ctx, input)`."""
    signature = signature_of(fn)
    if signature is None:
        return
    count = 1 if form == "step" else 2
    problem = _arity_problem(tuple(signature.parameters.values()), count)
    if problem is None:
        return
    label = _label(fn, signature)
    if form == "seed":
        raise StepDefinitionError(f"{where}: the action {label} {problem}, but it is called as run(ctx, input)")
    required = [p for p in signature.parameters.values() if p.kind in _POSITIONAL and p.default is _MISSING]
    hint = " (an action taking (ctx, input) is built with create_saga_step or @saga_step)" if len(required) == 2 else ""
    raise StepDefinitionError(f"{where}: the action {label} {problem}, but it is called with its input only{hint}")


def compensation_keywords(where: str, fn: Callable[..., object]) -> tuple[bool, bool]:
    """Whether a compensation takes `failed=` and `cause=`; refuses one that cannot be called.

    A compensation is called as `compensate(data)`, plus `failed=` and `cause=` by keyword when it
    has parameters of those names (with or without defaults, keyword-only or not) or `**kwargs`.
    """
    signature = signature_of(fn)
    if signature is None:
        return False, False
    params = signature.parameters
    any_keyword = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    taken: list[str] = []
    for keyword in ("failed", "cause"):
        param = params.get(keyword)
        if param is None:
            if any_keyword:
                taken.append(keyword)
        elif param.kind in _BY_KEYWORD:
            taken.append(keyword)
        elif param.kind is inspect.Parameter.POSITIONAL_ONLY:
            raise StepDefinitionError(
                f"{where}: the compensation {_label(fn, signature)} takes {keyword!r} positionally only, "
                f"but it is passed by keyword ({keyword}=...)"
            )
    positional = [p for p in params.values() if p.kind in _POSITIONAL]
    clash = bool(positional) and positional[0].name in taken
    problem = None if clash else _arity_problem([p for p in params.values() if p.name not in taken], 1)
    if clash or problem is not None:
        label = _label(fn, signature)
        call = "compensate(data" + "".join(f", {k}=..." for k in taken) + ")"
        if clash:
            raise StepDefinitionError(
                f"{where}: the compensation {label} would receive the compensation data in "
                f"{positional[0].name!r}, which is also passed by keyword; it is called as {call}"
            )
        raise StepDefinitionError(f"{where}: the compensation {label} {problem}, but it is called as {call}")
    return "failed" in taken, "cause" in taken


SagaCodeForm = Literal["service", "embedded", "keyed"]


def check_saga_code(
    where: str, fn: Callable[..., object], form: SagaCodeForm, context_type: object = None, plain: str = ""
) -> tuple[Callable[..., Awaitable[object]], bool]:
    """Saga code as it will be called, and whether it takes an input.

    `service` code is called as `(saga, input)` or `(saga)`; `embedded` code (`as_step`,
    `nested`) as `(saga, input)`; `keyed` code (virtual objects, Restate workflows) as
    `(saga, ctx, input)` or `(saga, ctx)`, where `ctx` is a `context_type`. `plain` says how a
    plain Restate handler is registered instead (for a message about a handler without `saga`).
    """
    from ._context import SagaContext

    code = awaitable_call(where, "the saga handler", fn)
    signature = signature_of(fn)
    if signature is None:
        return code, True
    params = [p for p in signature.parameters.values() if p.kind in _POSITIONAL]
    variadic = any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in signature.parameters.values())
    full = 3 if form == "keyed" else 2
    takes_input = form == "embedded" or variadic or len(params) >= full
    expected = {
        "service": "(saga, input) or (saga)",
        "embedded": "(saga, input)",
        "keyed": "(saga, ctx, input) or (saga, ctx)",
    }[form]
    label = _label(fn, signature)
    problem = _arity_problem(tuple(signature.parameters.values()), full if takes_input else full - 1)
    hints = type_hints(fn)
    if params and _is_restate_context(params[0], hints):
        if form == "keyed":
            fix = f"add a `saga: SagaContext` parameter before {params[0].name!r}"
        else:
            fix = f"take `saga: SagaContext` instead of {params[0].name!r} (the Restate context is `saga.ctx`)"
        raise StepDefinitionError(
            f"{where}: the saga handler {label} takes the Restate context first, but it is called as "
            f"{expected}: {fix}{plain}"
        )
    if problem is not None:
        raise StepDefinitionError(f"{where}: the saga handler {label} {problem}, but it is called as {expected}")
    first = hints.get(params[0].name) if params else None
    if isinstance(first, type) and not _is_supertype(first, SagaContext):
        raise StepDefinitionError(
            f"{where}: the saga handler's parameter {params[0].name!r} is annotated {type_name(first)}, "
            "but it receives the SagaContext"
        )
    if form == "keyed" and isinstance(context_type, type) and len(params) >= 2:
        second = hints.get(params[1].name)
        if isinstance(second, type) and not _is_supertype(second, context_type):
            raise StepDefinitionError(
                f"{where}: the saga handler's parameter {params[1].name!r} is annotated {type_name(second)}, "
                f"but it receives the {context_type.__module__.split('.')[0]}.{context_type.__name__}"
            )
    return code, takes_input


def _is_restate_context(param: inspect.Parameter, hints: Mapping[str, object]) -> bool:
    import restate

    hint = hints.get(param.name)
    if hint is None:
        return param.name in ("ctx", "context")
    return isinstance(hint, type) and issubclass(hint, restate.Context)


def _is_supertype(annotated: type, received: type) -> bool:
    try:
        return issubclass(received, annotated)
    except TypeError:  # protocols and other forms issubclass cannot check
        return True


# --- adjacent steps ------------------------------------------------------------------------------


def check_link(first: Node, second: Node) -> None:
    """Refuse `first.then(second)` when both are annotated and `second` does not accept `first`'s output."""
    produced = _exit(first)
    if produced is None:
        return
    source, output = produced
    for target, parameter, accepted in _entries(second):
        if not accepts(accepted, output):
            its = f"its input {parameter!r}" if parameter else "its input"
            raise StepDefinitionError(
                f"step {target!r} cannot follow step {source!r}: {its} is {type_name(accepted)}, "
                f"but {source!r} returns {type_name(output)}"
            )


def _exit(node: Node) -> tuple[str, object] | None:
    """The last step of a pipeline and its declared output type (None when not known)."""
    while True:
        match node:
            case Then(second=inner) | Nested(body=inner) | Fallback(primary=inner) | Timeout(body=inner):
                node = inner
            case Leaf(name=name, codec=codec):
                return (name, codec.output_type) if codec.output_type is not Any else None
            case Remote(name=name, output_type=declared):
                return (name, declared) if declared is not Any else None
            case Parallel(name=name, branches=branches):
                outputs = tuple(leaf.codec.output_type for leaf in branches)
                return None if Any in outputs else (name, types.GenericAlias(tuple, outputs))
            case MapNode() | Handler():
                return None
            case _:
                assert_never(node)


def _entries(node: Node) -> list[tuple[str, str | None, object]]:
    """The first steps of a pipeline: (step, input parameter, declared input type), when declared."""
    match node:
        case Then(first=inner) | Nested(body=inner) | Timeout(body=inner):
            return _entries(inner)
        case Fallback(primary, alternative):
            return _entries(primary) + _entries(alternative)
        case Leaf(name=name, input_parameter=parameter, input_type=declared):
            return [(name, parameter, declared)] if declared is not Any else []
        case Remote(name=name, input_type=declared):
            return [(name, None, declared)] if declared is not Any else []
        case Parallel(branches=branches):
            return [entry for leaf in branches for entry in _entries(leaf)]
        case MapNode() | Handler():
            return []
        case _:
            assert_never(node)


_PROMOTIONS: dict[type, tuple[type, ...]] = {float: (int,), complex: (int, float), bytes: (bytearray, memoryview)}


def accepts(target: object, source: object) -> bool:
    """Whether a step declaring input `target` accepts a value of declared type `source`.

    Static assignability, lenient where a runtime check cannot be sure (type variables, protocols,
    the arguments of generics other than tuples), and where validation builds the input: a
    mapping is accepted by a pydantic model, a dataclass or a TypedDict.
    """
    if target == source:
        return True
    target, source = _plain(target), _plain(source)
    if target is Any or source is Any or target is object or source is typing.Never or source is typing.NoReturn:
        return True
    if isinstance(target, typing.TypeVar) or isinstance(source, typing.TypeVar):
        return True
    if _is_union(source):
        return all(accepts(target, member) for member in typing.get_args(source))
    if _is_union(target):
        return any(accepts(member, source) for member in typing.get_args(target))
    if typing.get_origin(source) is Literal:
        values: tuple[object, ...] = typing.get_args(source)
        if typing.get_origin(target) is Literal:
            return set(values) <= set(typing.get_args(target))
        return all(accepts(target, type(value)) for value in values)
    if typing.get_origin(target) is Literal:
        literals: tuple[object, ...] = typing.get_args(target)
        return all(accepts(source, type(value)) for value in literals)
    target_class, source_class = typing.get_origin(target) or target, typing.get_origin(source) or source
    if not isinstance(target_class, type) or not isinstance(source_class, type):
        return True
    try:
        related = issubclass(source_class, target_class)
    except TypeError:  # TypedDicts, non-runtime protocols: not checkable
        return True
    if not related:
        if source_class in _PROMOTIONS.get(target_class, ()):
            return True
        return issubclass(source_class, Mapping) and _built_from_mapping(target_class)
    return _arguments_accept(target, source, target_class)


def _plain(tp: object) -> object:
    """`tp` without `Annotated`, `NewType` and `type` aliases; `None` as `NoneType`."""
    while True:
        if tp is None:
            return type(None)
        if typing.get_origin(tp) is typing.Annotated:
            tp = typing.get_args(tp)[0]
        elif isinstance(tp, typing.NewType):
            tp = tp.__supertype__
        elif hasattr(tp, "__value__") and type(tp).__name__ == "TypeAliasType":
            tp = getattr(tp, "__value__")  # noqa: B009
        else:
            return tp


def _is_union(tp: object) -> bool:
    return typing.get_origin(tp) in (typing.Union, types.UnionType)


def _built_from_mapping(cls: type[object]) -> bool:
    from pydantic import BaseModel

    return issubclass(cls, BaseModel) or dataclasses.is_dataclass(cls) or typing.is_typeddict(cls)


def _arguments_accept(target: object, source: object, target_class: type) -> bool:
    wanted, given = typing.get_args(target), typing.get_args(source)
    if not wanted or not given:
        return True
    if target_class is tuple:
        if Ellipsis in wanted or Ellipsis in given:
            return True
        return len(wanted) == len(given) and all(map(accepts, wanted, given))
    if typing.get_origin(target) is typing.get_origin(source) and len(wanted) == len(given):
        return all(map(accepts, wanted, given))
    return True
