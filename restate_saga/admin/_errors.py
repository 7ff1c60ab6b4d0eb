"""The errors of the admin API and the CLI: each names what was wrong, in one line."""

from __future__ import annotations

from .._errors import RestateSagaError


class MissingExtraError(RestateSagaError, ImportError):
    """A package of the `cli` extra (httpx, typer, rich) is not installed."""

    def __init__(self, package: str) -> None:
        super().__init__(
            f"restate_saga.admin and the restate-saga CLI need {package!r}: pip install 'restate_saga[cli]'"
        )
        self.package = package


class AdminError(RestateSagaError, RuntimeError):
    """The root of the admin API's errors."""


class AdminUnreachableError(AdminError, ConnectionError):
    """Restate's admin API (or its ingress) could not be reached."""


class AdminRequestError(AdminError):
    """Restate's admin API answered a request with an error."""

    def __init__(self, what: str, status_code: int, message: str) -> None:
        super().__init__(f"{what}: Restate answered {status_code}: {message}")
        self.status_code = status_code


class SagaNotFoundError(AdminError, LookupError):
    """No invocation has this id (or it is not a well-formed invocation id)."""


class NotASagaError(AdminError, ValueError):
    """The invocation exists but is not a saga: its service or handler publishes no saga metadata."""


class SagaStateError(AdminError):
    """The saga is not in the state the operation needs (resolve: parked; resume: paused)."""
