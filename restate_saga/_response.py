"""`StepResponse`: what a step's action returns, its output and the data its compensation needs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, Never, cast, final, overload

from typing_extensions import TypeVar

O_co = TypeVar("O_co", covariant=True)
C_co = TypeVar("C_co", covariant=True)
D = TypeVar("D")
T = TypeVar("T")

_OMITTED: Any = object()


@final
@dataclass(frozen=True, slots=True, init=False)
class StepResponse(Generic[O_co, C_co]):
    """The result of a step's action.

    - `StepResponse(output)`: the compensation receives the output itself;
    - `StepResponse(output, compensation_data=data)`: the compensation receives `data`;
    - `StepResponse(output, compensation_data=None)`: nothing to undo, the compensation never runs;
    - `StepResponse.permanent_failure(message, data)`: the step failed for good; the saga rolls
      back, and a hybrid step's own compensation runs with `data` (a strict step's does not).
    """

    output: O_co
    compensation_data: C_co
    failure: str | None = None
    status_code: int = 500
    data_is_output: bool = field(default=False, repr=False)

    @overload
    def __init__(self: StepResponse[T, T], output: T) -> None: ...
    @overload
    def __init__(self, output: O_co, compensation_data: C_co) -> None: ...
    def __init__(self, output: object, compensation_data: object = _OMITTED) -> None:
        data_is_output = compensation_data is _OMITTED
        object.__setattr__(self, "output", output)
        object.__setattr__(self, "compensation_data", output if data_is_output else compensation_data)
        object.__setattr__(self, "failure", None)
        object.__setattr__(self, "status_code", 500)
        object.__setattr__(self, "data_is_output", data_is_output)

    @staticmethod
    def permanent_failure(message: str, compensation_data: D, *, status_code: int = 500) -> StepResponse[Never, D]:
        """A permanent failure: no retries, the saga compensates, carrying `compensation_data`."""
        if not message:
            raise ValueError("StepResponse.permanent_failure needs a non-empty message")
        if not 400 <= status_code <= 599:
            raise ValueError(f"StepResponse.permanent_failure status_code must be 4xx or 5xx, got {status_code}")
        response = cast("StepResponse[Never, D]", StepResponse(None, compensation_data))
        object.__setattr__(response, "failure", message)
        object.__setattr__(response, "status_code", status_code)
        return response

    @property
    def is_failure(self) -> bool:
        """True for a permanent failure."""
        return self.failure is not None
