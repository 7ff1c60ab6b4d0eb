"""`python -m restate_saga.testing`: install the pinned restate-server for tests, or show where it is.

python -m restate_saga.testing install-server [--dir D] [--with-cli]
python -m restate_saga.testing find-server
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from ._install import (
    RESTATE_SERVER_VERSION,
    RestateServerNotFound,
    ServerInstallError,
    default_install_dir,
    find_restate_server,
    install_server,
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m restate_saga.testing",
        description="Get the restate-server that restate_saga's test helpers and pytest plugin run.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    install = commands.add_parser(
        "install-server",
        help=f"install restate-server {RESTATE_SERVER_VERSION} with npm (no Docker needed)",
        description=(
            f"Run npm to install @restatedev/restate-server@{RESTATE_SERVER_VERSION} into a folder where the "
            "test helpers find it. Does nothing if that version is already there."
        ),
    )
    install.add_argument(
        "--dir",
        type=Path,
        default=None,
        metavar="D",
        help=f"install into D (default: {default_install_dir()}, where the helpers look without configuration; "
        "another folder needs RESTATE_SERVER_BIN, or D=.tools/restate in the project)",
    )
    install.add_argument(
        "--with-cli",
        action="store_true",
        help=f"also install the `restate` CLI (@restatedev/restate@{RESTATE_SERVER_VERSION})",
    )
    commands.add_parser("find-server", help="print the restate-server binary the helpers would run")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (errors are one clear message, no traceback)."""
    args = _parser().parse_args(argv)
    if args.command == "find-server":
        try:
            print(find_restate_server())
        except RestateServerNotFound as error:
            print(error, file=sys.stderr)
            return 1
        return 0
    folder: Path | None = args.dir
    try:
        installed = install_server(folder, with_cli=args.with_cli)
    except ServerInstallError as error:
        print(f"install-server: {error}", file=sys.stderr)
        return 1
    state = "installed" if installed.ran_npm else "already installed"
    print(f"restate-server {RESTATE_SERVER_VERSION} {state}: {installed.server}")
    if installed.cli is not None:
        print(f"restate CLI: {installed.cli}")
    print(f'to run them by name: export PATH="{installed.bin_dir}:$PATH"')
    if not _found(installed.server):
        print(f"the test helpers look elsewhere first: set RESTATE_SERVER_BIN={installed.server} to run this one")
    return 0


def _found(server: Path) -> bool:
    """Whether `find_restate_server` picks this binary."""
    try:
        return find_restate_server().resolve() == server.resolve()
    except RestateServerNotFound:
        return False


if __name__ == "__main__":
    sys.exit(main())
