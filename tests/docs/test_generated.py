"""The site's generated content (docs/hooks/generated.py) is what the code and the results say."""

from __future__ import annotations

import importlib.util
import json
import types

import pytest
from mkdocs.exceptions import PluginError

from examples.travel import travel_booking
from tests.docs.fences import DOCS, ROOT, fences, pages


def _hook() -> types.ModuleType:
    spec = importlib.util.spec_from_file_location("docs_hooks_generated", DOCS / "hooks" / "generated.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


generated = _hook()


def test_a_diagram_block_becomes_the_diagram_of_the_pipeline_it_names() -> None:
    page = "Before.\n\n```saga-diagram\nexamples.travel:travel_booking\n```\n\nAfter.\n"
    expanded = generated.expand(page, "page.md")
    assert expanded == "Before.\n\n```mermaid\n" + travel_booking.to_mermaid() + "```\n\nAfter.\n"


def test_a_diagram_inside_an_admonition_keeps_its_indentation() -> None:
    page = "!!! note\n\n    ```saga-diagram\n    examples.travel:TravelBooking\n    ```\n"
    lines = generated.expand(page, "page.md").splitlines()
    assert lines[2] == "    ```mermaid"
    assert all(line.startswith("    ") for line in lines[2:] if line)


@pytest.mark.parametrize(
    ("target", "problem"),
    [
        ("examples.travel:no_such_pipeline", "has no attribute"),
        ("examples.no_such_module:pipeline", "No module named"),
        ("examples.travel", "expected `module:attribute`"),
        ("examples.travel:Trip", "has no plan"),
    ],
)
def test_a_diagram_of_something_that_is_not_a_saga_fails_the_build(target: str, problem: str) -> None:
    with pytest.raises(PluginError, match=problem) as raised:
        generated.expand(f"# Title\n\n```saga-diagram\n{target}\n```\n", "guides/page.md")
    assert "guides/page.md:3" in str(raised.value)


def test_every_diagram_of_the_site_names_a_saga() -> None:
    targets = [block.body.strip() for page in pages() for block in fences(page) if block.lang == "saga-diagram"]
    assert targets, "the site shows no diagram"
    for target in targets:
        assert generated.diagram(target).startswith("```mermaid\nflowchart LR\n"), target


def test_the_benchmark_tables_are_the_results_file() -> None:
    data = json.loads((ROOT / "benchmarks" / "results" / "latest.json").read_text())
    table = generated.benchmark("server").splitlines()
    assert len(table) == 2 + len(data["server"])
    checkout = data["server"]["checkout"]["implementations"]
    implementations = ("handwritten", "reference", "restate_saga")
    bytes_cell = "\u00a0/\u00a0".join(str(checkout[key]["journal"]["bytes"]) for key in implementations)
    entries = checkout["restate_saga"]["journal"]["entries"]
    assert table[2].startswith(f"| {data['server']['checkout']['label']} | {entries} | {bytes_cell} |")
    assert data["machine"]["git_commit"] in generated.benchmark("machine")
    assert len(generated.benchmark("inprocess").splitlines()) >= 2 + len(data["inprocess"]["run"])
    assert generated.benchmark("summary").count("\n- ") == 5
    with pytest.raises(ValueError, match="expected one of"):
        generated.benchmark("everything")


def test_the_chart_is_published() -> None:
    assert generated.CHART.is_file()
    assert any("../assets/benchmarks.png" in page.read_text() for page in pages())
