"""The commands of `restate-saga`, each a thin layer over `SagaAdmin`."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, ParamSpec, TypeVar

import typer

from .._diagrams import to_dot, to_mermaid
from .._errors import RestateSagaError
from .._keyring import load_keyring
from ..admin import (
    DEFAULT_ADMIN_URL,
    SAGA_STATUSES,
    SagaAdmin,
    SagaStatus,
    saga_data,
    saga_mermaid,
    summary_data,
)
from ._durations import parse_since
from ._render import console, emit, print_saga, saga_table
from ._targets import TargetError, load_plan, split_target

P = ParamSpec("P")
R = TypeVar("R")

app = typer.Typer(
    name="restate-saga",
    help="Saga invocations on a Restate server: list, inspect, resolve, resume, cancel; draw plans.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class StatusChoice(StrEnum):
    """A saga status, as `--status` accepts it."""

    running = "running"
    succeeded = "succeeded"
    compensating = "compensating"
    compensated = "compensated"
    compensation_failed = "compensation_failed"
    parked = "parked"
    paused = "paused"
    cancelled = "cancelled"


assert tuple(StatusChoice) == SAGA_STATUSES


class Choice(StrEnum):
    """An operator's answer to a parked escalation."""

    retry = "retry"
    skip = "skip"


class Format(StrEnum):
    """A diagram format."""

    mermaid = "mermaid"
    dot = "dot"


Admin = Annotated[
    str,
    typer.Option(
        "--admin",
        envvar="RESTATE_ADMIN_URL",
        help="Restate's admin API ($RESTATE_ADMIN_URL, else http://localhost:9070).",
        show_default=False,
    ),
]
Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]
KeyringFile = Annotated[
    Path | None,
    typer.Option(
        "--keyring",
        help="A keyring file to decrypt encrypted values with (else $RESTATE_SAGA_KEYRING, its JSON, or "
        "$RESTATE_SAGA_KEYRING_FILE); without one they show as <encrypted>.",
        show_default=False,
    ),
]
InvocationId = Annotated[str, typer.Argument(help="The saga's invocation id (inv_...).", show_default=False)]


def fail(message: str) -> typer.Exit:
    """Print a one-line error to stderr; the `Exit` (status 1) to raise."""
    typer.echo(f"error: {' '.join(message.split())}", err=True)
    return typer.Exit(1)


def operator_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn restate_saga's errors (and bad values) into a one-line message and exit status 1."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except (RestateSagaError, TargetError, ValueError) as error:
            raise fail(str(error)) from None

    return run


def _print_json(data: object) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


@app.command("ls")
@operator_errors
def list_sagas(
    service: Annotated[
        list[str] | None, typer.Option("--service", "-s", help="Only this saga service (repeatable).")
    ] = None,
    status: Annotated[
        list[StatusChoice] | None,
        typer.Option("--status", help="Only this status (repeatable).", case_sensitive=False),
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="Started within a span (30s, 15m, 1h, 2d) or after an ISO time.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="At most this many, newest first.")] = 100,
    as_json: Json = False,
    admin: Admin = DEFAULT_ADMIN_URL,
) -> None:
    """One row per saga invocation, newest first: id, saga, status, failed (or current) step, start, duration."""
    try:
        after = parse_since(since) if since is not None else None
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="'--since'") from None
    chosen = {choice.value for choice in status or []}
    statuses: list[SagaStatus] = [name for name in SAGA_STATUSES if name in chosen]
    with SagaAdmin(admin) as sagas:
        found = sagas.list(services=service or (), statuses=statuses, since=after, limit=limit)
    if as_json:
        _print_json([summary_data(summary) for summary in found])
    elif not found:
        typer.echo("no saga invocations match")
    else:
        emit(console(), saga_table(found))


@app.command("show")
@operator_errors
def show_saga(
    invocation_id: InvocationId,
    as_json: Json = False,
    mermaid: Annotated[
        bool, typer.Option("--mermaid", help="Draw the saga's plan, coloured by what happened.")
    ] = False,
    admin: Admin = DEFAULT_ADMIN_URL,
    keyring: KeyringFile = None,
) -> None:
    """The timeline of one saga: its steps, then its compensations, each with outcome, attempts and duration."""
    with SagaAdmin(admin, keyring=load_keyring(keyring)) as sagas:
        saga = sagas.get(invocation_id)
    if as_json:
        data = saga_data(saga)
        if mermaid:
            data["mermaid"] = saga_mermaid(saga)
        _print_json(data)
    elif mermaid:
        typer.echo(saga_mermaid(saga), nl=False)
    else:
        print_saga(console(), saga)


@app.command("resolve")
@operator_errors
def resolve_saga(
    invocation_id: InvocationId,
    choice: Annotated[Choice, typer.Argument(help="retry: run the compensation again; skip: give it up.")],
    as_json: Json = False,
    admin: Admin = DEFAULT_ADMIN_URL,
    ingress: Annotated[
        str | None,
        typer.Option("--ingress", envvar="RESTATE_INGRESS_URL", help="Restate's ingress (default: as advertised)."),
    ] = None,
) -> None:
    """Answer a parked escalation (a compensation that failed under on_failure="escalate")."""
    with SagaAdmin(admin, ingress_url=ingress) as sagas:
        saga = sagas.resolve(invocation_id, choice.value)
    parked = saga.parked
    assert parked is not None  # resolve() refuses a saga that is not parked
    if as_json:
        _print_json(
            {
                "invocation_id": invocation_id,
                "resolved": parked.step,
                "awakeable_id": parked.awakeable_id,
                "choice": choice.value,
            }
        )
    else:
        typer.echo(f"answered {choice.value!r} to the parked compensation of {parked.step!r} in {invocation_id}")


@app.command("resume")
@operator_errors
def resume_saga(
    invocation_id: InvocationId,
    deployment: Annotated[
        str | None,
        typer.Option("--deployment", help="latest, keep, or a deployment id (dp_...); default: its pinned one."),
    ] = None,
    as_json: Json = False,
    admin: Admin = DEFAULT_ADMIN_URL,
) -> None:
    """Resume a saga that Restate paused, optionally on another deployment (one with the fix)."""
    with SagaAdmin(admin) as sagas:
        sagas.resume(invocation_id, deployment)
    on = deployment or "its pinned deployment"
    if as_json:
        _print_json({"invocation_id": invocation_id, "resumed": True, "deployment": deployment})
    else:
        typer.echo(f"resumed {invocation_id} on {on}; follow it with: restate-saga show {invocation_id}")


@app.command("cancel")
@operator_errors
def cancel_saga(
    invocation_id: InvocationId,
    kill: Annotated[bool, typer.Option("--kill", help="Kill instead: no compensation runs. Needs --yes.")] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Confirm --kill.")] = False,
    as_json: Json = False,
    admin: Admin = DEFAULT_ADMIN_URL,
) -> None:
    """Cancel a saga so that it rolls back (its compensations run, newest first)."""
    if kill and not yes:
        raise typer.BadParameter("--kill skips every compensation; add --yes to confirm", param_hint="'--kill'")
    with SagaAdmin(admin) as sagas:
        saga = sagas.kill(invocation_id) if kill else sagas.cancel(invocation_id)
    action = "killed" if kill else "cancelled"
    if as_json:
        _print_json({"invocation_id": invocation_id, action: True, "was": saga.status})
    elif kill:
        typer.echo(f"killed {invocation_id}: no compensation ran")
    else:
        typer.echo(f"cancelled {invocation_id}: it rolls back now; follow it with: restate-saga show {invocation_id}")
        if saga.status == "paused":
            typer.echo(
                "it was paused, so it was resumed for the rollback to run; if the step in flight keeps failing it "
                "pauses again: deploy a fix and resume it with --deployment latest"
            )


@app.command("diagram")
@operator_errors
def draw_diagram(
    target: Annotated[str, typer.Argument(help="module:attr of a pipeline, saga service or plan.", show_default=False)],
    form: Annotated[Format, typer.Option("--format", "-f", help="Diagram language.")] = Format.mermaid,
) -> None:
    """The plan of a pipeline or saga service, as Mermaid or Graphviz DOT."""
    try:
        split_target(target)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="'TARGET'") from None
    plan = load_plan(target)
    typer.echo(to_mermaid(plan) if form is Format.mermaid else to_dot(plan), nl=False)
