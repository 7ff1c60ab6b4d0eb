"""restate_saga: typed saga pipelines with exactly-once compensation on Restate.

Steps are immutable values `Step[I, O, C]`; combinators (`then`, `map`, `nested`, `as_step`,
`parallel`, `or_else`, `with_timeout`, `remote_step`) compose them into typed pipelines, and the
seed API (`@saga_step`, `@saga_workflow`, ...) builds the same values underneath.
"""

from __future__ import annotations

import sys
from inspect import get_annotations
from types import FunctionType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._cause import CauseKind, FailureCause
    from ._codec import journal_value_limit, set_journal_value_limit
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
        JournalValueMismatchError,
        MissingExtraError,
        NoMainHandlerError,
        PlanChangedError,
        RestateSagaError,
        SagaCompensatedError,
        StepDataChangedError,
        StepDefinitionError,
        StepFailedError,
        StepTimeoutError,
        ValueLimitError,
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
        ErrorClass,
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
        get_global_error_mapper,
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

__version__ = "0.2.0"

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
    "ErrorClass",
    "ErrorMapper",
    "EscalationParked",
    "EscalationResumed",
    "FailureCause",
    "FallbackPlan",
    "FiniteCompensationRetryWarning",
    "InvalidInputError",
    "JournalUnreadableError",
    "JournalValueMismatchError",
    "Keyring",
    "KeyringError",
    "MapPlan",
    "MissingExtraError",
    "MissingKeyError",
    "Mode",
    "NestedPlan",
    "NoMainHandlerError",
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
    "StepDataChangedError",
    "StepDefinitionError",
    "StepDone",
    "StepFailed",
    "StepFailedError",
    "StepPlan",
    "StepResponse",
    "StepRetryPolicy",
    "StepTimeoutError",
    "TimeoutPlan",
    "ValueLimitError",
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
    "get_global_error_mapper",
    "hybrid_step",
    "journal_value_limit",
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
    "set_journal_value_limit",
    "step",
    "to_dot",
    "to_mermaid",
    "unregister_interceptors",
    "unregister_terminal_errors",
]

_HOMES: dict[str, tuple[str, ...]] = {
    "_cause": ("CauseKind", "FailureCause",),
    "_codec": ("journal_value_limit", "set_journal_value_limit"),
    "_context": ("PendingCompensation", "PendingRemote", "SagaContext",),
    "_current": ("StepCall", "current_step",),
    "_decorators": ("create_saga_step", "create_saga_step_strict", "saga_step", "saga_step_strict",),
    "_diagrams": ("to_dot", "to_mermaid",),
    "_display": ("decrypt_for_display",),
    "_encryption": (
        "DecryptionError",
        "EncryptionCodec",
        "EncryptionUnavailableError",
        "JournalUnreadableError",
        "MissingKeyError",
        "ReplayBlockedError",
    ),
    "_engine": ("run_saga",),
    "_envelope": ("Binding", "EncryptionSetupError"),
    "_errors": (
        "AttemptRejectedError",
        "CompensationFailure",
        "ContextMisuseError",
        "InvalidInputError",
        "JournalValueMismatchError",
        "MissingExtraError",
        "NoMainHandlerError",
        "PlanChangedError",
        "RestateSagaError",
        "SagaCompensatedError",
        "StepDataChangedError",
        "StepDefinitionError",
        "StepFailedError",
        "StepTimeoutError",
        "ValueLimitError",
    ),
    "_interceptors": (
        "CompensationAttempt",
        "CompensationDone",
        "CompensationFailed",
        "EscalationParked",
        "EscalationResumed",
        "Proceed",
        "RollbackStarted",
        "SagaFinished",
        "SagaInfo",
        "SagaInterceptor",
        "SagaOutcome",
        "SagaStarted",
        "StepAttempt",
        "StepDone",
        "StepFailed",
        "clear_interceptors",
        "register_interceptors",
        "registered_interceptors",
        "unregister_interceptors",
    ),
    "_keyed": (
        "SagaRestateWorkflow",
        "SagaVirtualObject",
        "create_saga_restate_workflow",
        "create_saga_virtual_object",
    ),
    "_keyring": ("KEYRING_ENV", "KEYRING_FILE_ENV", "Keyring", "KeyringError", "load_keyring"),
    "_nested": ("create_saga_module", "run_nested_saga",),
    "_nodes": ("Mode",),
    "_options": (
        "CompensationPolicy",
        "ErrorClass",
        "ErrorMapper",
        "FiniteCompensationRetryWarning",
        "SagaStepOptions",
        "SagaWorkflowOptions",
        "StepRetryPolicy",
        "WorkflowRetryPolicy",
    ),
    "_parallel": ("parallel",),
    "_payload_checks": ("PAYLOAD_CHECKS_OFF", "PayloadChecksOff"),
    "_pivot": ("Compensatable", "Retriable", "compensatable",),
    "_plans": (
        "CodePlan",
        "FallbackPlan",
        "MapPlan",
        "NestedPlan",
        "ParallelPlan",
        "Plan",
        "RemotePlan",
        "SequencePlan",
        "StepPlan",
        "TimeoutPlan",
        "fingerprint",
    ),
    "_registry": (
        "clear_terminal_errors",
        "get_global_error_mapper",
        "register_terminal_errors",
        "resolve_terminal_error",
        "set_global_error_mapper",
        "unregister_terminal_errors",
    ),
    "_remote": ("RemoteSaga", "RemoteSagaRef", "create_remote_saga", "remote_saga_ref", "remote_step",),
    "_response": ("StepResponse",),
    "_secrets": ("Secret",),
    "_service": ("SagaHandler", "SagaWorkflowService", "create_saga_workflow", "saga_workflow",),
    "_step": ("Step", "as_step", "hybrid_step", "nested", "step",),
}
"""The private module that defines each public name (the imports above, for the type checkers)."""

_HOME_OF = {name: module for module, names in _HOMES.items() for name in names}
_faced: set[str] = set()


def _face_modules() -> None:
    """Public classes and functions of every loaded module report the package face as their module.

    (For reprs, tracebacks and docs.) A class's own string annotations are resolved first, in the
    namespace of the module that defines them, so that `typing.get_type_hints` and pydantic still
    read them after the move. Each module is treated once, the first time a public name is looked
    up after it was loaded.
    """
    for module_name, names in _HOMES.items():
        module = sys.modules.get(f"{__name__}.{module_name}")
        if module is None or module_name in _faced:
            continue
        _faced.add(module_name)
        namespace = vars(module)
        for name in names:
            value = namespace[name]
            if isinstance(value, type):
                _resolve_annotations(value)
            if isinstance(value, type | FunctionType):
                value.__module__ = __name__


def _resolve_annotations(cls: type) -> None:
    own = get_annotations(cls)
    if any(isinstance(hint, str) for hint in own.values()):
        resolved = get_annotations(cls, eval_str=True)  # in the defining module, before the move
        cls.__annotations__ = resolved
        for field in getattr(cls, "__dataclass_fields__", {}).values():
            field.type = resolved.get(field.name, field.type)


if not TYPE_CHECKING:

    def __getattr__(name: str) -> object:
        """Import a public name's module when the name is first used (keeps `import restate_saga` cheap)."""
        module_name = _HOME_OF.get(name)
        if module_name is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        module = __import__(f"{__name__}.{module_name}", fromlist=[name])
        _face_modules()
        value = getattr(module, name)
        globals()[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*globals(), *__all__})
