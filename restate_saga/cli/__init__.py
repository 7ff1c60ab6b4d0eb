"""The `restate-saga` command line: saga invocations on a Restate server, for operators.

`restate-saga ls`, `show ID`, `resolve ID retry|skip`, `resume ID`, `cancel ID` and
`diagram module:attr` are thin commands over `restate_saga.admin.SagaAdmin`. Installed as the
console script `restate-saga` (and `python -m restate_saga`); needs the `cli` extra
(`pip install 'restate_saga[cli]'`), imported only when the command runs.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import typer

__all__ = ["cli_app", "main"]

_EXTRA_HINT = "restate-saga needs the cli extra: pip install 'restate_saga[cli]'"


def cli_app() -> typer.Typer:
    """The typer application (for embedding, or for `typer.testing.CliRunner`)."""
    from ._app import app

    return app


def main() -> None:
    """Run the CLI with `sys.argv`; exits with its status (1 for errors, 2 for usage errors)."""
    try:
        app = cli_app()
    except ImportError as error:
        print(f"error: {_EXTRA_HINT} ({error})", file=sys.stderr)
        raise SystemExit(1) from None
    app(prog_name="restate-saga")
