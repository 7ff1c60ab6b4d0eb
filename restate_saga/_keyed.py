"""Keyed saga services: saga handlers on Restate virtual objects and long-running Restate workflows."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any, Literal, TypeVar, cast, overload

import restate

from ._context import SagaContext
from ._engine import run_saga
from ._errors import NoMainHandlerError, StepDefinitionError
from ._interceptors import CompensationDone, EscalationParked, EscalationResumed, SagaInterceptor, StepDone
from ._metadata import handler_metadata, publish
from ._options import SagaWorkflowOptions, service_options
from ._sealing import open_input, seal_output
from ._serde import RAW, decode_input, encode_output
from ._signatures import handler_types, restate_signature
from ._validation import input_validator, validate_input

I = TypeVar("I")
O = TypeVar("O")
CtxT = TypeVar("CtxT", bound=restate.Context)
F = TypeVar("F", bound=Callable[..., Awaitable[Any]])

KeyedSagaHandler = Callable[[SagaContext, CtxT, I], Awaitable[O]]
"""`async def handler(saga, ctx, value) -> result`: saga code with the keyed Restate context."""


def _restate_handler(
    target: str,
    handler: Callable[..., Awaitable[Any]],
    context_type: object,
    options: SagaWorkflowOptions | None,
) -> Callable[..., Awaitable[bytes]]:
    """Wrap `handler(saga, ctx, value)` as a Restate handler `(ctx, raw) -> bytes` that runs one saga."""
    plain = (
        " (or register it with .handler() as a plain shared handler)"
        if context_type is restate.WorkflowContext
        else " (or register it with kind='shared' as a plain Restate handler)"
    )
    code, input_type, output_type, takes_input = handler_types(target, handler, "keyed", context_type, plain)
    configured = options or SagaWorkflowOptions()
    policy, interceptors, codec = configured.compensation, configured.interceptors, configured.codec
    track = policy.on_failure == "escalate"
    io_codec = codec if codec is not None and codec.encrypt_io else None
    service, _, handler_name = target.rpartition(".")

    async def run(ctx: restate.Context, raw: bytes = b"") -> bytes:
        async def body(saga: SagaContext, payload: bytes) -> bytes:
            if io_codec is not None:
                key = cast(restate.ObjectContext, ctx).key()
                if takes_input:
                    value = open_input(saga, io_codec, service, handler_name, key, input_type, payload)
                    result = await code(saga, ctx, value)
                else:
                    result = await code(saga, ctx)
                return seal_output(saga, io_codec, target, output_type, result)
            if takes_input:
                result = await code(saga, ctx, decode_input(target, input_type, payload))
            else:
                result = await code(saga, ctx)
            return encode_output(target, output_type, result)

        status = (_StatusWriter(cast(restate.ObjectContext, ctx)),) if track else ()
        interceptors_here = (*interceptors, *status)
        return await run_saga(ctx, body, raw, policy, interceptors=interceptors_here, name=target, codec=codec)

    run.__signature__ = restate_signature(context_type, input_type, output_type, takes_input)  # type: ignore[attr-defined]
    run.__name__ = getattr(handler, "__name__", type(handler).__name__)
    run.__doc__ = inspect.getdoc(handler)
    return run


STATUS_KEY = "restate_saga.status"


class _StatusWriter(SagaInterceptor):
    """Keeps the saga's progress in the object's state, for the `status` handler.

    It writes Restate state, so it sees replayed events too: the same writes at the same places
    on every execution, as the journal requires (one state write per step and compensation).
    """

    observes_replays = True

    def __init__(self, ctx: restate.ObjectContext) -> None:
        self._ctx = ctx
        self._steps: list[str] = []
        self._compensations: list[str] = []
        self._parked: dict[str, str] | None = None

    def _write(self) -> None:
        status = {"steps_done": self._steps, "compensations_done": self._compensations, "parked": self._parked}
        self._ctx.set(STATUS_KEY, status)

    def step_done(self, event: StepDone) -> None:
        self._steps.append(event.step)
        self._write()

    def compensation_done(self, event: CompensationDone) -> None:
        self._compensations.append(event.step)
        self._write()

    def escalation_parked(self, event: EscalationParked) -> None:
        self._parked = {"step": event.step, "awakeable_id": event.awakeable_id, "reason": event.reason}
        self._write()

    def escalation_resumed(self, event: EscalationResumed) -> None:
        self._parked = None
        self._write()


async def _read_status(ctx: restate.ObjectSharedContext) -> dict[str, Any]:
    """The saga's progress: steps done, compensations done, and what is parked (if anything)."""
    saved = await ctx.get(STATUS_KEY, type_hint=dict[str, Any])
    return saved or {"steps_done": [], "compensations_done": [], "parked": None}


def _wants_status(options: SagaWorkflowOptions | None) -> bool:
    return options is not None and options.compensation.on_failure == "escalate"


class SagaVirtualObject(restate.VirtualObject):
    """A Restate virtual object whose exclusive handlers run as sagas."""

    def __init__(self, name: str, options: SagaWorkflowOptions | None = None) -> None:
        super().__init__(name, **service_options(options))  # pyright: ignore[reportUnknownMemberType]
        publish(self, "virtual_object", options)
        self.options = options
        if _wants_status(options):

            async def status(ctx: restate.ObjectSharedContext) -> dict[str, Any]:
                return await _read_status(ctx)

            restate.VirtualObject.handler(self, name="status", kind="shared")(status)

    @overload  # type: ignore[override]  # the seed's saga-aware signature
    def handler(
        self, name: str | None = None, kind: Literal["exclusive"] = "exclusive"
    ) -> Callable[[KeyedSagaHandler[restate.ObjectContext, I, O]], KeyedSagaHandler[restate.ObjectContext, I, O]]: ...
    @overload
    def handler(self, name: str | None = None, *, kind: Literal["shared"]) -> Callable[[F], F]: ...
    def handler(  # pyright: ignore[reportIncompatibleMethodOverride]  # the seed's saga-aware signature
        self, name: str | None = None, kind: Literal["exclusive", "shared"] = "exclusive"
    ) -> Any:
        """Register a handler: exclusive ones get `(saga, ctx, value)`; shared ones are plain handlers."""
        register = super().handler

        def decorate(fn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
            if kind == "shared":
                register(name=name, kind="shared")(fn)
                return fn
            wrapped = _restate_handler(f"{self.name}.{name or fn.__name__}", fn, restate.ObjectContext, self.options)
            saga = handler_metadata()
            register(name=name or fn.__name__, kind="exclusive", input_serde=RAW, output_serde=RAW, metadata=saga)(
                wrapped
            )
            return fn

        return decorate

    def __repr__(self) -> str:
        return f"SagaVirtualObject({self.name!r})"


class SagaRestateWorkflow(restate.Workflow):
    """A long-running Restate workflow whose `main` handler runs as a saga."""

    def __init__(self, name: str, options: SagaWorkflowOptions | None = None) -> None:
        super().__init__(name, **service_options(options))  # pyright: ignore[reportUnknownMemberType]
        publish(self, "workflow", options)
        self.options = options
        self._main: Callable[..., Awaitable[Any]] | None = None
        if _wants_status(options):

            async def status(ctx: restate.WorkflowSharedContext) -> dict[str, Any]:
                return await _read_status(ctx)

            restate.Workflow.handler(self, name="status")(status)
        self._main_validator: Any = None
        self._main_name = "run"

    def main(  # type: ignore[override]  # pyright: ignore[reportIncompatibleMethodOverride]  # the seed's signature
        self, name: str | None = None
    ) -> Callable[[KeyedSagaHandler[restate.WorkflowContext, I, O]], KeyedSagaHandler[restate.WorkflowContext, I, O]]:
        """Register the workflow's main handler, which gets `(saga, ctx, value)`.

        Its handler name is `name`, or the function's name (as in restate-saga 0.1.0).
        """

        def decorate(
            fn: KeyedSagaHandler[restate.WorkflowContext, I, O],
        ) -> KeyedSagaHandler[restate.WorkflowContext, I, O]:
            if self._main is not None:
                raise StepDefinitionError(f"workflow {self.name!r} already has a main handler")
            handler_name = name or fn.__name__
            wrapped = _restate_handler(f"{self.name}.{handler_name}", fn, restate.WorkflowContext, self.options)
            super(SagaRestateWorkflow, self).main(
                name=handler_name, input_serde=RAW, output_serde=RAW, metadata=handler_metadata()
            )(wrapped)
            self._main_name = handler_name
            self._main = fn
            self._main_validator = input_validator(handler_types(f"{self.name}.{handler_name}", fn, "keyed")[1])
            return fn

        return decorate

    def handler(self, name: str | None = None) -> Callable[[F], F]:  # type: ignore[override]  # pyright: ignore[reportIncompatibleMethodOverride]
        """Register a shared handler (signals, queries): a plain Restate handler."""

        def decorate(fn: F) -> F:
            super(SagaRestateWorkflow, self).handler(name=name)(fn)
            return fn

        return decorate

    def __repr__(self) -> str:
        return f"SagaRestateWorkflow({self.name!r})"

    async def run_as_step(self, parent_saga: SagaContext, value: object) -> object:
        """Run the main handler inside `parent_saga` (with the parent's context); compensations join it."""
        if self._main is None:
            raise NoMainHandlerError(f"SagaRestateWorkflow({self.name!r}) has no @main handler registered")
        if self._main_validator is not None:
            value = validate_input(f"{self.name}.{self._main_name}", self._main_validator, value)
        return await self._main(parent_saga, cast(restate.WorkflowContext, parent_saga.ctx), value)


def create_saga_virtual_object(name: str, options: SagaWorkflowOptions | None = None) -> SagaVirtualObject:
    """A virtual object named `name` whose exclusive handlers run as sagas."""
    return SagaVirtualObject(name, options)


def create_saga_restate_workflow(name: str, options: SagaWorkflowOptions | None = None) -> SagaRestateWorkflow:
    """A long-running Restate workflow named `name` with a saga `main` handler."""
    return SagaRestateWorkflow(name, options)
