"""restate_saga: typed saga pipelines with exactly-once compensation on Restate."""

from ._context import PendingCompensation, SagaContext
from ._current import StepCall, current_step
from ._decorators import create_saga_step, create_saga_step_strict, saga_step, saga_step_strict
from ._engine import run_saga
from ._errors import (
    CompensationFailure,
    ContextMisuseError,
    InvalidInputError,
    SagaCompensatedError,
    StepDefinitionError,
    StepFailedError,
)
from ._nested import create_saga_module, run_nested_saga
from ._options import (
    CompensationPolicy,
    SagaStepOptions,
    SagaWorkflowOptions,
    StepRetryPolicy,
    WorkflowRetryPolicy,
)
from ._plan import Mode
from ._registry import (
    clear_terminal_errors,
    register_terminal_errors,
    resolve_terminal_error,
    set_global_error_mapper,
    unregister_terminal_errors,
)
from ._response import StepResponse
from ._services import (
    SagaRestateWorkflow,
    SagaVirtualObject,
    create_saga_restate_workflow,
    create_saga_virtual_object,
)
from ._step import Step, as_step, hybrid_step, nested, step
from ._workflow import SagaWorkflowService, create_saga_workflow, saga_workflow

__all__ = [
    "CompensationFailure",
    "CompensationPolicy",
    "ContextMisuseError",
    "InvalidInputError",
    "Mode",
    "PendingCompensation",
    "SagaCompensatedError",
    "SagaContext",
    "SagaRestateWorkflow",
    "SagaStepOptions",
    "SagaVirtualObject",
    "SagaWorkflowOptions",
    "SagaWorkflowService",
    "Step",
    "StepCall",
    "StepDefinitionError",
    "StepFailedError",
    "StepResponse",
    "StepRetryPolicy",
    "WorkflowRetryPolicy",
    "as_step",
    "clear_terminal_errors",
    "create_saga_module",
    "create_saga_restate_workflow",
    "create_saga_step",
    "create_saga_step_strict",
    "create_saga_virtual_object",
    "create_saga_workflow",
    "current_step",
    "hybrid_step",
    "nested",
    "register_terminal_errors",
    "resolve_terminal_error",
    "run_nested_saga",
    "run_saga",
    "saga_step",
    "saga_step_strict",
    "saga_workflow",
    "set_global_error_mapper",
    "step",
    "unregister_terminal_errors",
]
