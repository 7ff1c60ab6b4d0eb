"""The operator's side of restate_saga: saga invocations read from Restate's admin API.

`SagaAdmin(admin_url)` lists saga invocations with their status (`list`), reads one in full
(`get`), answers a parked escalation (`resolve`), resumes a paused saga, optionally on a new
deployment (`resume`), and cancels or kills one. Sagas are recognised by the metadata every saga
service publishes at discovery. Needs the `cli` extra (`pip install 'restate_saga[cli]'`).
"""

from ._client import DEFAULT_ADMIN_URL, SagaAdmin, admin_url_from_env
from ._data import activity_data, saga_data, summary_data
from ._errors import (
    AdminError,
    AdminRequestError,
    AdminUnreachableError,
    MissingExtraError,
    NotASagaError,
    SagaNotFoundError,
    SagaStateError,
)
from ._mermaid import colour_mermaid, saga_mermaid
from ._model import SAGA_STATUSES, Activity, Outcome, Parked, Saga, SagaKind, SagaService, SagaStatus, SagaSummary
from ._timeline import ValueDecoder
from ._values import decode_value

__all__ = [
    "DEFAULT_ADMIN_URL",
    "SAGA_STATUSES",
    "Activity",
    "AdminError",
    "AdminRequestError",
    "AdminUnreachableError",
    "MissingExtraError",
    "NotASagaError",
    "Outcome",
    "Parked",
    "Saga",
    "SagaAdmin",
    "SagaKind",
    "SagaNotFoundError",
    "SagaService",
    "SagaStateError",
    "SagaStatus",
    "SagaSummary",
    "ValueDecoder",
    "activity_data",
    "admin_url_from_env",
    "colour_mermaid",
    "decode_value",
    "saga_data",
    "saga_mermaid",
    "summary_data",
]
