"""restate_saga as a user's project gets it: installed into fresh virtualenvs the documented ways.

- a plain install (no extra): the in-process helpers import, the real-server ones name the
  missing extra, the pytest plugin loads, and "server not found" says what to run;
- `restate_saga[testing]` from a wheel, and an editable install in compat mode: a small project
  (the README's quick start and its test module) passes pyright and mypy, both strict;
- `python -m restate_saga.testing install-server --with-cli` installs restate-server and the CLI
  with npm (into a temporary XDG cache folder); the README's test module then passes under
  pytest in that virtualenv, and the seed's commands to run the example app work as written.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
TOOLS = Path(sys.executable).parent  # this checkout's .venv/bin: pyright, mypy, hypercorn


def readme_block(first_line: str, language: str = "python") -> str:
    """The README code block whose first line starts with `first_line` (without the fence)."""
    found = re.search(rf"```{language}\n({re.escape(first_line)}[^\n]*\n.*?)```", README, flags=re.DOTALL)
    assert found is not None, f"README has no {language} block starting with {first_line!r}"
    return found.group(1)


def run(
    command: list[str], *, cwd: Path | None = None, env: Mapping[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        cwd=cwd,
        env=None if env is None else dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,  # a guard against a hang, not a measure of speed
        check=False,
        stdin=subprocess.DEVNULL,
    )


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, f"{done.args} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without this checkout's virtualenv and server settings."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "RESTATE_SERVER_BIN")}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if Path(p) != TOOLS)
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return {**env, **extra}


def make_venv(folder: Path, *requirements: str, editable: Path | None = None) -> Path:
    """A fresh virtualenv with `requirements` (and an editable install in compat mode); its python."""
    ok(run([sys.executable, "-m", "venv", str(folder)]))
    python = folder / "bin" / "python"
    command = [str(python), "-m", "pip", "install", "--quiet", *requirements]
    if editable is not None:
        command += ["-e", f"{editable}[testing]", "--config-settings", "editable_mode=compat"]
    ok(run(command, env=clean_env()))
    return python


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    ok(run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(ROOT)], env=clean_env()))
    (built,) = out.glob("restate_saga-*.whl")
    return built


@pytest.fixture(scope="module")
def base_python(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """restate_saga without extras (plus pytest, to load the plugin the way a user's pytest does)."""
    return make_venv(tmp_path_factory.mktemp("base") / "venv", str(wheel), "pytest")


@pytest.fixture(scope="module")
def user_python(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`pip install 'restate_saga[testing]'`, from the wheel."""
    return make_venv(tmp_path_factory.mktemp("user") / "venv", f"{wheel}[testing]")


@pytest.fixture(scope="module")
def compat_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`pip install -e <checkout>[testing] --config-settings editable_mode=compat`, from a copy of the checkout."""
    checkout = tmp_path_factory.mktemp("checkout")
    shutil.copytree(ROOT / "restate_saga", checkout / "restate_saga", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, checkout / name)
    return make_venv(tmp_path_factory.mktemp("compat") / "venv", editable=checkout)


@pytest.fixture(scope="module")
def cache_home(user_python: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An XDG cache folder into which `install-server --with-cli` installed restate-server and the CLI."""
    home = tmp_path_factory.mktemp("xdg-cache")
    output = ok(
        run(
            [str(user_python), "-m", "restate_saga.testing", "install-server", "--with-cli"],
            env=clean_env(XDG_CACHE_HOME=str(home)),
        )
    )
    assert "restate-server 1.7.12 installed: " in output, output
    return home


@pytest.fixture(scope="module")
def user_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The README's quick start and test module as a project, strict for both checkers."""
    project = tmp_path_factory.mktemp("project")
    (project / "travel.py").write_text(readme_block("# travel.py"))
    (project / "test_travel.py").write_text(readme_block("# test_travel.py"))
    (project / "pyproject.toml").write_text(
        textwrap.dedent(
            """
            [tool.pyright]
            typeCheckingMode = "strict"
            include = ["travel.py", "test_travel.py"]

            [tool.mypy]
            strict = true
            files = ["travel.py", "test_travel.py"]
            """
        )
    )
    return project


# -- a plain install -----------------------------------------------------------------------------


BASE_CHECK = """
import importlib.metadata, importlib.util, json, asyncio
from restate_saga import step
from restate_saga.testing import FakeContext, FakeContextFactory, check_compensations, keyed, find_restate_server

async def act(n: int) -> int:
    return n + 1

async def undo(n: int) -> None: ...

pipeline = step("A", act, undo).then(step("B", act))
report = asyncio.run(check_compensations(pipeline, 1))
result = {
    "missing": [m for m in ("httpx", "hypercorn", "cryptography", "fastapi") if importlib.util.find_spec(m)],
    "ran": asyncio.run(pipeline.run(FakeContext().as_context(), 1)),
    "report_ok": report.ok,
    "requires": importlib.metadata.requires("restate_saga"),
}
try:
    from restate_saga.testing import RestateTestBed
except ImportError as error:
    from restate_saga import MissingExtraError
    result["error"] = [type(error).__name__, isinstance(error, MissingExtraError), str(error)]
print(json.dumps(result))
"""


def test_a_plain_install_has_the_in_process_helpers_and_names_the_extra_for_the_rest(
    base_python: Path, tmp_path: Path
) -> None:
    out = json.loads(ok(run([str(base_python), "-c", BASE_CHECK], cwd=tmp_path, env=clean_env())))
    assert out["missing"] == []  # none of the extras' packages is installed
    assert (out["ran"], out["report_ok"]) == (3, True)
    assert out["error"] == [
        "MissingExtraError",
        True,
        "the 'testing' extra is needed for restate_saga.testing.RestateTestBed but is not installed "
        "(no module 'httpx'): pip install 'restate_saga[testing]'",
    ]
    requires = out["requires"]
    assert not [r for r in requires if "extra ==" not in r and r.startswith(("fastapi", "httpx", "hypercorn"))]
    assert any(r.startswith("fastapi") and 'extra == "examples"' in r for r in requires), requires


def test_server_not_found_says_to_run_install_server(base_python: Path, tmp_path: Path) -> None:
    done = run(
        [str(base_python), "-m", "restate_saga.testing", "find-server"],
        cwd=tmp_path,
        env=clean_env(XDG_CACHE_HOME=str(tmp_path / "empty"), PATH="/usr/bin:/bin"),
    )
    assert done.returncode == 1
    assert "restate-server was not found" in done.stderr
    assert "    python -m restate_saga.testing install-server\n" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_plugin_loads_without_the_extra_and_its_server_fixtures_name_it(base_python: Path, tmp_path: Path) -> None:
    (tmp_path / "test_plain.py").write_text(
        textwrap.dedent(
            """
            import pytest
            import restate

            svc = restate.Service("Plain")

            def test_fakes_work(fake_context):
                assert fake_context(key="k").key() == "k"

            @pytest.mark.restate_app(svc)
            def test_a_real_server_needs_the_extra(restate_bed):
                pass
            """
        )
    )
    done = run(
        [str(base_python), "-m", "pytest", "-p", "no:cacheprovider", "test_plain.py"], cwd=tmp_path, env=clean_env()
    )
    assert "1 passed, 1 error" in done.stdout, done.stdout
    assert "the 'testing' extra is needed for the real-server fixtures" in done.stdout, done.stdout
    assert "pip install 'restate_saga[testing]'" in done.stdout


# -- type checkers in a user's project ------------------------------------------------------------


WRONG = """
from restate_saga import step

async def to_str(n: int) -> str:
    return str(n)

async def needs_int(n: int) -> int:
    return n

step("a", to_str).then(step("b", needs_int))
"""


@pytest.mark.parametrize("install", ["wheel", "editable compat"])
def test_pyright_and_mypy_strict_see_restate_saga_in_a_user_project(
    install: str, request: pytest.FixtureRequest, user_project: Path, tmp_path: Path
) -> None:
    python: Path = request.getfixturevalue("user_python" if install == "wheel" else "compat_python")
    pyright = run([str(TOOLS / "pyright"), "--outputjson", "--pythonpath", str(python)], cwd=user_project)
    report = json.loads(pyright.stdout)
    assert report["summary"]["filesAnalyzed"] == 2
    assert [d for d in report["generalDiagnostics"] if d["severity"] == "error"] == []
    mypy = run([str(TOOLS / "mypy"), "--python-executable", str(python), "--no-incremental"], cwd=user_project)
    assert mypy.returncode == 0 and "Success: no issues found in 2 source files" in mypy.stdout, mypy.stdout

    if install != "wheel":
        return
    # ...and the types are real: a composition whose types do not line up is an error for both.
    (tmp_path / "wrong.py").write_text(WRONG)
    wrong = json.loads(
        run([str(TOOLS / "pyright"), "--outputjson", "--pythonpath", str(python), "wrong.py"], cwd=tmp_path).stdout
    )
    assert {d.get("rule") for d in wrong["generalDiagnostics"]} == {"reportArgumentType"}
    wrong_mypy = run(
        [str(TOOLS / "mypy"), "--strict", "--python-executable", str(python), "--no-incremental", "wrong.py"],
        cwd=tmp_path,
    )
    assert wrong_mypy.returncode == 1 and "[arg-type]" in wrong_mypy.stdout, wrong_mypy.stdout


# -- the server, the README's test module, and the seed's commands ----------------------------------


def test_install_server_installed_once_and_is_found(user_python: Path, cache_home: Path, tmp_path: Path) -> None:
    env = clean_env(XDG_CACHE_HOME=str(cache_home))
    again = ok(
        run([str(user_python), "-m", "restate_saga.testing", "install-server", "--with-cli"], cwd=tmp_path, env=env)
    )
    assert "restate-server 1.7.12 already installed: " in again
    found = Path(
        ok(run([str(user_python), "-m", "restate_saga.testing", "find-server"], cwd=tmp_path, env=env)).strip()
    )
    assert found.is_relative_to(cache_home / "restate_saga" / "restate-server-1.7.12")
    assert "1.7.12" in ok(run([str(found), "--version"]))


def test_the_readme_test_module_passes_in_a_fresh_virtualenv(
    user_python: Path, user_project: Path, cache_home: Path
) -> None:
    done = run(
        [str(user_python), "-m", "pytest", "-p", "no:cacheprovider", "test_travel.py"],
        cwd=user_project,
        env=clean_env(XDG_CACHE_HOME=str(cache_home)),
    )
    assert "4 passed" in done.stdout and done.returncode == 0, done.stdout + done.stderr


SEED_PORTS = (8080, 9070, 9080, 5122)  # ingress, admin, the app, restate-server's node port


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_until(check: str, deadline: float, *, process: subprocess.Popen[bytes], log: Path) -> None:
    with httpx.Client(timeout=2.0) as client:
        while time.monotonic() < deadline:
            assert process.poll() is None, f"{process.args} exited {process.returncode}:\n{log.read_text()}"
            try:
                client.get(check)
                return
            except httpx.TransportError:
                time.sleep(0.1)
    raise AssertionError(f"{check} did not answer in time:\n{log.read_text()}")


@pytest.fixture
def started() -> Iterator[list[subprocess.Popen[bytes]]]:
    processes: list[subprocess.Popen[bytes]] = []
    yield processes
    for process in processes:  # each in its own process group: stop it with whatever it started
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


def test_the_seed_commands_run_the_example_app_as_written(
    user_python: Path, cache_home: Path, tmp_path: Path, started: list[subprocess.Popen[bytes]]
) -> None:
    block = readme_block("pip install -e '.[examples]'", "bash")
    commands = [line.split("  #", 1)[0].strip() for line in block.splitlines() if not line.startswith(" ")]
    assert commands == [
        "pip install -e '.[examples]'",
        "python -m restate_saga.testing install-server --with-cli",
        "restate-server",
        "hypercorn examples.app:app --bind 0.0.0.0:9080",
        "restate deployments register http://localhost:9080/restate/v1",
        'curl -X POST http://localhost:8080/CheckoutWorkflow/run -H "Content-Type: application/json" '
        '-d \'{"customer_id": "cust_123"}\'',
    ]
    busy = [port for port in SEED_PORTS if port_in_use(port)]
    assert not busy, f"the seed's commands use Restate's default ports, and these are taken: {busy}"

    # the PATH line that install-server prints, as a user would paste it
    printed = ok(
        run(
            [str(user_python), "-m", "restate_saga.testing", "install-server", "--with-cli"],
            env=clean_env(XDG_CACHE_HOME=str(cache_home)),
        )
    )
    bin_dir = re.search(r'export PATH="([^"]+):\$PATH"', printed)
    assert bin_dir is not None, printed
    # `pip install -e '.[examples]'` is this checkout's .venv: its bin comes first, as when activated.
    env = clean_env(
        PATH=os.pathsep.join([bin_dir.group(1), str(TOOLS), os.environ.get("PATH", "")]),
        RESTATE_DISABLE_TELEMETRY="true",  # no traffic off this machine
        CI="true",  # the restate CLI then answers its confirmation prompt itself
    )

    def start(command: str, cwd: Path, name: str) -> tuple[subprocess.Popen[bytes], Path]:
        log = tmp_path / f"{name}.log"
        with open(log, "wb") as out:
            process = subprocess.Popen(
                command.split(), cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        started.append(process)
        return process, log

    server, server_log = start(commands[2], tmp_path, "restate-server")
    wait_until("http://localhost:9070/health", time.monotonic() + 60, process=server, log=server_log)
    app, app_log = start(commands[3], ROOT, "hypercorn")
    wait_until("http://localhost:9080/ledger", time.monotonic() + 60, process=app, log=app_log)

    registered = run(["bash", "-c", commands[4]], env=env, timeout=120)
    assert registered.returncode == 0, registered.stdout + registered.stderr
    answer = run(["bash", "-c", commands[5]], env=env, timeout=120)
    assert answer.returncode == 0, answer.stderr
    result = json.loads(answer.stdout)
    assert set(result) == {"order_id", "payment_id", "shipment_id"}, answer.stdout

    ledger = httpx.get("http://localhost:9080/ledger", timeout=10).json()
    assert [event["service"] for event in ledger] == ["orders", "payments", "shipping"]
    assert ledger[0]["what"] == f"created {result['order_id']} for cust_123 (total 10)"
