"""The README stays true: its diagram is the generated one, its links and commands exist."""

from __future__ import annotations

import os
import re
from pathlib import Path

from examples.checkout_pipeline import checkout_pipeline

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_readme_shows_the_generated_diagram_of_the_example_checkout() -> None:
    assert "```mermaid\n" + checkout_pipeline.to_mermaid() + "```" in README


def test_readme_links_point_at_files_that_exist() -> None:
    links = re.findall(r"\]\(((?!https?:)[^)#]+)(?:#[^)]*)?\)", README)
    assert len(links) > 15
    missing = [link for link in links if not (ROOT / link).exists()]
    assert not missing, f"README links to files that do not exist: {missing}"


def test_readme_commands_exist_and_ci_runs_the_test_command() -> None:
    for command in ("scripts/demo", "scripts/test", "scripts/setup"):
        assert command in README
        assert os.access(ROOT / command, os.X_OK), command
    assert "scripts/test" in (ROOT / ".ci" / "run").read_text()


def test_the_other_pythons_are_reported_when_absent(tmp_path: Path) -> None:
    import subprocess

    done = subprocess.run(
        [str(ROOT / "scripts" / "test-other-pythons")],
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYENV_ROOT": str(tmp_path), "PYTHON_VERSIONS": "3.99"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "== unit tests on Python 3.99",
        "   NOT RUN: Python 3.99 is not installed on this machine (not on PATH, not under pyenv)",
    ]
    assert "scripts/test-other-pythons" in (ROOT / "scripts" / "test").read_text()
