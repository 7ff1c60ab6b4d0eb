"""The docs commands the README gives exist, and the test command builds the site strictly."""

from __future__ import annotations

import os

from tests.docs.fences import ROOT


def test_the_readme_gives_the_docs_commands_and_they_exist() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "scripts/docs serve" in readme
    assert os.access(ROOT / "scripts" / "docs", os.X_OK)
    assert "mkdocs build --strict" in (ROOT / "scripts" / "docs").read_text()


def test_the_test_command_builds_the_site_strictly() -> None:
    assert "mkdocs build --strict" in (ROOT / "scripts" / "test").read_text()


def test_the_docs_dependencies_are_pinned_in_the_docs_extra() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text()
    extra = pyproject[pyproject.index("docs = [") : pyproject.index("]", pyproject.index("docs = ["))]
    for package in ("mkdocs==", "mkdocs-material==", "mkdocstrings==", "mkdocstrings-python=="):
        assert package in extra, package
    assert '".[dev,docs]"' in (ROOT / "scripts" / "setup").read_text()
