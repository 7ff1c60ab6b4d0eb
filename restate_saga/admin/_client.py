"""`SagaAdmin`: saga invocations read from, and operated through, Restate's admin API."""

from __future__ import annotations

import builtins
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Self, cast

from .._keyring import Keyring
from .._metadata import FINGERPRINT, KIND, ON_FAILURE, PLAN, ROLE, VERSION
from .._plan_json import plan_from_json
from .._plans import Plan
from .._rollback import ESCALATION_CHOICES
from ._errors import AdminError, AdminRequestError, NotASagaError, SagaNotFoundError, SagaStateError
from ._http import AdminHttp, error_message
from ._model import SAGA_STATUSES, Saga, SagaKind, SagaService, SagaStatus, SagaSummary
from ._status import failed_step_of, saga_status, split_failure
from ._timeline import JournalRow, Timeline, TransientFailure, ValueDecoder, build_timeline, parse_json, parse_lite
from ._values import decode_value

if TYPE_CHECKING:
    import httpx

DEFAULT_ADMIN_URL = "http://localhost:9070"
_INVOCATION_ID = re.compile(r"^inv_[0-9A-Za-z]{20,}$")
_DEPLOYMENT_ID = re.compile(r"^dp_[0-9A-Za-z]+$")
_KINDS: tuple[SagaKind, ...] = ("service", "virtual_object", "workflow", "remote")
_LS_ENTRY_TYPES = ("Command: Run", "Notification: Run", "Command: Call", "Notification: Call", "Notification: Signal")
_INVOCATION_COLUMNS = (
    "id, target_service_name, target_handler_name, target_service_key, status, completion_result, "
    "completion_failure, created_at, modified_at, completed_at, pinned_deployment_id, last_failure, retry_count"
)

Choice = Literal["retry", "skip"]


def admin_url_from_env() -> str:
    """`$RESTATE_ADMIN_URL`, else `http://localhost:9070`."""
    return os.environ.get("RESTATE_ADMIN_URL") or DEFAULT_ADMIN_URL


def check_invocation_id(invocation_id: str) -> str:
    """The id itself, or `SagaNotFoundError` when it cannot be an invocation id."""
    if not _INVOCATION_ID.match(invocation_id):
        raise SagaNotFoundError(f"{invocation_id!r} is not an invocation id (they look like inv_1abc...)")
    return invocation_id


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _service(data: Mapping[str, Any]) -> SagaService | None:
    published = cast(Mapping[str, str], data.get("metadata") or {})
    kind = published.get(KIND)
    if kind not in _KINDS:
        return None
    roles: dict[str, str] = {}
    for handler in cast(list[Mapping[str, Any]], data.get("handlers") or []):
        role = cast(Mapping[str, str], handler.get("metadata") or {}).get(ROLE)
        if role in ("saga", "compensate"):
            roles[str(handler.get("name"))] = role
    plan: Plan | None = None
    if PLAN in published:
        try:
            plan = plan_from_json(published[PLAN])
        except (TypeError, ValueError):  # published by another version: show the saga without it
            plan = None
    return SagaService(
        name=str(data.get("name")),
        kind=kind,
        saga_handlers=tuple(sorted(roles)),
        compensate_handlers=tuple(sorted(h for h, r in roles.items() if r == "compensate")),
        on_failure=published.get(ON_FAILURE, "continue"),
        library_version=published.get(VERSION, "unknown"),
        fingerprint=published.get(FINGERPRINT),
        plan=plan,
        deployment_id=_text(data.get("deployment_id")),
    )


def _cutoff(since: datetime | timedelta | None) -> datetime | None:
    """The earliest creation time `since` allows (a naive time is UTC)."""
    if since is None:
        return None
    cutoff = datetime.now(UTC) - since if isinstance(since, timedelta) else since
    return cutoff if cutoff.tzinfo is not None else cutoff.replace(tzinfo=UTC)


def _row(data: Mapping[str, Any], full: bool) -> JournalRow:
    return JournalRow(
        index=int(data.get("index") or 0),
        entry_type=str(data.get("entry_type") or ""),
        name=str(data.get("name") or ""),
        lite=parse_lite(data.get("entry_lite_json")),
        appended_at=_time(data.get("appended_at")),
        full=parse_json(data.get("entry_json")) if full else None,
    )


class SagaAdmin:
    """Saga invocations as seen through Restate's admin API (`/query` SQL and service metadata).

    `admin_url` defaults to `$RESTATE_ADMIN_URL`, else `http://localhost:9070`. `ingress_url` (for
    answering parked escalations) defaults to `$RESTATE_INGRESS_URL`, else what the admin API
    advertises. `decode` turns journaled values into display text (see `decode_value`); values
    encrypted by an `EncryptionCodec` are decrypted with `keyring` first (without one they show as
    `<encrypted>`). Needs the `cli` extra (httpx). Use as a context manager, or call `close()`.
    """

    def __init__(
        self,
        admin_url: str | None = None,
        *,
        ingress_url: str | None = None,
        timeout: float = 10.0,
        decode: ValueDecoder | None = decode_value,
        client: httpx.Client | None = None,
        keyring: Keyring | None = None,
    ) -> None:
        self.admin_url = (admin_url or admin_url_from_env()).rstrip("/")
        self._ingress_url = ingress_url or os.environ.get("RESTATE_INGRESS_URL") or None
        self._decode = decode
        self._keyring = keyring
        self._http = AdminHttp(self.admin_url, timeout, client)

    def close(self) -> None:
        """Release the HTTP connections."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- services -------------------------------------------------------------------------------

    def services(self) -> dict[str, SagaService]:
        """The registered services that publish saga metadata, by name."""
        data = self._http.get("/services", "listing services")
        found = (_service(item) for item in cast(list[Mapping[str, Any]], data.get("services") or []))
        return {service.name: service for service in found if service is not None}

    def plan(self, service: str) -> Plan | None:
        """The plan a saga service published (None when it published none)."""
        known = self.services()
        if service not in known:
            raise NotASagaError(f"service {service!r} is not a registered saga service")
        return known[service].plan

    # -- reading ----------------------------------------------------------------------------------

    def list(
        self,
        *,
        services: Iterable[str] = (),
        statuses: Iterable[SagaStatus] = (),
        since: datetime | timedelta | None = None,
        limit: int | None = 100,
    ) -> builtins.list[SagaSummary]:
        """Saga invocations, newest first: one SQL query for all of them, whatever their number.

        `services` and `statuses` filter (empty: all); `since` keeps invocations created after a
        time (or within a duration until now); `limit` caps the answer (None: no cap).
        """
        wanted = set(statuses)
        unknown = wanted - set(SAGA_STATUSES)
        if unknown:
            raise ValueError(f"unknown saga status {sorted(unknown)}; expected one of {', '.join(SAGA_STATUSES)}")
        if limit is not None and limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        known = self.services()
        chosen = list(services)
        missing = [name for name in chosen if name not in known]
        if missing:
            raise NotASagaError(f"not a registered saga service: {', '.join(missing)}")
        targets = {name: known[name] for name in (chosen or known)}
        targets = {name: service for name, service in targets.items() if service.saga_handlers}
        cutoff = _cutoff(since)
        if not targets or (cutoff is not None and cutoff > datetime.now(UTC)):
            return []
        rows = self._http.sql(self._list_query(targets, cutoff, None if wanted else limit))
        summaries = self._summaries(rows, targets)
        if wanted:
            summaries = [summary for summary in summaries if summary.status in wanted]
        return summaries if limit is None else summaries[:limit]

    def _list_query(self, targets: Mapping[str, SagaService], cutoff: datetime | None, limit: int | None) -> str:
        conditions = " OR ".join(
            f"(target_service_name = {_quote(name)} AND target_handler_name IN "
            f"({', '.join(_quote(h) for h in service.saga_handlers)}))"
            for name, service in sorted(targets.items())
        )
        where = f"({conditions})"
        if cutoff is not None and cutoff.year >= 1970:
            where += f" AND created_at >= {_quote(cutoff.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%S.%fZ'))}"
        capped = f" ORDER BY created_at DESC LIMIT {int(limit)}" if limit is not None else ""
        kinds = ", ".join(_quote(kind) for kind in _LS_ENTRY_TYPES)
        return (
            f"SELECT i.*, j.index, j.entry_type, j.name, j.entry_lite_json "
            f"FROM (SELECT {_INVOCATION_COLUMNS} FROM sys_invocation WHERE {where}{capped}) i "
            f"LEFT JOIN sys_journal j ON j.id = i.id AND j.entry_type IN ({kinds}) "
            f"ORDER BY i.created_at DESC, i.id, j.index"
        )

    def _summaries(
        self, rows: Sequence[Mapping[str, Any]], targets: Mapping[str, SagaService]
    ) -> builtins.list[SagaSummary]:
        grouped: dict[str, tuple[Mapping[str, Any], builtins.list[JournalRow]]] = {}
        for row in rows:
            invocation_id = str(row.get("id"))
            head, journal = grouped.setdefault(invocation_id, (row, []))
            if row.get("entry_type"):
                journal.append(_row(row, full=False))
        now = datetime.now(UTC)
        summaries: builtins.list[SagaSummary] = []
        for invocation_id, (head, journal) in grouped.items():
            service = targets[str(head.get("target_service_name"))]
            journal.sort(key=lambda entry: entry.index)
            timeline = build_timeline(invocation_id, journal)
            summaries.append(self._summary(head, service, timeline, now)[0])
        summaries.sort(key=lambda s: (s.started_at or now, s.invocation_id), reverse=True)
        return summaries

    def _summary(
        self, head: Mapping[str, Any], service: SagaService, timeline: Timeline, now: datetime
    ) -> tuple[SagaSummary, tuple[str, ...]]:
        handler = str(head.get("target_handler_name"))
        role = "compensate" if handler in service.compensate_handlers else "saga"
        restate_status = str(head.get("status") or "")
        status, undone = saga_status(
            restate_status,
            _text(head.get("completion_result")),
            _text(head.get("completion_failure")),
            role,
            timeline,
            service.plan,
        )
        _, message = split_failure(_text(head.get("completion_failure")))
        failed = None
        if status in ("compensating", "compensated", "compensation_failed", "parked"):
            failed = failed_step_of(message, timeline)
        started = _time(head.get("created_at"))
        finished = _time(head.get("completed_at")) or (now if restate_status != "completed" else None)
        summary = SagaSummary(
            invocation_id=str(head.get("id")),
            service=service.name,
            handler=handler,
            key=_text(head.get("target_service_key")),
            kind=service.kind,
            status=status,
            failed_step=failed,
            current_step=timeline.current,
            started_at=started,
            duration=None if started is None or finished is None else finished - started,
            restate_status=restate_status,
        )
        return summary, undone

    def get(self, invocation_id: str) -> Saga:
        """One saga invocation in full (`SagaNotFoundError`, `NotASagaError` otherwise)."""
        check_invocation_id(invocation_id)
        heads = self._http.sql(f"SELECT {_INVOCATION_COLUMNS} FROM sys_invocation WHERE id = {_quote(invocation_id)}")
        if not heads:
            raise SagaNotFoundError(f"no invocation {invocation_id} at {self.admin_url}")
        head = heads[0]
        service_name = str(head.get("target_service_name"))
        handler = str(head.get("target_handler_name"))
        service = self.services().get(service_name)
        if service is None or handler not in service.saga_handlers:
            what = (
                "its service publishes no restate_saga metadata" if service is None else "a handler that runs no saga"
            )
            raise NotASagaError(f"invocation {invocation_id} ({service_name}/{handler}) is not a saga: {what}")
        journal = [
            _row(row, full=True)
            for row in self._http.sql(
                "SELECT index, entry_type, name, entry_lite_json, entry_json, appended_at FROM sys_journal "
                f"WHERE id = {_quote(invocation_id)} ORDER BY index"
            )
        ]
        transient, paused_reason = self._events(invocation_id)
        retries = head.get("retry_count")
        timeline = build_timeline(
            invocation_id,
            journal,
            transient,
            self._decode,
            retries if isinstance(retries, int) else 0,
            self._keyring,
            (service_name, handler, _text(head.get("target_service_key"))),
        )
        summary, undone = self._summary(head, service, timeline, datetime.now(UTC))
        code, message = split_failure(_text(head.get("completion_failure")))
        if message is None and summary.status in ("compensating", "parked"):
            failed = next((s for s in reversed(timeline.steps) if s.outcome == "failed"), None)
            message = None if failed is None else f"step {failed.name!r} failed: {failed.error}"
        if summary.status == "paused" and paused_reason is None:
            paused_reason = _text(head.get("last_failure"))
        return Saga(
            summary=summary,
            error=message,
            status_code=code,
            steps=timeline.steps,
            compensations=timeline.compensations,
            left_undone=undone,
            parked=timeline.parked if summary.status == "parked" else None,
            paused_reason=paused_reason if summary.status == "paused" else None,
            deployment_id=_text(head.get("pinned_deployment_id")),
            plan=service.plan,
            input=timeline.input,
            output=timeline.output if summary.status == "succeeded" else None,
        )

    def _events(self, invocation_id: str) -> tuple[builtins.list[TransientFailure], str | None]:
        rows = self._http.sql(
            "SELECT event_type, event_json, appended_at FROM sys_journal_events "
            f"WHERE id = {_quote(invocation_id)} ORDER BY appended_at"
        )
        transient: builtins.list[TransientFailure] = []
        paused: str | None = None
        for row in rows:
            event = parse_json(row.get("event_json"))
            if row.get("event_type") == "TransientError":
                index = event.get("related_command_index")
                if isinstance(index, int):
                    transient.append(TransientFailure(index, str(event.get("error_message", ""))))
            elif row.get("event_type") == "Paused":
                failure = cast(Mapping[str, Any], event.get("last_failure") or {})
                step = failure.get("related_command_name")
                message = str(failure.get("error_message", ""))
                paused = f"{message} (in step {step!r})" if step else message
        return transient, paused

    # -- operating ------------------------------------------------------------------------------

    def ingress_url(self) -> str:
        """The ingress to answer awakeables through: given, `$RESTATE_INGRESS_URL`, or advertised."""
        if self._ingress_url is None:
            version = self._http.get("/version", "reading the server version")
            advertised = _text(cast(Mapping[str, Any], version).get("ingress_endpoint"))
            if advertised is None:
                raise AdminError("the admin API advertises no ingress; pass ingress_url (or --ingress)")
            self._ingress_url = advertised
        return self._ingress_url.rstrip("/")

    def resolve(self, invocation_id: str, choice: Choice) -> Saga:
        """Answer a parked escalation with `"retry"` (run the compensation again) or `"skip"`.

        Returns the saga as it was (parked); `SagaStateError` when it is not parked.
        """
        if choice not in ESCALATION_CHOICES:
            raise ValueError(f"choice must be one of {', '.join(ESCALATION_CHOICES)}, got {choice!r}")
        saga = self.get(invocation_id)
        if saga.parked is None or not saga.parked.awakeable_id:
            raise SagaStateError(
                f"saga {invocation_id} is {saga.status}, not parked: there is no escalation to resolve"
            )
        url = f"{self.ingress_url()}/restate/awakeables/{saga.parked.awakeable_id}/resolve"
        self._http.request("POST", url, f"resolving the escalation of {invocation_id}", json=choice)
        return saga

    def resume(self, invocation_id: str, deployment: str | None = None) -> Saga:
        """Resume a paused saga, on `deployment` (`"latest"`, `"keep"` or a deployment id) if given.

        Returns the saga as it was (paused); `SagaStateError` when it is not paused.
        """
        params: dict[str, str] = {}
        if deployment is not None:
            if deployment not in ("latest", "keep") and not _DEPLOYMENT_ID.match(deployment):
                raise ValueError(f"deployment must be 'latest', 'keep' or a deployment id (dp_...), got {deployment!r}")
            params["deployment"] = deployment
        saga = self.get(invocation_id)
        if saga.status != "paused":
            raise SagaStateError(f"saga {invocation_id} is {saga.status}, not paused: there is nothing to resume")
        self._command(invocation_id, "resume", params)
        return saga

    def cancel(self, invocation_id: str) -> Saga:
        """Cancel a saga so that it rolls back; a paused one is resumed so that the rollback runs.

        Returns the saga as it was; `SagaStateError` when it has already completed.
        """
        saga = self._running(invocation_id, "cancel")
        self._command(invocation_id, "cancel")
        if saga.status == "paused":
            self._command(invocation_id, "resume")
        return saga

    def kill(self, invocation_id: str) -> Saga:
        """Kill a saga at once: no compensation runs (prefer `cancel`). Returns the saga as it was."""
        saga = self._running(invocation_id, "kill")
        self._command(invocation_id, "kill")
        return saga

    def _running(self, invocation_id: str, what: str) -> Saga:
        saga = self.get(invocation_id)
        if saga.summary.restate_status == "completed":
            raise SagaStateError(f"saga {invocation_id} has already completed ({saga.status}): nothing to {what}")
        return saga

    def _command(self, invocation_id: str, command: str, params: Mapping[str, str] | None = None) -> None:
        answer = self._http.patch(f"/invocations/{invocation_id}/{command}", f"{command} {invocation_id}", params)
        if answer.status_code >= 300:
            raise AdminRequestError(f"{command} {invocation_id}", answer.status_code, error_message(answer))
