"""The README stays true: its diagram is the generated one, and its commands exist."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, cast

import pytest

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


async def test_readme_interceptor_and_opentelemetry_snippets_run(capsys: pytest.CaptureFixture[str]) -> None:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from restate import TerminalError

    from restate_saga import SagaCompensatedError, clear_interceptors, step
    from restate_saga.testing import FakeContext

    section = README.split("## Observing sagas", 1)[1].split("\n## ", 1)[0]
    interceptor_example, otel_example = re.findall(r"```python\n(.*?)```", section, re.S)
    audit: dict[str, Any] = {}
    exec(interceptor_example, audit)
    switch_on: dict[str, Any] = {}
    exec(otel_example, switch_on)  # registers the OpenTelemetry interceptor for every saga
    try:
        tracer_provider: TracerProvider = switch_on["tracer_provider"]
        spans = InMemorySpanExporter()
        tracer_provider.add_span_processor(SimpleSpanProcessor(spans))

        async def book(data: dict[str, str]) -> dict[str, str]:
            return data

        async def refuse(data: dict[str, str]) -> dict[str, str]:
            raise TerminalError("no rooms")

        async def cancel(data: dict[str, str]) -> None:
            raise TerminalError("airline down")

        saga = step("Flight", book, cancel).then(step("Hotel", refuse))
        with pytest.raises(SagaCompensatedError):
            await saga.run(FakeContext(invocation_id="inv_readme").as_context(), {}, interceptors=[audit["Audit"]()])
        printed = [line for line in capsys.readouterr().out.splitlines() if line[:1].isalpha()]  # not the JSON
        assert printed[:2] == ["start Flight attempt 1 inv_readme:0:Flight", "start Hotel attempt 1 inv_readme:1:Hotel"]
        assert "undo failed Flight airline down later_failure" in printed
        assert printed[-1] == "saga inv_readme compensation_failed"
        names = sorted(span.name for span in spans.get_finished_spans())
        assert names == ["compensate Flight", "saga saga", "step Flight", "step Hotel"]
    finally:
        clear_interceptors()
        meter_provider: MeterProvider = cast(MeterProvider, switch_on["metrics"].get_meter_provider())
        meter_provider.shutdown()
        tracer_provider.shutdown()


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
