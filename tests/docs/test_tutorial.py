"""The tutorial is true: its files and its commands, in the page's order, against a real restate-server.

Each titled block of docs/tutorial.md is written to the project folder as it appears; each command
of a bash block is executed. Commands that install things are checked against what this
repository's environment already has (the same packages, the same restate-server version)
instead of being run; the server and the app are started with the test-bed helpers on free
ports, and the ports of the page (8080, 9070, 9080) are mapped to them. A `{.output}` block
must match what the bash block before it printed, and an `{.app-log}` block what the app has
printed so far (each of its lines, in order). A command this test does not know fails it.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from restate_saga.testing import RESTATE_SERVER_VERSION, AppProcess, RestateServer
from tests.docs.fences import DOCS, ROOT, Fence, fences

TUTORIAL = DOCS / "tutorial.md"
PAGE_PORTS = {"ingress": 8080, "admin": 9070, "app": 9080}


class Tutorial:
    """A reader working through the tutorial in a fresh folder."""

    def __init__(self, home: Path, capfd: pytest.CaptureFixture[str]) -> None:
        self.home = home
        self.cwd = home
        self.capfd = capfd
        self.env = dict(os.environ)
        self.server: RestateServer | None = None
        self.app: AppProcess | None = None
        self.ports: dict[int, int] = {}  # the page's port -> the real one
        self.app_log = ""
        self.ran: set[str] = set()

    # -- files and commands ------------------------------------------------------------------

    def write(self, block: Fence) -> None:
        assert block.title is not None
        path = self.cwd / block.title
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(block.body)
        self.ran.add("file")

    def run_block(self, block: Fence) -> tuple[str, list[int]]:
        """Run each command of a bash block; returns what they printed and the HTTP statuses of curl calls."""
        printed: list[str] = []
        statuses: list[int] = []
        for line in block.body.splitlines():
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            for command in line.split(" && "):
                output, status = self.run(shlex.split(command), block)
                printed.append(output)
                if status is not None:
                    statuses.append(status)
        return "\n".join(printed), statuses

    def run(self, words: list[str], block: Fence) -> tuple[str, int | None]:
        match words:
            case ["mkdir", folder]:
                (self.cwd / folder).mkdir()
            case ["cd", folder]:
                self.cwd = self.cwd / folder
                assert self.cwd.is_dir(), f"{block.where}: cd into a folder that does not exist"
            case ["python3", "-m", "venv", ".venv"]:
                (self.cwd / ".venv").symlink_to(ROOT / ".venv")  # this repository's environment
            case ["source", ".venv/bin/activate"]:
                venv = self.cwd / ".venv"
                self.env["VIRTUAL_ENV"] = str(venv)
                self.env["PATH"] = f"{venv / 'bin'}{os.pathsep}{self.env.get('PATH', '')}"
            case ["pip", "install", *requirements]:
                self.check_installed(requirements, block)
            case ["npm", "install", "--prefix", ".tools/restate", package]:
                assert package == f"@restatedev/restate-server@{RESTATE_SERVER_VERSION}", (
                    f"{block.where}: the tutorial installs {package}; restate_saga is tested with "
                    f"restate-server {RESTATE_SERVER_VERSION}"
                )
                if (ROOT / ".tools").exists():
                    (self.cwd / ".tools").symlink_to(ROOT / ".tools")
            case [".tools/restate/node_modules/.bin/restate-server"]:
                self.server = RestateServer().start()
                self.ports[PAGE_PORTS["ingress"]] = self.server.ingress_port
                self.ports[PAGE_PORTS["admin"]] = self.server.admin_port
                self.ran.add("restate-server")
            case ["hypercorn", target, "--bind", bind]:
                assert bind == f"127.0.0.1:{PAGE_PORTS['app']}", f"{block.where}: the app is served on {bind}"
                self.app = AppProcess(target, cwd=self.cwd, env={"PYTHONUNBUFFERED": "1"}, log_level="INFO")
                self.app.start()
                self.ports[PAGE_PORTS["app"]] = self.app.port
                self.ran.add("hypercorn")
            case ["curl", *arguments]:
                return self.curl(arguments, block)
            case ["pyright" | "pytest" as tool]:
                self.ran.add(tool)
                return self.tool(tool, block), None
            case _:
                pytest.fail(f"{block.where}: the tutorial runs {shlex.join(words)!r}, which {__name__} cannot run")
        return "", None

    def check_installed(self, requirements: list[str], block: Fence) -> None:
        for requirement in requirements:
            if requirement.startswith(("..", "/", "./")):
                assert Path(requirement).name == "restate_saga", f"{block.where}: {requirement} is not restate_saga"
                continue
            try:
                importlib.metadata.distribution(requirement)
            except importlib.metadata.PackageNotFoundError:
                pytest.fail(f"{block.where}: the tutorial installs {requirement}, which this environment lacks")

    def curl(self, arguments: list[str], block: Fence) -> tuple[str, int]:
        curl = shutil.which("curl")
        assert curl is not None, "curl is needed to run the tutorial's commands"
        mapped = [self.to_real(argument) for argument in arguments]
        done = subprocess.run(
            [curl, "--silent", "--show-error", "--write-out", "\n%{http_code}", *mapped],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, f"{block.where}: curl failed: {done.stderr}"
        body, _, status = done.stdout.rpartition("\n")
        return self.to_page(body), int(status)

    def tool(self, tool: str, block: Fence) -> str:
        # restate_saga is installed in editable mode here, which pyright cannot follow: putting the
        # repository on the path stands in for the regular install the tutorial makes.
        env = {**self.env, "PYTHONPATH": str(ROOT)}
        done = subprocess.run([tool], cwd=self.cwd, env=env, capture_output=True, text=True, timeout=300, check=False)
        assert done.returncode == 0, f"{block.where}: {tool} failed:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    # -- ports and output ---------------------------------------------------------------------

    def to_real(self, text: str) -> str:
        for page_port, real in self.ports.items():
            text = re.sub(rf"(localhost|127\.0\.0\.1):{page_port}\b", f"127.0.0.1:{real}", text)
        return text

    def to_page(self, text: str) -> str:
        for page_port, real in self.ports.items():
            text = re.sub(rf"\b{real}\b", str(page_port), text)
        return text

    def read_app_log(self) -> str:
        captured = self.capfd.readouterr()  # the app process writes to this process's stdout and stderr
        self.app_log += captured.out + captured.err
        return self.to_page(self.app_log)

    def close(self) -> None:
        if self.app is not None:
            self.app.stop()
        if self.server is not None:
            self.server.stop()


def assert_shows(shown: Fence, actual: str) -> None:
    """Each line of the block appears in `actual`, in order (within a line of it)."""
    remaining = actual.splitlines()
    for expected in (line.strip() for line in shown.body.splitlines()):
        if not expected:
            continue
        for index, line in enumerate(remaining):
            if expected in line:
                remaining = remaining[index + 1 :]
                break
        else:
            pytest.fail(f"{shown.where}: the page shows {expected!r}, but the output was:\n{actual}")


def test_the_tutorial_runs_as_written(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    blocks = fences(TUTORIAL)
    reader = Tutorial(tmp_path, capfd)
    try:
        for index, block in enumerate(blocks):
            shown = blocks[index + 1] if index + 1 < len(blocks) and blocks[index + 1].is_output else None
            if block.is_file:
                reader.write(block)
            elif block.lang == "bash":
                printed, statuses = reader.run_block(block)
                if shown is not None:
                    assert_shows(shown, printed)
                else:
                    failed = [status for status in statuses if not 200 <= status < 300]
                    assert not failed, f"{block.where}: a call without shown output answered {failed}"
            elif "app-log" in block.classes:
                assert reader.app is not None, f"{block.where}: the app log is shown before the app runs"
                assert_shows(block, reader.read_app_log())
            elif block.is_output:
                assert index > 0 and blocks[index - 1].lang == "bash", f"{block.where}: output of no command"
            else:
                pytest.fail(f"{block.where}: a {block.lang or 'plain'} block the tutorial test does not know")
    finally:
        reader.close()
    missing = {"file", "restate-server", "hypercorn", "pyright", "pytest"} - reader.ran
    assert not missing, f"the tutorial no longer does: {sorted(missing)}"
