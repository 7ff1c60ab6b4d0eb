"""`Step[I, O, C]`: an immutable, typed saga step, and the combinators that compose steps."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Generic, Never, cast, final, overload

import restate
from pydantic import JsonValue
from pydantic.errors import PydanticSchemaGenerationError
from typing_extensions import TypeIs, TypeVar

from ._codec import StepCodec, adapter_for
from ._context import SagaContext
from ._definitions import (
    awaitable_call,
    check_action,
    check_link,
    check_saga_code,
    compensation_keywords,
    signature_of,
    type_hints,
)
from ._diagrams import to_dot, to_mermaid
from ._encryption import EncryptionCodec
from ._engine import execute, run_leaf, run_saga
from ._errors import StepDefinitionError
from ._interceptors import SagaInterceptor
from ._nodes import Fallback, Handler, Leaf, MapNode, Mode, Nested, Node, Parallel, Then, Timeout
from ._options import DEFAULT_COMPENSATION_POLICY, DEFAULT_RUN_OPTIONS, CompensationPolicy, SagaStepOptions
from ._plans import Plan, check_plan, describe, fingerprint
from ._response import StepResponse
from ._validation import input_validator

if TYPE_CHECKING:
    from ._compensations import Compensation

I = TypeVar("I", contravariant=True)
O = TypeVar("O", covariant=True)
C = TypeVar("C", covariant=True)
I2 = TypeVar("I2")
O2 = TypeVar("O2")
C2 = TypeVar("C2")

_DEFAULT_OPTIONS = SagaStepOptions()


@final
@dataclass(frozen=True, slots=True, eq=False)
class Step(Generic[I, O, C]):
    """A saga step from input `I` to output `O` whose compensation receives `C`.

    A value: combinators return new steps and never change this one. Build leaves with `step`,
    `hybrid_step` or the decorators; compose them with `then`, `map`, `nested` and `as_step`.
    Composites carry no compensation data of their own (`C` is `None`); each leaf inside
    registers its own compensation when it runs.
    """

    name: str
    node: Node

    def __call__(self, saga: SagaContext, value: I, /) -> Awaitable[O]:
        """Run this step inside `saga`; its compensations join the saga's stack."""
        node = self.node
        if isinstance(node, Leaf):
            return cast(Awaitable[O], run_leaf(saga, node, value))
        return cast(Awaitable[O], execute(node, saga, value))

    async def run(
        self,
        ctx: restate.Context,
        value: I,
        /,
        policy: CompensationPolicy = DEFAULT_COMPENSATION_POLICY,
        *,
        interceptors: Sequence[SagaInterceptor] = (),
        name: str | None = None,
        codec: EncryptionCodec | None = None,
    ) -> O:
        """Run this step as a whole saga in a Restate handler; roll back on a terminal failure.

        `interceptors` are told what happens (after the global ones); `name` names the saga to them.
        `codec` encrypts the journal values of its steps (see `EncryptionCodec`).
        """
        return await run_saga(ctx, self, value, policy, interceptors=interceptors, name=name, codec=codec)

    def then(self, next_step: Step[O, O2, object], /) -> Step[I, O2, None]:
        """This step, then `next_step` on its output."""
        check_link(self.node, next_step.node)
        first = self.name.split(" >> ", 1)[0]
        last = next_step.name.rsplit(" >> ", 1)[-1]
        return Step(f"{first} >> {last}", Then(self.node, next_step.node))

    def map(self, fn: Callable[[O], O2], /, label: str | None = None) -> Step[I, O2, None]:
        """A pure transform of this step's output; costs no journal entry (keep it deterministic)."""
        name = label or str(getattr(fn, "__name__", "map"))
        return Step(self.name, Then(self.node, MapNode(fn, name)))

    def or_else(self: Step[I2, O2, object], alternative: Step[I2, O2, object], /) -> Step[I2, O2, None]:
        """This step; if it fails for good, undo what it did, then run `alternative` on the same input.

        A cancellation is not a failure to recover from: it rolls the whole saga back.
        """
        return Step(f"{self.name} | {alternative.name}", Fallback(self.node, alternative.node))

    def with_timeout(self, timeout: timedelta, /) -> Step[I, O, C]:
        """This step (a single step or a parallel group) with a durable deadline.

        When it expires the saga fails with `StepTimeoutError` (408) and compensates. An action
        already running is allowed to finish first, so that it never lands after its own undo.
        """
        seconds = timeout.total_seconds()
        if seconds <= 0:
            raise StepDefinitionError(f"step {self.name!r}: a timeout must be positive, got {timeout}")
        node = self.node
        if not isinstance(node, Leaf | Parallel):
            raise StepDefinitionError(
                f"step {self.name!r}: with_timeout applies to a single step or a parallel group, "
                "not to a composed pipeline (give each of its steps its own deadline)"
            )
        return Step(self.name, Timeout(node, seconds))

    def with_upgrade(
        self: Step[I2, O2, C2],
        output: Callable[[JsonValue], O2] | None = None,
        /,
        *,
        compensation_data: Callable[[JsonValue], C2] | None = None,
    ) -> Step[I2, O2, C2]:
        """This step, able to read journal values written by an earlier version of it.

        When a journaled output does not validate against the step's current output type (a
        redeploy changed its model while invocations were in flight: a new required field, a changed
        type), `output(old)` receives the old value as plain JSON data and returns the current type
        (then validated); `compensation_data` does the same for compensation data journaled apart
        from the output (it defaults to `output` when both types are the same). Values that validate
        as they are never reach an upgrade. An upgrade runs during replays: keep it pure and
        deterministic. Without one, such a value fails the step with `JournalValueMismatchError`.
        """
        if output is None and compensation_data is None:
            raise StepDefinitionError(f"step {self.name!r}: with_upgrade needs an output or compensation_data upgrade")
        node = self.node
        match node:
            case Leaf():
                return Step(self.name, replace(node, codec=node.codec.with_upgrades(output, compensation_data)))
            case Timeout(body=Leaf() as leaf):
                upgraded = replace(leaf, codec=leaf.codec.with_upgrades(output, compensation_data))
                return Step(self.name, Timeout(upgraded, node.seconds))
            case _:
                raise StepDefinitionError(
                    f"step {self.name!r}: with_upgrade applies to a single step (whose values are journaled), "
                    "not to a composed pipeline or group; upgrade each step that needs it"
                )

    @property
    def plan(self) -> Plan:
        """This step's shape as frozen data (prints as a readable tree)."""
        return describe(self.node)

    @property
    def fingerprint(self) -> str:
        """A stable hash of this step's shape (names, order, modes; not retry options)."""
        return fingerprint(self.plan)

    def to_mermaid(self) -> str:
        """A Mermaid flowchart of the forward steps and the compensation path."""
        return to_mermaid(self.plan)

    def to_dot(self) -> str:
        """A Graphviz DOT digraph of the forward steps and the compensation path."""
        return to_dot(self.plan)

    def validate(self) -> Step[I, O, C]:
        """Check the whole plan (no step name twice along one path); returns this step."""
        check_plan(self.plan, self.name)
        return self

    def __repr__(self) -> str:
        return f"Step({self.name!r})"

    def __str__(self) -> str:
        return str(self.plan)


def is_step(value: object) -> TypeIs[Step[Any, Any, Any]]:
    """Whether `value` is a `Step` (of any types)."""
    return isinstance(value, Step)


def leaf_step(
    name: str,
    action: Callable[[Any], Awaitable[object]],
    compensate: Callable[..., Awaitable[object]] | None,
    mode: Mode,
    options: SagaStepOptions | None,
    hints_from: Callable[..., object] | None = None,
    input_position: int = 0,
) -> Step[Any, Any, Any]:
    """Validate a step definition and build its leaf."""
    if not isinstance(name, str) or not name.strip():  # pyright: ignore[reportUnnecessaryIsInstance]
        raise StepDefinitionError(f"a step needs a non-empty name, got {name!r}")
    where = f"step {name!r}"
    source = hints_from or action
    checked = awaitable_call(where, "the action", source)
    check_action(where, source, "step" if hints_from is None else "seed")
    if hints_from is None:
        action = checked
    takes_failed = takes_cause = False
    if compensate is not None:
        takes_failed, takes_cause = compensation_keywords(where, compensate)
        compensate = awaitable_call(where, "the compensation", compensate)
    options = options or _DEFAULT_OPTIONS
    input_parameter, input_type, output_type, data_type = _hints(source, input_position)
    _check_serializable(name, "output", output_type)
    if compensate is not None:
        _check_serializable(name, "compensation data", data_type)
    leaf = Leaf(
        name=name,
        action=action,
        compensation=compensate,
        mode=mode,
        options=options,
        codec=StepCodec(name, output_type, data_type, compensate is not None),
        compensation_takes_failed=takes_failed,
        compensation_takes_cause=takes_cause,
        input_validator=input_validator(input_type),
        input_type=input_type,
        input_parameter=input_parameter,
        run_options=options.retry.to_run_options() if options.retry else DEFAULT_RUN_OPTIONS,
        compensation_run_options=(
            options.compensation_retry.to_run_options() if options.compensation_retry else DEFAULT_RUN_OPTIONS
        ),
    )
    return Step(name, leaf)


def _check_serializable(name: str, what: str, tp: object) -> None:
    try:
        adapter_for(tp)
    except PydanticSchemaGenerationError as error:
        raise StepDefinitionError(
            f"step {name!r}: its {what} type {tp!r} cannot be stored in the journal; use a pydantic model, "
            f"a dataclass, or JSON types ({error.message})"
        ) from None


def _hints(fn: Callable[..., object], input_position: int) -> tuple[str | None, object, object, object]:
    """Runtime (input parameter, input, output, compensation data) types from an action's annotations.

    Types are Any where not annotated (or not resolvable).
    """
    hints = type_hints(fn)
    signature = signature_of(fn)
    params = [p for p in signature.parameters.values() if p.kind in _POSITIONAL] if signature else []
    parameter: str | None = None
    input_type: object = Any
    if len(params) > input_position:
        parameter = params[input_position].name
        input_type = hints.get(parameter, Any)
    returned: object = hints.get("return", Any)
    if typing.get_origin(returned) is StepResponse or returned is StepResponse:
        args = typing.get_args(returned)
        output_type: object = args[0] if args else Any
        data_type: object = args[1] if len(args) > 1 else Any
        return parameter, input_type, output_type, data_type
    return parameter, input_type, returned, returned


_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


@overload
def step(
    name: str,
    action: Callable[[I2], Awaitable[StepResponse[O2, object]]],
    compensate: None = None,
    *,
    options: SagaStepOptions | None = None,
) -> Step[I2, O2, Never]: ...
@overload
def step(
    name: str,
    action: Callable[[I2], Awaitable[StepResponse[O2, C2]]],
    compensate: Compensation[C2],
    *,
    options: SagaStepOptions | None = None,
) -> Step[I2, O2, C2]: ...
@overload
def step(
    name: str,
    action: Callable[[I2], Awaitable[O2]],
    compensate: None = None,
    *,
    options: SagaStepOptions | None = None,
) -> Step[I2, O2, Never]: ...
@overload
def step(
    name: str,
    action: Callable[[I2], Awaitable[O2]],
    compensate: Compensation[O2],
    *,
    options: SagaStepOptions | None = None,
) -> Step[I2, O2, O2]: ...
def step(
    name: str,
    action: Callable[[Any], Awaitable[Any]],
    compensate: Compensation[Any] | None = None,
    *,
    options: SagaStepOptions | None = None,
) -> Step[Any, Any, Any]:
    """A strict step: its compensation is registered after the action succeeded.

    A step without a compensation is a `Step[I, O, Never]`: nothing ever receives its data.

    `action(value)` returns the output, or a `StepResponse` to set the compensation data or
    report a permanent failure. `compensate(data)` undoes it; it may also take `failed=` and `cause=`.
    """
    return leaf_step(name, action, compensate, Mode.STRICT, options)


@overload
def hybrid_step(
    name: str,
    action: Callable[[I2], Awaitable[StepResponse[O2, object]]],
    compensate: None = None,
    *,
    options: SagaStepOptions | None = None,
) -> Step[I2, O2, Never]: ...
@overload
def hybrid_step(
    name: str,
    action: Callable[[I2], Awaitable[O2]],
    compensate: None = None,
    *,
    options: SagaStepOptions | None = None,
) -> Step[I2, O2, Never]: ...
@overload
def hybrid_step(
    name: str,
    action: Callable[[I2], Awaitable[StepResponse[O2, C2]]],
    compensate: Compensation[C2 | I2],
    *,
    options: SagaStepOptions | None = None,
) -> Step[I2, O2, C2 | I2]: ...
@overload
def hybrid_step(
    name: str,
    action: Callable[[I2], Awaitable[O2]],
    compensate: Compensation[O2 | I2],
    *,
    options: SagaStepOptions | None = None,
) -> Step[I2, O2, O2 | I2]: ...
def hybrid_step(
    name: str,
    action: Callable[[Any], Awaitable[Any]],
    compensate: Compensation[Any] | None = None,
    *,
    options: SagaStepOptions | None = None,
) -> Step[Any, Any, Any]:
    """A hybrid step: its compensation is registered before the action runs.

    If the action fails for good, the compensation still runs with the step's input (or the data
    of a permanent failure) and, if it accepts it, `failed=True`. So its data type is `C | I`.
    """
    return leaf_step(name, action, compensate, Mode.HYBRID, options)


@overload
def nested(name: str, body: Step[I2, O2, object], /) -> Step[I2, O2, None]: ...
@overload
def nested(name: str, body: Callable[[SagaContext, I2], Awaitable[O2]], /) -> Step[I2, O2, None]: ...
def nested(
    name: str, body: Step[Any, Any, object] | Callable[[SagaContext, Any], Awaitable[Any]], /
) -> Step[Any, Any, None]:
    """A named nested saga scope: runs `body` (a pipeline or saga code); its compensations join the saga."""
    if isinstance(body, Step):
        return Step(name, Nested(name, body.node))
    return Step(name, Nested(name, Handler(name, _checked_handler(name, body))))


def as_step(handler: Callable[[SagaContext, I2], Awaitable[O2]], /, name: str | None = None) -> Step[I2, O2, None]:
    """Saga code `async def handler(saga, value)` as a step; its steps join the enclosing saga."""
    label = name or str(getattr(handler, "__name__", "handler"))
    return Step(label, Handler(label, _checked_handler(label, handler)))


def _checked_handler(
    name: str, handler: Callable[[SagaContext, Any], Awaitable[Any]]
) -> Callable[[SagaContext, Any], Awaitable[Any]]:
    if not callable(handler):
        raise StepDefinitionError(f"step {name!r}: expected a step or an async saga handler, got {handler!r}")
    return check_saga_code(f"step {name!r}", handler, "embedded")[0]
