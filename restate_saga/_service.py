"""The saga service: saga code (or a pipeline) exposed as a `restate.Service` with a `run` handler."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Final, Generic, cast

import restate
from typing_extensions import TypeVar

from ._context import SagaContext
from ._engine import run_saga
from ._errors import PlanChangedError, StepDefinitionError
from ._metadata import handler_metadata, publish
from ._nodes import Handler
from ._options import DEFAULT_RUN_OPTIONS, SagaWorkflowOptions, service_options
from ._plans import CodePlan, Plan, describe, fingerprint
from ._sealing import open_input, seal_output
from ._serde import RAW, decode_input, encode_output
from ._signatures import handler_types, restate_signature
from ._step import Step, is_step
from ._validation import input_validator, validate_input

I = TypeVar("I")
O = TypeVar("O")
I_contra = TypeVar("I_contra", contravariant=True)
O_co = TypeVar("O_co", covariant=True)

SagaHandler = Callable[[SagaContext, I], Awaitable[O]]
"""Saga code: `async def handler(saga, value) -> result`. A `Step` is one too."""


PLAN_ENTRY = "restate_saga:plan"


async def _check_fingerprint(ctx: restate.Context, saga: str, planned: str) -> None:
    async def record() -> bytes:
        return planned.encode()

    started = (await ctx.run_typed(PLAN_ENTRY, record, DEFAULT_RUN_OPTIONS)).decode()
    if started != planned:
        raise PlanChangedError(saga, started, planned)


def _validate_pipeline(handler: object) -> None:
    if is_step(handler):
        handler.validate()


class SagaWorkflowService(restate.Service, Generic[I_contra, O_co]):
    """A `restate.Service` whose `run` handler runs one saga; mount it with `restate.app(services=[...])`."""

    def __init__(
        self, name: str, handler: SagaHandler[I_contra, O_co], options: SagaWorkflowOptions | None = None
    ) -> None:
        super().__init__(name, **service_options(options))
        _validate_pipeline(handler)
        self.options = options or SagaWorkflowOptions()
        self.saga_handler: Final[SagaHandler[I_contra, O_co]] = handler
        code, input_type, output_type, takes_input = handler_types(f"saga service {name!r}", handler, "service")
        publish(self, "service", options, self.plan)
        self.input_type = input_type
        self.output_type = output_type
        self._validator = input_validator(input_type)
        self._code: Callable[[SagaContext, object], Awaitable[object]] = (
            code if takes_input else lambda saga, _value: code(saga)
        )
        target = f"{name}.run"
        codec = self.options.codec
        io_codec = codec if codec is not None and codec.encrypt_io else None

        async def body(saga: SagaContext, raw: bytes) -> bytes:
            if io_codec is not None:
                value = open_input(saga, io_codec, name, "run", None, input_type, raw) if takes_input else None
                result = await code(saga, value) if takes_input else await code(saga)
                return seal_output(saga, io_codec, target, output_type, result)
            value = decode_input(target, input_type, raw) if takes_input else None
            return encode_output(target, output_type, await code(saga, value) if takes_input else await code(saga))

        policy, interceptors = self.options.compensation, self.options.interceptors
        planned = fingerprint(self.plan) if self.options.record_plan_fingerprint else None
        if planned is not None and not isinstance(handler, Step):
            raise StepDefinitionError(
                f"saga service {name!r}: record_plan_fingerprint needs a pipeline (Step); the steps of saga "
                "code are only known when it runs, so a change to them could not be detected"
            )

        async def run(ctx: restate.Context, raw: bytes = b"") -> bytes:
            if planned is not None:
                await _check_fingerprint(ctx, name, planned)
            return await run_saga(ctx, body, raw, policy, interceptors=interceptors, name=name, codec=codec)

        run.__signature__ = restate_signature(restate.Context, input_type, output_type, takes_input)  # type: ignore[attr-defined]
        run.__name__ = "run"
        run.__doc__ = None if isinstance(handler, Step) else inspect.getdoc(handler)
        self.handler(name="run", input_serde=RAW, output_serde=RAW, metadata=handler_metadata())(run)

    async def run_as_step(self, parent_saga: SagaContext, value: I_contra) -> O_co:
        """Run this saga inside `parent_saga`: its compensations join the parent's stack."""
        if self._validator is not None:
            value = validate_input(f"{self.name}.run", self._validator, value)
        return cast(O_co, await self._code(parent_saga, value))

    def __repr__(self) -> str:
        return f"SagaWorkflowService({self.name!r})"

    def as_step(self) -> Step[I_contra, O_co, None]:
        """This saga as a step of a pipeline (same as `run_as_step`)."""
        return Step(self.name, Handler(self.name, self.run_as_step))

    @property
    def plan(self) -> Plan:
        """The saga's shape: the pipeline's plan, or opaque code for a handler function."""
        handler: object = self.saga_handler
        if is_step(handler):
            return describe(handler.node)
        return CodePlan(getattr(handler, "__name__", self.name))


def create_saga_workflow(
    name: str, handler: SagaHandler[I, O], options: SagaWorkflowOptions | None = None
) -> SagaWorkflowService[I, O]:
    """Expose saga code (or a `Step` pipeline) as a Restate service named `name` with a `run` handler.

    The handler's input is validated against the annotated type of `value` (status 400 when it
    does not match) and its result serialized by the annotated return type. A pipeline is
    checked when the service is built (no step name twice along one path). `options` sets the
    service's Restate options and its compensation policy.
    """
    if not name or not name.isidentifier():
        raise StepDefinitionError(f"a saga service needs an identifier-like name, got {name!r}")
    return SagaWorkflowService(name, handler, options)


def saga_workflow(
    name: str, options: SagaWorkflowOptions | None = None
) -> Callable[[SagaHandler[I, O]], SagaWorkflowService[I, O]]:
    """Decorator form of `create_saga_workflow`."""

    def decorate(handler: SagaHandler[I, O]) -> SagaWorkflowService[I, O]:
        return create_saga_workflow(name, handler, options)

    return decorate
