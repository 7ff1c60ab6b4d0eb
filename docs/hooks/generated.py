"""MkDocs hook: the parts of the site that are generated from the code at build time, never pasted.

- A fenced block of kind `saga-diagram` whose body is `module:attribute` (a pipeline `Step` or a
  saga service) becomes a Mermaid diagram of that saga's plan (`restate_saga.to_mermaid`).
- A fenced block of kind `benchmark` whose body is `summary`, `server`, `inprocess` or `machine`
  becomes tables and text from `benchmarks/results/latest.json`.
- `benchmarks/results/latest.png` is published as `assets/benchmarks.png`.

A block that names something that does not exist fails the build, naming the page and line.
"""

from __future__ import annotations

import importlib
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "benchmarks" / "results" / "latest.json"
CHART = ROOT / "benchmarks" / "results" / "latest.png"
CHART_URI = "assets/benchmarks.png"
TIMES, DASH = "\u00d7", "\u2013"  # the multiplication sign and the en dash of ranges
NBSP_SLASH = "\u00a0/\u00a0"  # keeps the three figures of a cell on one line

_FENCE = re.compile(
    r"^(?P<indent>[ \t]*)```(?P<kind>saga-diagram|benchmark)[ \t]*\n(?P<body>.*?)\n(?P=indent)```[ \t]*$",
    re.MULTILINE | re.DOTALL,
)


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    """Make the repository importable (`examples`, `benchmarks`) from the hook."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return config


def on_files(files: Files, config: MkDocsConfig) -> Files:
    """Publish the benchmark chart next to the pages."""
    files.append(File.generated(config, CHART_URI, abs_src_path=str(CHART)))
    return files


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    """Replace every generated block of the page with its content."""
    return expand(markdown, page.file.src_uri)


def expand(markdown: str, where: str) -> str:
    """`markdown` with its `saga-diagram` and `benchmark` blocks replaced by what they stand for."""

    def replace(match: re.Match[str]) -> str:
        line = markdown.count("\n", 0, match.start()) + 1
        body = match["body"].strip()
        try:
            text = diagram(body) if match["kind"] == "saga-diagram" else benchmark(body)
        except (LookupError, ValueError, ImportError, OSError) as error:
            raise PluginError(f"{where}:{line}: {match['kind']} block {body!r}: {error}") from error
        indent = match["indent"]
        return "\n".join(indent + row if row else row for row in text.splitlines())

    return _FENCE.sub(replace, markdown)


def resolve(target: str) -> object:
    """The object `module:attribute` names."""
    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute:
        raise ValueError("expected `module:attribute`")
    value: object = importlib.import_module(module_name)
    for part in attribute.split("."):
        if not hasattr(value, part):
            raise LookupError(f"{module_name} has no attribute {attribute!r}")
        value = getattr(value, part)
    return value


def diagram(target: str) -> str:
    """A Mermaid fence drawing the plan of the pipeline or saga service `target` names."""
    from restate_saga import to_mermaid

    saga = resolve(target)
    plan = getattr(saga, "plan", None)
    if plan is None:
        raise ValueError(f"{type(saga).__name__} has no plan (expected a Step or a saga service)")
    return "```mermaid\n" + to_mermaid(plan) + "```"


def _load_results() -> dict[str, Any]:
    results: dict[str, Any] = json.loads(RESULTS.read_text())
    return results


def _f(value: object, digits: int) -> str:
    return f"{value:.{digits}f}" if isinstance(value, int | float) else "n/a"


_IMPLEMENTATIONS = ("handwritten", "reference", "restate_saga")


def _journal_bytes(impl: dict[str, Any]) -> object:
    return impl["journal"]["bytes"]


def _p50(impl: dict[str, Any]) -> object:
    return impl["latency_ms"]["p50"]


def _throughput(impl: dict[str, Any]) -> object:
    return impl["throughput"]["calls_per_s"]


def _app_cpu(impl: dict[str, Any]) -> object:
    return impl.get("cpu", {}).get("deployment_ms_per_invocation")


def server_table(data: dict[str, Any]) -> str:
    """Per workload: journal entries, then hand-written / reference 0.1.0 / restate_saga side by side."""
    rows = [
        "| saga | journal entries | journal bytes | p50 ms | calls/s @16 | app CPU ms |",
        "| :--- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for workload in data["server"].values():
        impls: list[dict[str, Any]] = [workload["implementations"][key] for key in _IMPLEMENTATIONS]

        def three(pick: Callable[[dict[str, Any]], object], digits: int, impls: list[dict[str, Any]] = impls) -> str:
            return NBSP_SLASH.join(_f(pick(impl), digits) for impl in impls)

        cells = [three(_journal_bytes, 0), three(_p50, 1), three(_throughput, 1), three(_app_cpu, 2)]
        rows.append(f"| {workload['label']} | {impls[2]['journal']['entries']} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def inprocess_table(data: dict[str, Any]) -> str:
    """The in-process cost per step on `FakeContext`, and the import cost."""
    rows = [
        "| steps | hand-written \u00b5s/step | restate_saga \u00b5s/step | added \u00b5s/step |",
        "| :--- | ---: | ---: | ---: |",
    ]
    for run in data["inprocess"]["run"]:
        label = f"{run['steps']}" + (", the last one fails" if run["fail"] else "")
        rows.append(
            f"| {label} | {_f(run['handwritten_us_per_step'], 2)} | {_f(run['restate_saga_us_per_step'], 2)} "
            f"| {_f(run['overhead_us_per_step'], 2)} |"
        )
    imports = data.get("imports", {})
    lib = imports.get("restate_saga")
    if lib:
        rows += [
            "",
            f"`import restate_saga` adds {_f(lib['import_restate_saga_after_restate_ms'], 1)} ms on top of "
            f"`import restate` ({_f(lib['import_restate_ms'], 0)} ms), median of {lib['repeats']} fresh interpreters"
            " with bytecode cached"
            + (
                f"; every public name (`from restate_saga import *`) adds "
                f"{_f(lib['import_whole_face_after_package_ms'], 0)} ms more"
                if "import_whole_face_after_package_ms" in lib
                else ""
            )
            + (
                f" (measured again on {data['imports_measured']['at'][:10]}, commit "
                f"`{data['imports_measured']['git_commit']}`)."
                if "imports_measured" in data
                else "."
            ),
        ]
    return "\n".join(rows)


def machine_line(data: dict[str, Any]) -> str:
    """Where and when the figures were measured."""
    m = data["machine"]
    return (
        f"Measured on {data['started_at'][:10]} (commit `{m['git_commit']}`, about {data['duration_s'] / 60:.0f} "
        f"minutes): {m['cpu_count']} {TIMES} {m['cpu_model']} vCPU, {m['memory_gb']:.0f} GB, Python {m['python']}, "
        f"restate-server {m['restate_server']}, restate-sdk {m['restate_sdk']}, pydantic {m['pydantic']}, "
        f"hypercorn {m['hypercorn']}."
    )


def _range(values: list[float], digits: int = 2) -> str:
    low, high = f"{min(values):.{digits}f}", f"{max(values):.{digits}f}"
    return f"{low}{TIMES}" if low == high else f"{low}{DASH}{high}{TIMES}"


def summary(data: dict[str, Any]) -> str:
    """restate_saga relative to each baseline, as ranges over the workloads."""
    server = data["server"]
    ratios = list(data["ratios"].values())
    same = sum(
        w["implementations"]["restate_saga"]["journal"]["entries"]
        == w["implementations"]["handwritten"]["journal"]["entries"]
        for w in server.values()
    )

    def over(base: str, metric: str) -> str:
        return _range([r[f"vs_{base}"][metric] for r in ratios if r[f"vs_{base}"].get(metric) is not None])

    lin = data["inprocess"]["linearity"]
    growth = lin["build_plus_run_large_ms"] / lin["build_plus_run_small_ms"]
    return "\n".join(
        [
            f"- **Journal entries:** the same as the hand-written saga on {same} of {len(server)} workloads.",
            f"- **Journal bytes:** {over('handwritten', 'bytes')} those of the hand-written saga, "
            f"{over('reference', 'bytes')} those of restate-saga 0.1.0.",
            f"- **Latency (p50 of sequential calls):** {over('handwritten', 'p50')} the hand-written saga's, "
            f"{over('reference', 'p50')} 0.1.0's.",
            f"- **Throughput (16 concurrent clients):** {over('handwritten', 'throughput')} the hand-written "
            f"saga's, {over('reference', 'throughput')} 0.1.0's.",
            f"- **App CPU per invocation:** {over('handwritten', 'cpu_deployment')} the hand-written saga's.",
            f"- **Growth:** building and running {lin['large']:,} steps takes {growth:.1f}{TIMES} the time of "
            f"{lin['small']:,}.",
        ]
    )


def benchmark(part: str) -> str:
    """Generated text for one part of the performance page."""
    data = _load_results()
    if part == "server":
        return server_table(data)
    if part == "inprocess":
        return inprocess_table(data)
    if part == "machine":
        return machine_line(data)
    if part == "summary":
        return summary(data)
    raise ValueError("expected one of: summary, server, inprocess, machine")
