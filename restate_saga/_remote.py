"""Remote sub-sagas: a saga in another service, run as one durable call and undone by another.

Unlike `nested`, which shares the caller's compensation stack inside one invocation, a remote
sub-saga runs in its own invocation (its own journal, possibly another deployment). The callee is
a virtual object keyed per call: `run` executes the saga and, when it succeeds, keeps what its
compensations need in the object's state; `compensate` undoes that run later, once.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, cast

import restate
from pydantic import ValidationError
from restate import TerminalError
from typing_extensions import TypeVar

from ._codec import adapter_for, check_size, type_name
from ._context import PendingCompensation, PendingRemote, SagaContext
from ._encryption import EncryptionCodec
from ._engine import run_saga
from ._envelope import Binding
from ._errors import SagaCompensatedError, StepDataChangedError, StepDefinitionError, StepFailedError
from ._metadata import handler_metadata, publish
from ._nodes import Leaf, Remote, input_type_of, leaves_of, output_type_of
from ._options import SagaWorkflowOptions, service_options
from ._payload_checks import require_payload_checks_off
from ._rollback import REMOTE_COMPENSATE, REMOTE_RUN, compensate
from ._sealing import open_value, seal_value
from ._serde import RAW, decode_input, encode_output
from ._signatures import restate_signature
from ._step import Step
from ._validation import describe_validation_error

I = TypeVar("I")
O = TypeVar("O")
O_co = TypeVar("O_co", covariant=True)

STATE_KEY = "restate_saga.compensations"


@dataclass(frozen=True, slots=True)
class RemoteSagaRef(Generic[I, O_co]):
    """How to reach a remote saga: its service name and its input and output types.

    Covariant in the output; invariant in the input, which it holds as a type to serialize by.
    """

    service: str
    input_type: type[I]
    output_type: type[O_co]


def remote_saga_ref(service: str, input_type: type[I], output_type: type[O]) -> RemoteSagaRef[I, O]:
    """A reference to a remote saga served elsewhere (another deployment or language)."""
    return RemoteSagaRef(service, input_type, output_type)


class RemoteSaga(restate.VirtualObject, Generic[I, O]):
    """A saga pipeline served for remote callers, with `run` and `compensate` handlers."""

    def __init__(self, name: str, pipeline: Step[I, O, object], options: SagaWorkflowOptions | None = None) -> None:
        super().__init__(name, **service_options(options))  # pyright: ignore[reportUnknownMemberType]
        pipeline.validate()
        publish(self, "remote", options, pipeline.plan)
        leaves: dict[str, Leaf] = {}
        for leaf in leaves_of(pipeline.node):
            if leaf.name in leaves and leaves[leaf.name] is not leaf:
                raise StepDefinitionError(f"remote saga {name!r}: step names must be unique, {leaf.name!r} repeats")
            leaves[leaf.name] = leaf
        self.pipeline = pipeline
        self.ref: RemoteSagaRef[I, O] = RemoteSagaRef(
            name, cast(type[I], input_type_of(pipeline.node)), cast(type[O], output_type_of(pipeline.node))
        )
        configured = options or SagaWorkflowOptions()
        policy, interceptors, codec = configured.compensation, configured.interceptors, configured.codec
        input_type, output_type = self.ref.input_type, self.ref.output_type

        async def run(ctx: restate.ObjectContext, raw: bytes = b"") -> bytes:
            async def body(saga: SagaContext, payload: bytes) -> bytes:
                if codec is None:
                    output = await pipeline(saga, decode_input(f"{name}.run", input_type, payload))
                    ctx.set(STATE_KEY, _kept(saga.compensations))
                    return encode_output(f"{name}.run", output_type, output)
                value = open_value(
                    ctx,
                    codec,
                    Binding.remote_input(name, ctx.key()),
                    payload,
                    lambda plain: decode_input(f"{name}.run", input_type, plain),
                    400,
                )
                output = await pipeline(saga, value)
                _keep_sealed(ctx, codec, name, saga.compensations)
                binding = Binding.remote_output(name, ctx.key())
                return seal_value(codec, binding, lambda: encode_output(f"{name}.run", output_type, output))

            return await run_saga(ctx, body, raw, policy, interceptors=interceptors, name=name, codec=codec)

        async def compensate_run(ctx: restate.ObjectContext, raw: bytes = b"") -> bytes:
            kept: list[PendingCompensation] = []
            if codec is None:
                saved = await ctx.get(STATE_KEY, type_hint=list[dict[str, Any]])
                kept = _decode_stack(saved or [], leaves)
            else:
                sealed = await ctx.get(STATE_KEY, serde=RAW)
                binding = Binding.remote_state(name, ctx.key())
                if sealed:
                    kept = open_value(ctx, codec, binding, sealed, lambda b: _decode_stack(json.loads(b), leaves), 500)
            if not kept:
                return b"[]"
            saga = SagaContext(ctx, policy, interceptors=interceptors, name=f"{name}.{REMOTE_COMPENSATE}", codec=codec)
            saga.chain.saga_started()
            for entry in kept:
                saga.push(entry)
            cause = _cause_error(raw)
            rollback = await compensate(saga, cause)
            failed = {failure.step for failure in rollback.failures}
            if not failed:
                ctx.clear(STATE_KEY)
                saga.chain.saga_finished(None, cause)
            else:  # keep only what is still to undo, so that a later compensate call finishes the job
                remaining = [entry for entry in kept if entry.step in failed]
                if codec is None:
                    ctx.set(STATE_KEY, _kept(remaining))
                else:
                    _keep_sealed(ctx, codec, name, remaining)
                error = SagaCompensatedError("remote compensation failed", 500, None, rollback.failures)
                saga.chain.saga_finished(error, cause)
                raise error
            return json.dumps([entry.step for entry in reversed(kept)]).encode()

        run.__signature__ = restate_signature(restate.ObjectContext, input_type, output_type, True)  # type: ignore[attr-defined]
        saga, undo = handler_metadata(), handler_metadata("compensate")
        self.handler(name=REMOTE_RUN, kind="exclusive", input_serde=RAW, output_serde=RAW, metadata=saga)(run)
        self.handler(name=REMOTE_COMPENSATE, kind="exclusive", input_serde=RAW, output_serde=RAW, metadata=undo)(
            compensate_run
        )


def _encode_stack(members: Sequence[PendingCompensation | PendingRemote]) -> list[dict[str, Any]]:
    encoded: list[dict[str, Any]] = []
    for member in members:
        if isinstance(member, PendingRemote):
            raise TerminalError(f"step {member.step!r}: a remote sub-saga cannot itself call remote sub-sagas")
        data = adapter_for(member.leaf.codec.data_type).dump_python(member.data, mode="json")
        encoded.append({"step": member.step, "position": member.position, "failed": member.failed, "data": data})
    return encoded


def _kept(members: Sequence[PendingCompensation | PendingRemote]) -> list[dict[str, Any]]:
    """What the compensations need, as kept in the object's state, if it fits in one value."""
    stack = _encode_stack(members)
    check_size(json.dumps(stack).encode(), "kept compensation data")
    return stack


def _decode_stack(saved: list[dict[str, Any]], leaves: dict[str, Leaf]) -> list[PendingCompensation]:
    kept: list[PendingCompensation] = []
    for item in saved:
        name = str(item["step"])
        leaf = leaves.get(name)
        if leaf is None:
            raise StepDataChangedError(
                name, "compensation data", "a step of this deployment", "this remote saga has no step of that name"
            )
        data_type = leaf.codec.data_type
        try:
            data = adapter_for(data_type).validate_python(item["data"])
        except ValidationError as error:  # a redeploy changed the type: retried (and paused), never guessed
            raise StepDataChangedError(
                name, "compensation data", type_name(data_type), describe_validation_error(error)
            ) from None
        kept.append(PendingCompensation(leaf, data, bool(item["failed"]), int(item["position"])))
    return kept


def _keep_sealed(
    ctx: restate.ObjectContext,
    codec: EncryptionCodec,
    name: str,
    members: Sequence[PendingCompensation | PendingRemote],
) -> None:
    """Keep what the compensations need in the object's state, encrypted (secrets taken out while dumping)."""
    require_payload_checks_off(ctx, f"the kept state of remote saga {name!r}")
    binding = Binding.remote_state(name, ctx.key())
    ctx.set(STATE_KEY, seal_value(codec, binding, lambda: json.dumps(_encode_stack(members)).encode()), serde=RAW)


def _cause_error(raw: bytes) -> TerminalError:
    cause: dict[str, Any] = json.loads(raw) if raw else {}
    message = str(cause.get("message", "the calling saga rolled back"))
    status = int(cause.get("status_code", 500))
    if cause.get("kind") == "cancelled":
        return TerminalError("cancelled", 409)
    return StepFailedError(str(cause.get("failed_step") or "caller"), message, status)


def create_remote_saga(
    name: str, pipeline: Step[I, O, object], options: SagaWorkflowOptions | None = None
) -> RemoteSaga[I, O]:
    """Serve `pipeline` as a remote sub-saga named `name` (a virtual object with run/compensate)."""
    return RemoteSaga(name, pipeline, options)


def remote_step(target: RemoteSaga[I, O] | RemoteSagaRef[I, O], name: str | None = None) -> Step[I, O, None]:
    """Another service's saga as one step: a durable call; undone by its `compensate` handler.

    The call and the undo carry idempotency keys, so a retry never runs the remote saga twice.
    `name` names the step (default: the service's name).
    """
    ref = target.ref if isinstance(target, RemoteSaga) else target
    label = name or ref.service
    return Step(label, Remote(label, ref.service, ref.input_type, ref.output_type))
