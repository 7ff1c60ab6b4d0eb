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
DEFAULT_FAILURE_MESSAGE = "Step failed permanently"
"""The failure message of a response built with `failed=True` and no `error_message` (as in 0.1.0)."""


@final
@dataclass(frozen=True, slots=True, init=False)
class StepResponse(Generic[O_co, C_co]):
    """The result of a step's action.

    - `StepResponse(output)`: the compensation receives the output itself;
    - `StepResponse(output, compensation_data=data)`: the compensation receives `data`;
    - `StepResponse(output, compensation_data=None)`: nothing to undo, the compensation never runs;
    - `StepResponse.permanent_failure(message, data)`: the step failed for good; the saga rolls
      back, and a hybrid step's own compensation runs with `data` (a strict step's does not).

    `failed` and `error_message` are the fields of restate-saga 0.1.0 (`StepResponse(output, data,
    failed=True, error_message=...)` still builds a permanent failure); `is_failure` and `failure`
    are their aliases.
    """

    output: O_co
    compensation_data: C_co
    failed: bool = False
    """True for a permanent failure."""
    error_message: str | None = None
    """The permanent failure's message (None for a success)."""
    status_code: int = 500
    """The status code a permanent failure ends the saga with (4xx or 5xx)."""
    data_is_output: bool = field(default=False, repr=False)

    @overload
    def __init__(
        self: StepResponse[T, T], output: T, *, failed: bool = False, error_message: str | None = None
    ) -> None: ...
    @overload
    def __init__(
        self, output: O_co, compensation_data: C_co, *, failed: bool = False, error_message: str | None = None
    ) -> None: ...
    def __init__(
        self,
        output: object,
        compensation_data: object = _OMITTED,
        *,
        failed: bool = False,
        error_message: str | None = None,
    ) -> None:
        if not isinstance(failed, bool):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"StepResponse.failed must be a bool, got {failed!r}")
        if error_message is not None and not failed:
            raise ValueError("StepResponse: error_message is only meaningful with failed=True")
        data_is_output = compensation_data is _OMITTED
        object.__setattr__(self, "output", output)
        object.__setattr__(self, "compensation_data", output if data_is_output else compensation_data)
        object.__setattr__(self, "failed", failed)
        object.__setattr__(self, "error_message", (error_message or DEFAULT_FAILURE_MESSAGE) if failed else None)
        object.__setattr__(self, "status_code", 500)
        object.__setattr__(self, "data_is_output", data_is_output)

    @staticmethod
    def permanent_failure(message: str, compensation_data: D, *, status_code: int = 500) -> StepResponse[Never, D]:
        """A permanent failure: no retries, the saga compensates, carrying `compensation_data`."""
        if not message:
            raise ValueError("StepResponse.permanent_failure needs a non-empty message")
        if not 400 <= status_code <= 599:
            raise ValueError(f"StepResponse.permanent_failure status_code must be 4xx or 5xx, got {status_code}")
        response = cast(
            "StepResponse[Never, D]", StepResponse(None, compensation_data, failed=True, error_message=message)
        )
        object.__setattr__(response, "status_code", status_code)
        return response

    @property
    def is_failure(self) -> bool:
        """Alias of `failed`: True for a permanent failure."""
        return self.failed

    @property
    def failure(self) -> str | None:
        """Alias of `error_message`: the permanent failure's message, None for a success."""
        return self.error_message
