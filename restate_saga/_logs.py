"""The `restate_saga` log: one line per saga outcome, per failed compensation and per parking.

Built on the interceptor protocol like any other observer, so it is quiet on replay. Each record
carries its fields as `extra` (`record.saga`, `record.invocation_id`, ...) for structured
formatters; the message says the same in words.
"""

from __future__ import annotations

import logging

from ._interceptors import CompensationFailed, EscalationParked, SagaFinished, SagaInterceptor

_LEVELS = {
    "succeeded": logging.INFO,
    "compensated": logging.INFO,
    "cancelled": logging.INFO,
    "compensation_failed": logging.ERROR,
}


class SagaLog(SagaInterceptor):
    """Writes the library's log lines to one logger."""

    def __init__(self, logger: logging.Logger) -> None:
        self.logger = logger

    def saga_finished(self, event: SagaFinished) -> None:
        level = _LEVELS[event.outcome]
        if not self.logger.isEnabledFor(level):
            return
        error, cause = event.error, event.cause
        fields: dict[str, object] = {
            "saga": event.saga.name,
            "invocation_id": event.saga.invocation_id,
            "outcome": event.outcome,
            "failed_step": None if cause is None else cause.failed_step,
            "cause": None if cause is None else cause.kind,
            "error": None if error is None else error.message,
            "status_code": None if error is None else error.status_code,
            "compensations_failed": [] if error is None else [f.step for f in error.compensation_failures],
            "not_compensated": [] if error is None else list(error.not_compensated),
        }
        reason = "" if error is None else f": {error.message}"
        self.logger.log(
            level,
            "saga %s %s (%s)%s",
            event.saga.name,
            event.outcome.replace("_", " "),
            event.saga.invocation_id,
            reason,
            extra=fields,
        )

    def compensation_failed(self, event: CompensationFailed) -> None:
        if not self.logger.isEnabledFor(logging.ERROR):
            return
        fields: dict[str, object] = {
            "saga": event.saga.name,
            "invocation_id": event.saga.invocation_id,
            "step": event.step,
            "position": event.position,
            "idempotency_key": event.idempotency_key,
            "cause": event.cause.kind,
            "failed_step": event.cause.failed_step,
            "error": event.error.message,
            "status_code": event.error.status_code,
        }
        self.logger.error(
            "saga %s: compensation of step %r failed (%s): %s",
            event.saga.name,
            event.step,
            event.saga.invocation_id,
            event.error.message,
            extra=fields,
        )

    def escalation_parked(self, event: EscalationParked) -> None:
        if not self.logger.isEnabledFor(logging.WARNING):
            return
        fields: dict[str, object] = {
            "saga": event.saga.name,
            "invocation_id": event.saga.invocation_id,
            "step": event.step,
            "position": event.position,
            "idempotency_key": event.idempotency_key,
            "awakeable_id": event.awakeable_id,
            "error": event.reason,
        }
        self.logger.warning(
            'saga %s: compensation %r failed (%s); parked on awakeable %s: resolve it with "retry" or "skip"',
            event.saga.name,
            event.step,
            event.reason,
            event.awakeable_id,
            extra=fields,
        )


SAGA_LOG = SagaLog(logging.getLogger("restate_saga"))
