"""The pinned restate-server (and, optionally, the `restate` CLI): where it is found and how npm installs it.

Needs nothing beyond the standard library, so that a project can install the server before it
installs anything else, and so that `restate_saga.testing` imports without the `testing` extra.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .._errors import RestateSagaError

RESTATE_SERVER_VERSION = "1.7.12"
"""The restate-server version restate_saga is tested with (what `install-server` and `scripts/setup` install)."""
SERVER_PACKAGE = "@restatedev/restate-server"
CLI_PACKAGE = "@restatedev/restate"
PROJECT_DIR = Path(".tools") / "restate"
"""Where this repository's `scripts/setup` installs the server (looked up above the working directory)."""

INSTALL_COMMAND = "python -m restate_saga.testing install-server"
INSTALL_HINT = (
    f"restate-server was not found. Install the pinned version ({RESTATE_SERVER_VERSION}) with\n"
    f"    {INSTALL_COMMAND}\n"
    "(it runs npm, so it needs Node.js; `--dir D` installs into D instead of the user cache), "
    "or set RESTATE_SERVER_BIN to a restate-server binary."
)


class RestateServerNotFound(RestateSagaError, RuntimeError):
    """No restate-server binary could be found; the message says how to install one."""


class ServerInstallError(RestateSagaError, RuntimeError):
    """`install_server` could not install restate-server (no npm, npm failed, no binary for this platform)."""


def default_install_dir() -> Path:
    """Where `install-server` puts the server when no `--dir` is given: a per-user cache folder."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "restate_saga" / f"restate-server-{RESTATE_SERVER_VERSION}"


def _package_version(folder: Path, package: str) -> str | None:
    manifest = folder / "node_modules" / package / "package.json"
    try:
        return str(json.loads(manifest.read_text())["version"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _native_binary(folder: Path, package: str, name: str) -> Path | None:
    """The platform binary npm installed for `package` (`<package>-<platform>/bin/<name>`), if any."""
    found = sorted((folder / "node_modules").glob(f"{package}-*/bin/{name}"))
    return found[0] if found else None


def server_binary(folder: Path) -> Path | None:
    """The restate-server binary installed into `folder` by npm, if there is one."""
    return _native_binary(folder, SERVER_PACKAGE, "restate-server")


def cli_binary(folder: Path) -> Path | None:
    """The `restate` CLI binary installed into `folder` by npm, if there is one."""
    return _native_binary(folder, CLI_PACKAGE, "restate")


def find_restate_server() -> Path:
    """The restate-server binary.

    Looked up in order: `$RESTATE_SERVER_BIN`; `.tools/restate` in the working directory or
    above it (this repository's layout); the folder `install-server` uses by default (a per-user
    cache); `restate-server` on PATH. Raises `RestateServerNotFound` saying how to install it.
    """
    explicit = os.environ.get("RESTATE_SERVER_BIN")
    if explicit:
        path = Path(explicit)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise RestateServerNotFound(f"RESTATE_SERVER_BIN={explicit} is not an executable file.\n{INSTALL_HINT}")
        return path
    here = Path.cwd().resolve()
    for root in (here, *here.parents, Path(__file__).resolve().parents[2]):
        found = server_binary(root / PROJECT_DIR)
        if found is not None:
            return found
    installed = server_binary(default_install_dir())
    if installed is not None:
        return installed
    on_path = shutil.which("restate-server")
    if on_path:
        return Path(on_path)
    raise RestateServerNotFound(INSTALL_HINT)


@dataclass(frozen=True, slots=True)
class Installed:
    """What `install_server` left in its folder."""

    folder: Path
    server: Path
    cli: Path | None
    ran_npm: bool

    @property
    def bin_dir(self) -> Path:
        """`node_modules/.bin`: put it on PATH to run `restate-server` (and `restate`) by name."""
        return self.folder / "node_modules" / ".bin"


def _is_installed(folder: Path, with_cli: bool) -> bool:
    if server_binary(folder) is None or _package_version(folder, SERVER_PACKAGE) != RESTATE_SERVER_VERSION:
        return False
    return not with_cli or (
        cli_binary(folder) is not None and _package_version(folder, CLI_PACKAGE) == RESTATE_SERVER_VERSION
    )


def install_server(folder: Path | None = None, *, with_cli: bool = False, npm: str | None = None) -> Installed:
    """Install the pinned restate-server (and with `with_cli`, the `restate` CLI) into `folder` with npm.

    Does nothing when that version is already there. `folder` defaults to `default_install_dir()`,
    where `find_restate_server` looks. Raises `ServerInstallError` with npm's own message on failure.
    """
    target = (folder or default_install_dir()).expanduser().resolve()
    ran = False
    if not _is_installed(target, with_cli):
        executable = npm or shutil.which("npm")
        if executable is None:
            raise ServerInstallError(
                "npm was not found on PATH: install Node.js (which brings npm), then run this again; "
                "or download restate-server yourself and set RESTATE_SERVER_BIN to it"
            )
        packages: Sequence[str] = [f"{SERVER_PACKAGE}@{RESTATE_SERVER_VERSION}"]
        if with_cli:
            packages = [*packages, f"{CLI_PACKAGE}@{RESTATE_SERVER_VERSION}"]
        target.mkdir(parents=True, exist_ok=True)
        command = [executable, "install", "--no-audit", "--no-fund", "--prefix", str(target), *packages]
        try:
            done = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False)
        except OSError as error:
            raise ServerInstallError(f"could not run {executable}: {error}") from error
        if done.returncode != 0:
            raise ServerInstallError(
                f"`{' '.join(command)}` failed (exit {done.returncode}):\n{(done.stderr or done.stdout).strip()}"
            )
        ran = True
    server = server_binary(target)
    if server is None:
        raise ServerInstallError(
            f"npm installed {SERVER_PACKAGE} into {target}, but no restate-server binary for this platform "
            "came with it (restate-server is published for Linux and macOS on x64 and arm64)"
        )
    cli = cli_binary(target)
    if with_cli and cli is None:
        raise ServerInstallError(f"npm installed {CLI_PACKAGE} into {target}, but no restate binary came with it")
    return Installed(target, server, cli, ran)
