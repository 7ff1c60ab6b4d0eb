"""restate_saga: typed saga pipelines with exactly-once compensation on Restate.

Steps are immutable values `Step[I, O, C]`; combinators (`then`, `map`, `nested`, `as_step`,
`parallel`, `or_else`, `with_timeout`, `remote_step`) compose them into typed pipelines, and the
seed API (`@saga_step`, `@saga_workflow`, ...) builds the same values underneath.
"""

from inspect import get_annotations
from types import FunctionType
from typing import get_type_hints

from ._cause import CauseKind, FailureCause
from ._context import PendingCompensation, PendingRemote, SagaContext
from ._current import StepCall, current_step
from ._decorators import create_saga_step, create_saga_step_strict, saga_step, saga_step_strict
from ._diagrams import to_dot, to_mermaid
from ._display import decrypt_for_display
from ._encryption import (
    DecryptionError,
    EncryptionCodec,
    EncryptionUnavailableError,
    JournalUnreadableError,
    MissingKeyError,
    ReplayBlockedError,
)
from ._engine import run_saga
from ._envelope import Binding, EncryptionSetupError
from ._errors import (
    AttemptRejectedError,
    CompensationFailure,
    ContextMisuseError,
    InvalidInputError,
    PlanChangedError,
    RestateSagaError,
    SagaCompensatedError,
    StepDefinitionError,
    StepFailedError,
    StepTimeoutError,
)
from ._interceptors import (
    CompensationAttempt,
    CompensationDone,
    CompensationFailed,
    EscalationParked,
    EscalationResumed,
    Proceed,
    RollbackStarted,
    SagaFinished,
    SagaInfo,
    SagaInterceptor,
    SagaOutcome,
    SagaStarted,
    StepAttempt,
    StepDone,
    StepFailed,
    clear_interceptors,
    register_interceptors,
    registered_interceptors,
    unregister_interceptors,
)
from ._keyed import (
    SagaRestateWorkflow,
    SagaVirtualObject,
    create_saga_restate_workflow,
    create_saga_virtual_object,
)
from ._keyring import KEYRING_ENV, KEYRING_FILE_ENV, Keyring, KeyringError, load_keyring
from ._nested import create_saga_module, run_nested_saga
from ._nodes import Mode
from ._options import (
    CompensationPolicy,
    ErrorMapper,
    FiniteCompensationRetryWarning,
    SagaStepOptions,
    SagaWorkflowOptions,
    StepRetryPolicy,
    WorkflowRetryPolicy,
)
from ._parallel import parallel
from ._payload_checks import PAYLOAD_CHECKS_OFF, PayloadChecksOff
from ._pivot import Compensatable, Retriable, compensatable
from ._plans import (
    CodePlan,
    FallbackPlan,
    MapPlan,
    NestedPlan,
    ParallelPlan,
    Plan,
    RemotePlan,
    SequencePlan,
    StepPlan,
    TimeoutPlan,
    fingerprint,
)
from ._registry import (
    clear_terminal_errors,
    register_terminal_errors,
    resolve_terminal_error,
    set_global_error_mapper,
    unregister_terminal_errors,
)
from ._remote import RemoteSaga, RemoteSagaRef, create_remote_saga, remote_saga_ref, remote_step
from ._response import StepResponse
from ._secrets import Secret
from ._service import SagaHandler, SagaWorkflowService, create_saga_workflow, saga_workflow
from ._step import Step, as_step, hybrid_step, nested, step

__all__ = [
    "KEYRING_ENV",
    "KEYRING_FILE_ENV",
    "PAYLOAD_CHECKS_OFF",
    "AttemptRejectedError",
    "Binding",
    "CauseKind",
    "CodePlan",
    "Compensatable",
    "CompensationAttempt",
    "CompensationDone",
    "CompensationFailed",
    "CompensationFailure",
    "CompensationPolicy",
    "ContextMisuseError",
    "DecryptionError",
    "EncryptionCodec",
    "EncryptionSetupError",
    "EncryptionUnavailableError",
    "ErrorMapper",
    "EscalationParked",
    "EscalationResumed",
    "FailureCause",
    "FallbackPlan",
    "FiniteCompensationRetryWarning",
    "InvalidInputError",
    "JournalUnreadableError",
    "Keyring",
    "KeyringError",
    "MapPlan",
    "MissingKeyError",
    "Mode",
    "NestedPlan",
    "ParallelPlan",
    "PayloadChecksOff",
    "PendingCompensation",
    "PendingRemote",
    "Plan",
    "PlanChangedError",
    "Proceed",
    "RemotePlan",
    "RemoteSaga",
    "RemoteSagaRef",
    "ReplayBlockedError",
    "RestateSagaError",
    "Retriable",
    "RollbackStarted",
    "SagaCompensatedError",
    "SagaContext",
    "SagaFinished",
    "SagaHandler",
    "SagaInfo",
    "SagaInterceptor",
    "SagaOutcome",
    "SagaRestateWorkflow",
    "SagaStarted",
    "SagaStepOptions",
    "SagaVirtualObject",
    "SagaWorkflowOptions",
    "SagaWorkflowService",
    "Secret",
    "SequencePlan",
    "Step",
    "StepAttempt",
    "StepCall",
    "StepDefinitionError",
    "StepDone",
    "StepFailed",
    "StepFailedError",
    "StepPlan",
    "StepResponse",
    "StepRetryPolicy",
    "StepTimeoutError",
    "TimeoutPlan",
    "WorkflowRetryPolicy",
    "as_step",
    "clear_interceptors",
    "clear_terminal_errors",
    "compensatable",
    "create_remote_saga",
    "create_saga_module",
    "create_saga_restate_workflow",
    "create_saga_step",
    "create_saga_step_strict",
    "create_saga_virtual_object",
    "create_saga_workflow",
    "current_step",
    "decrypt_for_display",
    "fingerprint",
    "hybrid_step",
    "load_keyring",
    "nested",
    "parallel",
    "register_interceptors",
    "register_terminal_errors",
    "registered_interceptors",
    "remote_saga_ref",
    "remote_step",
    "resolve_terminal_error",
    "run_nested_saga",
    "run_saga",
    "saga_step",
    "saga_step_strict",
    "saga_workflow",
    "set_global_error_mapper",
    "step",
    "to_dot",
    "to_mermaid",
    "unregister_interceptors",
    "unregister_terminal_errors",
]


def _face_module(names: list[str], namespace: dict[str, object]) -> None:
    """Public classes and functions report the package face as their module (reprs, tracebacks, docs).

    A class's own annotations are resolved first, where their names are defined, so that
    `typing.get_type_hints` (and pydantic) still read them after the move.
    """
    for name in names:
        value = namespace[name]
        if isinstance(value, type):
            own = get_annotations(value)
            if any(isinstance(hint, str) for hint in own.values()):
                hints = get_type_hints(value, include_extras=True)
                value.__annotations__ = {key: hints[key] for key in own}
                for field in getattr(value, "__dataclass_fields__", {}).values():
                    field.type = hints.get(field.name, field.type)
        if isinstance(value, type | FunctionType):
            value.__module__ = __name__


_face_module(__all__, globals())
