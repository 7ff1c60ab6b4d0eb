"""The README stays true: its diagram is the generated one, and its commands exist."""

from __future__ import annotations

import os
from pathlib import Path

from examples.checkout_pipeline import checkout_pipeline

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_readme_shows_the_generated_diagrams_of_the_example_pipelines() -> None:
    from examples.travel import travel_booking

    assert "```mermaid\n" + checkout_pipeline.to_mermaid() + "```" in README
    assert "```mermaid\n" + travel_booking.to_mermaid() + "```" in README


def test_readme_commands_exist_and_ci_runs_the_test_command() -> None:
    for command in ("scripts/demo", "scripts/test", "scripts/setup"):
        assert command in README
        assert os.access(ROOT / command, os.X_OK), command
    assert "scripts/test" in (ROOT / ".ci" / "run").read_text()
