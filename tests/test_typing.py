"""Runs pyright (strict) and mypy (strict) over the type tests, so that a regression in inference
under either checker fails the suite.

`tests/typing/check_*.py` hold `assert_type` checks and wrong compositions marked, as typeshed's
test cases are, with `# type: ignore[code]` (read by mypy only) next to `# pyright: ignore[rule]`
(read by pyright only). Both checkers report an ignore that is no longer needed, so a wrong
composition that starts to type-check fails the suite under either checker.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MYPY_LINE = re.compile(
    r"^(?P<path>[^:]+):(?P<line>\d+): (?P<severity>error|note): (?P<message>.*?)(?:  \[(?P<code>[\w-]+)\])?$"
)


def pyright(*paths: str) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, "-m", "pyright", "--outputjson", *paths],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return json.loads(completed.stdout)


def pyright_errors(*paths: str) -> list[dict[str, Any]]:
    return [d for d in pyright(*paths)["generalDiagnostics"] if d["severity"] == "error"]


def mypy(*paths: str) -> tuple[int, list[dict[str, str]]]:
    """mypy with the project's configuration (`[tool.mypy]`); its exit status and its errors."""
    completed = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-error-summary", "--show-absolute-path", *paths],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    errors = [
        match.groupdict()
        for line in completed.stdout.splitlines()
        if (match := MYPY_LINE.match(line)) and match["severity"] == "error"
    ]
    assert completed.returncode in (0, 1), completed.stdout + completed.stderr
    return completed.returncode, errors


def test_type_checks_pass_under_pyright_strict() -> None:
    report = pyright("tests/typing")
    errors = [d for d in report["generalDiagnostics"] if d["severity"] == "error"]
    assert report["summary"]["filesAnalyzed"] >= 4
    assert errors == [], json.dumps(errors, indent=1)


def test_package_examples_and_type_tests_pass_under_mypy_strict() -> None:
    status, errors = mypy()  # the configured files: restate_saga, examples, tests/typing
    assert errors == [] and status == 0, json.dumps(errors, indent=1)


PROBE = """
from restate_saga import step

async def to_str(n: int) -> str:
    return str(n)

async def needs_int(n: int) -> int:
    return n

first = step("a", to_str)
"""


def _probe(tmp_path: Path, body: str) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    probe = tmp_path / "probe.py"
    probe.write_text(textwrap.dedent(PROBE) + textwrap.dedent(body))
    return pyright_errors(str(probe)), mypy(str(probe))[1]


def test_a_wrong_composition_is_reported_by_both(tmp_path: Path) -> None:
    found_pyright, found_mypy = _probe(tmp_path, 'first.then(step("b", needs_int))\n')
    assert {d.get("rule") for d in found_pyright} == {"reportArgumentType"}
    assert [e["code"] for e in found_mypy] == ["arg-type"]


def test_an_inference_regression_is_reported_by_both(tmp_path: Path) -> None:
    regression = """
        from typing import assert_type
        from restate_saga import Step
        assert_type(first, Step[int, object, None])
    """
    found_pyright, found_mypy = _probe(tmp_path, regression)
    assert {d.get("rule") for d in found_pyright} == {"reportAssertTypeFailure"}
    assert [e["code"] for e in found_mypy] == ["assert-type"]


def test_an_ignore_that_is_no_longer_needed_is_reported_by_both(tmp_path: Path) -> None:
    found_pyright, found_mypy = _probe(
        tmp_path,
        'step("b", needs_int).then(first)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]\n',
    )
    assert {d.get("rule") for d in found_pyright} == {"reportUnnecessaryTypeIgnoreComment"}
    assert [e["code"] for e in found_mypy] == ["unused-ignore"]
