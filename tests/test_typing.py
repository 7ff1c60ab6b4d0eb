"""Runs pyright (strict) over the type tests, so that a regression in inference fails the suite.

`tests/typing/check_*.py` hold `assert_type` checks and wrong compositions marked with a
rule-specific `# pyright: ignore[...]`; with `reportUnnecessaryTypeIgnoreComment = "error"` an
ignore that is no longer needed (the wrong composition type-checks) is an error too.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


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


def test_type_checks_pass_under_strict() -> None:
    report = pyright("tests/typing")
    errors = [d for d in report["generalDiagnostics"] if d["severity"] == "error"]
    assert report["summary"]["filesAnalyzed"] >= 1
    assert errors == [], json.dumps(errors, indent=1)


def test_a_wrong_composition_is_reported(tmp_path: Path) -> None:
    probe = ROOT / "tests" / "typing" / "_probe_wrong_composition.py"
    probe.write_text(
        textwrap.dedent(
            """
            from restate_saga import step

            async def to_str(n: int) -> str:
                return str(n)

            async def needs_int(n: int) -> int:
                return n

            step("a", to_str).then(step("b", needs_int))
            """
        )
    )
    try:
        report = pyright(str(probe.relative_to(ROOT)))
    finally:
        probe.unlink()
    rules = {d.get("rule") for d in report["generalDiagnostics"] if d["severity"] == "error"}
    assert "reportArgumentType" in rules
