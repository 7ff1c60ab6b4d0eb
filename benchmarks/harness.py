"""Processes: one restate-server, the three deployments, and the reference virtualenv they need."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Generator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

from benchmarks.workloads import IMPLEMENTATIONS, Implementation
from restate_saga.testing import AppProcess, RestateServer, register_deployment

__all__ = ["REPO", "Deployment", "Deployments", "ensure_reference_venv", "running_stack"]

REPO = Path(__file__).resolve().parents[1]
APPS = REPO / "benchmarks" / "apps"
REFERENCE_VENV = REPO / ".tools" / "reference-venv"
REFERENCE_REQUIREMENTS = ("restate-saga==0.1.0", "hypercorn")


def _venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def ensure_reference_venv(venv: Path = REFERENCE_VENV, quiet: bool = True) -> Path:
    """The reference virtualenv's python, creating the venv and installing restate-saga 0.1.0 if needed."""
    python = _venv_python(venv)
    probe = [str(python), "-c", "import importlib.metadata as m, hypercorn; print(m.version('restate-saga'))"]
    if python.exists():
        found = subprocess.run(probe, capture_output=True, text=True, cwd=APPS, check=False)
        if found.returncode == 0 and found.stdout.strip() == "0.1.0":
            return python
    if not python.exists():
        print(f"benchmarks: creating the reference virtualenv {venv}", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    print("benchmarks: installing restate-saga==0.1.0 and hypercorn into it", file=sys.stderr)
    pip = [str(python), "-m", "pip", "install", "--disable-pip-version-check"]
    if quiet:
        pip.append("--quiet")
    subprocess.run([*pip, *REFERENCE_REQUIREMENTS], check=True)
    found = subprocess.run(probe, capture_output=True, text=True, cwd=APPS, check=False)
    if found.returncode != 0 or found.stdout.strip() != "0.1.0":
        raise RuntimeError(f"the reference virtualenv is not usable: {found.stdout}{found.stderr}")
    return python


@dataclass
class Deployment:
    """One implementation served by hypercorn in a child process of its own (own venv, own port)."""

    implementation: Implementation
    process: AppProcess

    @property
    def url(self) -> str:
        return self.process.url

    @property
    def pid(self) -> int | None:
        return self.process.pid

    def __enter__(self) -> Self:
        self.process.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.process.stop()


def deployment_for(implementation: Implementation, reference_python: Path) -> Deployment:
    if implementation.key == "reference":
        return Deployment(
            implementation, AppProcess("reference_app:app", cwd=APPS, python=reference_python, log_level="ERROR")
        )
    module = "handwritten" if implementation.key == "handwritten" else "ours"
    return Deployment(implementation, AppProcess(f"benchmarks.apps.{module}:app", cwd=REPO, log_level="ERROR"))


@dataclass
class Deployments:
    """The running server and one registered deployment per implementation."""

    server: RestateServer
    by_key: dict[str, Deployment]


@contextmanager
def running_stack(reference_python: Path) -> Generator[Deployments, None, None]:
    """Start one restate-server and the three deployments, register them, stop everything after."""
    with ExitStack() as stack:
        server = stack.enter_context(RestateServer())
        deployments: dict[str, Deployment] = {}
        for implementation in IMPLEMENTATIONS:
            deployment = stack.enter_context(deployment_for(implementation, reference_python))
            deployments[implementation.key] = deployment
        for deployment in deployments.values():
            register_deployment(server.admin_url, deployment.url)
        yield Deployments(server, deployments)
