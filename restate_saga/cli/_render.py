"""Human output of the command line: rich tables of saga invocations and of one saga's timeline."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from rich.console import Console, Group, RenderableType
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from ..admin import Activity, Saga, SagaStatus, SagaSummary
from ._durations import show_duration, show_time

STATUS_STYLES: dict[SagaStatus, str] = {
    "running": "cyan",
    "succeeded": "green",
    "compensating": "yellow",
    "compensated": "blue",
    "compensation_failed": "bold red",
    "parked": "bold magenta",
    "paused": "bold yellow",
    "cancelled": "dim",
}
OUTCOME_STYLES = {"succeeded": "green", "failed": "red", "running": "yellow"}


def console(stderr: bool = False) -> Console:
    """A console on stdout (or stderr); wide and plain when not writing to a terminal."""
    stream = sys.stderr if stderr else sys.stdout
    terminal = stream.isatty()
    return Console(file=stream, width=None if terminal else 200, no_color=not terminal, highlight=False)


def emit(out: Console, *renderables: object) -> None:
    """Print to `out`; off a terminal, without the padding rich leaves at the end of lines."""
    if out.is_terminal:
        out.print(*renderables)
        return
    with out.capture() as captured:
        out.print(*renderables)
    out.file.write("".join(line.rstrip() + "\n" for line in captured.get().splitlines()))


def _status(status: SagaStatus) -> str:
    return f"[{STATUS_STYLES[status]}]{status}[/]"


def _target(summary: SagaSummary) -> str:
    if summary.key is None:
        return f"{summary.service}/{summary.handler}"
    return f"{summary.service}/{summary.key}/{summary.handler}"


LIST_COLUMNS = ("ID", "SAGA", "STATUS", "STEP", "STARTED (UTC)", "DURATION")


def saga_table(summaries: Sequence[SagaSummary]) -> Text:
    """One row per saga invocation (`ls`): aligned columns, the status coloured.

    Laid out here rather than by `rich.table.Table`, which takes about half a second for a
    thousand rows; the output looks the same (columns two spaces apart, no borders).
    """
    rows: list[tuple[str, ...]] = []
    for summary in summaries:
        step = summary.failed_step if summary.failed_step is not None else summary.current_step
        rows.append(
            (
                summary.invocation_id,
                _target(summary),
                summary.status,
                step or "-",
                show_time(summary.started_at),
                show_duration(summary.duration),
            )
        )
    widths = [max(len(cells[n]) for cells in [LIST_COLUMNS, *rows]) for n in range(len(LIST_COLUMNS))]
    table = Text(no_wrap=True, overflow="ignore")
    table.append(
        "  ".join(name.ljust(width) for name, width in zip(LIST_COLUMNS, widths, strict=True)).rstrip(), "bold"
    )
    for cells, summary in zip(rows, summaries, strict=True):
        table.append("\n")
        for number, (cell, width) in enumerate(zip(cells, widths, strict=True)):
            last = number == len(cells) - 1
            text = cell if last else cell.ljust(width) + "  "
            table.append(text, STATUS_STYLES[summary.status] if number == 2 else None)
    return table


def _cut(text: str | None, width: int = 60) -> str:
    if text is None:
        return ""
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def activity_table(title: str, activities: Sequence[Activity]) -> Table:
    """Steps or compensations in the order they ran."""
    table = Table(title=title, title_justify="left", title_style="bold", box=None, header_style="bold", pad_edge=False)
    for column in ("#", "NAME", "OUTCOME", "ATTEMPTS", "STARTED (UTC)", "DURATION", "DETAIL"):
        table.add_column(column, no_wrap=column != "DETAIL")
    for number, activity in enumerate(activities, 1):
        detail = activity.error or activity.value
        if activity.remote_service is not None:
            detail = f"remote {activity.remote_service} ({activity.remote_invocation_id}) {detail or ''}".strip()
        table.add_row(
            str(number),
            escape(activity.name),
            f"[{OUTCOME_STYLES[activity.outcome]}]{activity.outcome}[/]",
            str(activity.attempts),
            show_time(activity.started_at),
            show_duration(activity.duration),
            escape(_cut(detail)),
        )
    return table


def print_saga(out: Console, saga: Saga) -> None:
    """The timeline of one saga (`show`)."""
    parts: list[RenderableType] = []
    summary = saga.summary
    parts.append(f"[bold]{summary.invocation_id}[/]  {escape(_target(summary))}  {_status(summary.status)}")
    facts = [f"started {show_time(summary.started_at)} UTC", f"took {show_duration(summary.duration)}"]
    if saga.deployment_id:
        facts.append(f"deployment {saga.deployment_id}")
    parts.append("  " + " · ".join(facts))
    if saga.input is not None:
        parts.append(f"  input:  {escape(_cut(saga.input, 120))}")
    if saga.output is not None:
        parts.append(f"  output: {escape(_cut(saga.output, 120))}")
    if saga.error is not None:
        code = f" ({saga.status_code})" if saga.status_code is not None else ""
        parts.append(f"  [red]error:[/] {escape(saga.error)}{code}")
    parts.append("")
    parts.append(activity_table("Steps (in the order they ran)", saga.steps) if saga.steps else "[bold]Steps:[/] none")
    if saga.compensations:
        parts.append("")
        parts.append(activity_table("Compensations (in the order they ran: newest step first)", saga.compensations))
    if saga.left_undone:
        parts.append("")
        parts.append(f"[bold red]Left undone:[/] {escape(', '.join(saga.left_undone))}")
    if saga.parked is not None:
        parts.append("")
        since = f" since {show_time(saga.parked.since)} UTC" if saga.parked.since else ""
        parts.append(
            f"[bold magenta]Parked:[/] the compensation of {escape(repr(saga.parked.step))} failed "
            f"({escape(saga.parked.reason)}) and waits for an operator{since}."
        )
        parts.append(f"  answer it with: restate-saga resolve {summary.invocation_id} retry|skip")
    if saga.paused_reason is not None:
        parts.append("")
        parts.append(f"[bold yellow]Paused by Restate:[/] {escape(saga.paused_reason)}")
        parts.append(
            f"  fix the step, deploy the fix, then: restate-saga resume {summary.invocation_id} --deployment latest"
        )
    emit(out, Group(*parts))
