"""Ratios, targets, the terminal/markdown tables, the JSON file and the PNG chart."""

# The results are JSON-shaped dicts and matplotlib is loosely typed: strict inference would only
# report `Any` here, so this one file is checked in basic mode.
# pyright: basic

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path
from typing import Any

from benchmarks.stats import ratio
from benchmarks.workloads import IMPLEMENTATIONS

__all__ = ["add_ratios", "evaluate_targets", "plot", "tables", "write_json"]

LIB = "restate_saga"
HAND = "handwritten"
REF = "reference"
SHORT = {HAND: "hand-written", REF: "reference 0.1.0", LIB: "restate_saga"}
COLORS = {HAND: "#7f7f7f", REF: "#d62728", LIB: "#1f77b4"}

# Targets of issue 5. Timings are reported against them, never asserted.
BYTES_TARGET = 1.10
THROUGHPUT_VS_HAND = 0.95
THROUGHPUT_VS_REF = 1.00
P50_VS_HAND = 1.05
OVERHEAD_US = 20.0
LINEAR_SLACK = 1.30
IMPORT_MS = 10.0
# Targets of issue 17 (encrypted journals).
ENCRYPTION_BYTES = 40
ENCRYPTION_ROUNDTRIP_US = 20.0


def _metrics(impl: dict[str, Any]) -> dict[str, float | None]:
    journal = impl["journal"]
    return {
        "entries": journal.get("entries"),
        "bytes": journal.get("bytes"),
        "run_bytes_per_run_entry": journal.get("run_bytes_per_run_entry"),
        "p50": impl["latency_ms"].get("p50"),
        "p95": impl["latency_ms"].get("p95"),
        "throughput": impl["throughput"].get("calls_per_s"),
        "cpu_deployment": impl.get("cpu", {}).get("deployment_ms_per_invocation"),
        "cpu_server": impl.get("cpu", {}).get("server_ms_per_invocation"),
    }


def _paired_throughput(lib: dict[str, Any], base: dict[str, Any]) -> float | None:
    """Median over rounds of restate_saga's window over the baseline's window of the same round.

    The windows of one round run back to back, so this is less sensitive to load that drifts
    during the run than the ratio of the totals.
    """
    pairs = [
        float(a["calls_per_s"]) / float(b["calls_per_s"])
        for a, b in zip(lib["throughput"]["rounds"], base["throughput"]["rounds"], strict=False)
        if b["calls_per_s"]
    ]
    return statistics.median(pairs) if pairs else None


def add_ratios(server: dict[str, Any]) -> dict[str, Any]:
    """restate_saga over each baseline, per workload and metric (bytes, latency: lower is better)."""
    ratios: dict[str, Any] = {}
    for key, workload in server.items():
        impls = workload["implementations"]
        lib = _metrics(impls[LIB])
        ratios[key] = {}
        for base in (HAND, REF):
            values = {metric: ratio(lib[metric], _metrics(impls[base])[metric]) for metric in lib}
            values["throughput_paired_median"] = _paired_throughput(impls[LIB], impls[base])
            ratios[key][f"vs_{base}"] = values
    return ratios


def _target(name: str, goal: str, value: str, met: bool | None, detail: str = "") -> dict[str, Any]:
    return {"target": name, "goal": goal, "measured": value, "met": met, "detail": detail}


def _fmt(value: float | None, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{value:.{digits}f}"


def _extreme(
    ratios: dict[str, Any], base: str, metric: str, worst_is_max: bool
) -> tuple[float | None, str | None, list[str]]:
    pairs = [
        (float(r[f"vs_{base}"][metric]), key) for key, r in ratios.items() if r[f"vs_{base}"].get(metric) is not None
    ]
    if not pairs:
        return None, None, []
    value, key = max(pairs) if worst_is_max else min(pairs)
    listing = [f"{k} {v:.3f}" for v, k in pairs]
    return value, key, listing


def evaluate_targets(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target of issue 5 with what was measured; `met` is information, not a test verdict."""
    targets: list[dict[str, Any]] = []
    server = data.get("server") or {}
    ratios = data.get("ratios") or {}
    if server:
        equal = [
            key
            for key, w in server.items()
            if w["implementations"][LIB]["journal"].get("entries")
            == w["implementations"][HAND]["journal"].get("entries")
            and w["implementations"][LIB]["journal"].get("run_entries")
            == w["implementations"][HAND]["journal"].get("run_entries")
        ]
        counts = ", ".join(
            f"{k} {w['implementations'][LIB]['journal'].get('entries')}"
            f"/{w['implementations'][HAND]['journal'].get('entries')}"
            for k, w in server.items()
        )
        targets.append(
            _target(
                "journal entries equal to hand-written",
                "equal on every workload",
                f"{len(equal)}/{len(server)} workloads equal",
                len(equal) == len(server),
                f"restate_saga/hand-written entries per invocation: {counts}",
            )
        )
        worst, where, listing = _extreme(ratios, HAND, "bytes", True)
        targets.append(
            _target(
                "journal bytes per step vs hand-written",
                f"<= {BYTES_TARGET:.2f}x",
                f"worst {_fmt(worst, 3)}x ({where})",
                None if worst is None else worst <= BYTES_TARGET,
                "; ".join(listing),
            )
        )
        for base, goal in ((HAND, THROUGHPUT_VS_HAND), (REF, THROUGHPUT_VS_REF)):
            lowest, where, listing = _extreme(ratios, base, "throughput", False)
            _, _, paired = _extreme(ratios, base, "throughput_paired_median", False)
            targets.append(
                _target(
                    f"throughput at 16 clients vs {SHORT[base]}",
                    f">= {goal:.2f}x",
                    f"lowest {_fmt(lowest, 3)}x ({where})",
                    None if lowest is None else lowest >= goal,
                    "total calls/total time: "
                    + "; ".join(listing)
                    + ". Median of per-round ratios: "
                    + "; ".join(paired),
                )
            )
        worst, where, listing = _extreme(ratios, HAND, "cpu_deployment", True)
        targets.append(
            _target(
                "(context) app CPU per invocation vs hand-written",
                "information",
                f"worst {_fmt(worst, 3)}x ({where})",
                None,
                "; ".join(listing),
            )
        )
        worst, where, listing = _extreme(ratios, HAND, "p50", True)
        targets.append(
            _target(
                "sequential p50 vs hand-written",
                f"<= {P50_VS_HAND:.2f}x (within 5%)",
                f"worst {_fmt(worst, 3)}x ({where})",
                None if worst is None else worst <= P50_VS_HAND,
                "; ".join(listing),
            )
        )
    inprocess = data.get("inprocess") or {}
    if inprocess:
        runs = [r for r in inprocess["run"] if not r["fail"]]
        worst_overhead = max(r["overhead_us_per_step"] for r in runs)
        targets.append(
            _target(
                "in-process overhead per step (FakeContext)",
                f"<= {OVERHEAD_US:.0f} us/step",
                f"{worst_overhead:.2f} us/step (worst size)",
                worst_overhead <= OVERHEAD_US,
                "; ".join(
                    f"{r['steps']} steps{' failing' if r['fail'] else ''}: restate_saga "
                    f"{r['restate_saga_us_per_step']:.2f} - hand-written {r['handwritten_us_per_step']:.2f} = "
                    f"{r['overhead_us_per_step']:.2f} us"
                    for r in inprocess["run"]
                ),
            )
        )
        lin = inprocess["linearity"]
        worst_lin = max(lin["run_per_step_ratio"], lin["build_per_step_ratio"])
        targets.append(
            _target(
                f"build + run grow linearly ({lin['small']} vs {lin['large']} steps)",
                f"per-step cost ratio <= {LINEAR_SLACK:.2f}",
                f"build {lin['build_per_step_ratio']:.2f}, run {lin['run_per_step_ratio']:.2f}",
                worst_lin <= LINEAR_SLACK,
                f"build+run {lin['small']} steps {lin['build_plus_run_small_ms']:.1f} ms, "
                f"{lin['large']} steps {lin['build_plus_run_large_ms']:.1f} ms "
                f"(x{lin['build_plus_run_large_ms'] / lin['build_plus_run_small_ms']:.1f} for "
                f"x{lin['size_ratio']:.0f} steps); .then alone in a fresh interpreter: per-step ratio "
                f"{lin['then_scaling_per_step_ratio']:.2f} ({lin['then_scaling_sizes'][0]} vs "
                f"{lin['then_scaling_sizes'][1]} steps)",
            )
        )
    encryption = data.get("encryption") or {}
    if encryption:
        sizes, roundtrip, run = encryption["bytes"], encryption["roundtrip_1kb"], encryption["run"]
        targets.append(
            _target(
                "journal bytes an encrypted value adds (full form)",
                f"<= {ENCRYPTION_BYTES} bytes",
                f"{sizes['full_overhead_bytes_max']} bytes (worst of {sizes['steps']} steps)",
                sizes["full_overhead_bytes_max"] <= ENCRYPTION_BYTES,
                f"key id {encryption['key_id']!r}; per step plain {sizes['plain_bytes_per_step']:.0f} B, "
                f"full {sizes['full_bytes_per_step']:.0f} B, selective {sizes['selective_bytes_per_step']:.0f} B",
            )
        )
        targets.append(
            _target(
                "encrypt + decrypt one 1 KB journal value",
                f"<= {ENCRYPTION_ROUNDTRIP_US:.0f} us",
                f"{roundtrip['full']['min_us']:.2f} us (fastest batch; median {roundtrip['full']['median_us']:.2f})",
                roundtrip["full"]["min_us"] <= ENCRYPTION_ROUNDTRIP_US,
                f"selective (one 1 KB secret) {roundtrip['selective']['min_us']:.2f} us; per saga step on "
                f"FakeContext (median): plain {run['plain_us_per_step']:.2f}, full {run['full_us_per_step']:.2f}, "
                f"selective {run['selective_us_per_step']:.2f} us",
            )
        )
    imports = data.get("imports") or {}
    if LIB in imports:
        added = imports[LIB]["import_restate_saga_after_restate_ms"]
        targets.append(
            _target(
                "import restate_saga on top of import restate",
                f"<= {IMPORT_MS:.0f} ms",
                f"{added:.1f} ms (median of {imports[LIB]['repeats']})",
                added <= IMPORT_MS,
                f"import restate itself {imports[LIB]['import_restate_ms']:.0f} ms"
                + (
                    f"; reference 0.1.0 adds {imports[REF]['import_restate_saga_after_restate_ms']:.1f} ms"
                    if REF in imports
                    else ""
                ),
            )
        )
    return targets


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _table(header: list[str], rows: list[list[str]], align: str) -> list[str]:
    separator = ["---:" if a == "r" else ":---" for a in align]
    return [_row(header), _row(separator), *(_row(r) for r in rows)]


def tables(data: dict[str, Any]) -> str:
    """Markdown tables (readable in a terminal, pasteable into the README)."""
    lines: list[str] = []
    server = data.get("server") or {}
    ratios = data.get("ratios") or {}
    if server:
        lines.append("Through restate-server (per invocation; latency of sequential calls; 16 concurrent clients)")
        lines.append("")
        rows: list[list[str]] = []
        for workload in server.values():
            for impl in IMPLEMENTATIONS:
                m = workload["implementations"][impl.key]
                journal, latency, tput = m["journal"], m["latency_ms"], m["throughput"]
                rows.append(
                    [
                        workload["label"] if impl.key == HAND else "",
                        SHORT[impl.key],
                        str(journal.get("entries", "n/a")),
                        str(journal.get("run_entries", "n/a")),
                        str(journal.get("bytes", "n/a")),
                        _fmt(latency.get("p50"), 1),
                        _fmt(latency.get("p95"), 1),
                        _fmt(tput.get("calls_per_s"), 1),
                        _fmt(m.get("cpu", {}).get("deployment_ms_per_invocation"), 2),
                        _fmt(m.get("cpu", {}).get("server_ms_per_invocation"), 2),
                    ]
                )
        lines += _table(
            [
                "workload",
                "implementation",
                "journal entries",
                "Run entries",
                "journal bytes",
                "p50 ms",
                "p95 ms",
                "calls/s @16",
                "app CPU ms",
                "server CPU ms",
            ],
            rows,
            "llrrrrrrrr",
        )
        lines += [
            "",
            "app CPU / server CPU: CPU milliseconds per invocation used by the deployment's processes and by",
            "restate-server (from /proc, over the measured calls): steadier than wall time on a shared machine.",
            "",
            "restate_saga relative to each baseline (bytes, latency, CPU: lower is better; calls/s: higher)",
            "",
        ]
        rows = []
        for key, workload in server.items():
            r_hand, r_ref = ratios[key]["vs_handwritten"], ratios[key]["vs_reference"]
            rows.append(
                [
                    workload["label"],
                    _fmt(r_hand["entries"]),
                    _fmt(r_hand["bytes"]),
                    _fmt(r_ref["bytes"]),
                    _fmt(r_hand["p50"]),
                    _fmt(r_ref["p50"]),
                    _fmt(r_hand["throughput"]),
                    _fmt(r_ref["throughput"]),
                    _fmt(r_hand["cpu_deployment"]),
                    _fmt(r_ref["cpu_deployment"]),
                ]
            )
        lines += _table(
            [
                "workload",
                "entries /hand",
                "bytes /hand",
                "bytes /ref",
                "p50 /hand",
                "p50 /ref",
                "calls/s /hand",
                "calls/s /ref",
                "app CPU /hand",
                "app CPU /ref",
            ],
            rows,
            "lrrrrrrrrr",
        )
    inprocess = data.get("inprocess") or {}
    if inprocess:
        lines += ["", "In-process on FakeContext (no server), median per step", ""]
        rows = [
            [
                f"{r['steps']}{' (last fails)' if r['fail'] else ''}",
                str(r["journal_entries"]),
                _fmt(r["handwritten_us_per_step"]),
                _fmt(r["restate_saga_us_per_step"]),
                _fmt(r["overhead_us_per_step"]),
            ]
            for r in inprocess["run"]
        ]
        lines += _table(
            ["steps", "entries", "hand-written us/step", "restate_saga us/step", "overhead us/step"], rows, "lrrrr"
        )
        lines += [""]
        rows = [
            [
                str(b["steps"]),
                _fmt(b["leaves_ms"], 1),
                _fmt(b["then_ms"], 1),
                _fmt(b["total_ms"], 1),
                _fmt(b["us_per_step"]),
            ]
            for b in inprocess["build"]
        ]
        lines += _table(["steps", "step() ms", ".then ms", "build ms", "build us/step"], rows, "rrrrr")
        scaling = inprocess.get("then_scaling") or []
        if scaling:
            lines += ["", "`.then` alone, chaining prebuilt leaves (flat us/step = linear)", ""]
            rows = [
                [str(t["steps"]), _fmt(t["then_ms"], 1), _fmt(t["then_us_per_step"]), str(t["pipeline_name_chars"])]
                for t in scaling
            ]
            lines += _table(["steps", ".then ms", "us/step", "len(pipeline.name)"], rows, "rrrr")
    encryption = data.get("encryption") or {}
    if encryption:
        sizes, run = encryption["bytes"], encryption["run"]
        lines += ["", f"Encrypted journals on FakeContext ({run['steps']} steps, key id {encryption['key_id']!r})", ""]
        rows = [
            [
                name,
                _fmt(sizes[f"{name}_bytes_per_step"], 1),
                "0" if name == "plain" else str(sizes[f"{name}_overhead_bytes_max"]),
                _fmt(run[f"{name}_us_per_step"]),
                "0.00" if name == "plain" else _fmt(run[f"{name}_overhead_us_per_step"]),
            ]
            for name in ("plain", "full", "selective")
        ]
        header = ["codec", "journal bytes/step", "max added bytes", "us/step (median)", "added us/step"]
        lines += _table(header, rows, "lrrrr")
        roundtrip = encryption["roundtrip_1kb"]
        lines += [
            "",
            f"encrypt + decrypt one 1 KB value: full {roundtrip['full']['min_us']:.2f} us (median batch "
            f"{roundtrip['full']['median_us']:.2f}), selective (one 1 KB secret) "
            f"{roundtrip['selective']['min_us']:.2f} us (median {roundtrip['selective']['median_us']:.2f})",
        ]
    imports = data.get("imports") or {}
    if imports:
        lines += ["", "Import time (fresh interpreter, median)", ""]
        rows = [
            [
                SHORT[key],
                _fmt(value["import_restate_ms"], 1),
                _fmt(value["import_restate_saga_after_restate_ms"], 1),
                _fmt(value.get("import_whole_face_after_package_ms", float("nan")), 1),
            ]
            for key, value in imports.items()
        ]
        headers = ["package", "import restate ms", "+ import restate_saga ms", "+ from restate_saga import * ms"]
        lines += _table(headers, rows, "lrrr")
    machine = data.get("machine") or {}
    if "load_average_at_start" in machine:
        lines += [
            "",
            f"Machine: {machine.get('cpu_count')} x {machine.get('cpu_model')}, Python {machine.get('python')}, "
            f"restate-server {machine.get('restate_server')}, restate-sdk {machine.get('restate_sdk')}; "
            f"1-min load average {machine['load_average_at_start'][0]:.1f} at start, "
            f"{machine.get('load_average_at_end', [float('nan')])[0]:.1f} at end.",
        ]
    targets = data.get("targets") or []
    if targets:
        lines += ["", "Targets of issues 5 and 17 (reported, not asserted)", ""]
        rows = [
            [t["target"], t["goal"], t["measured"], {True: "met", False: "NOT met", None: "info"}[t["met"]]]
            for t in targets
        ]
        lines += _table(["target", "goal", "measured", ""], rows, "llll")
    return "\n".join(lines)


def write_json(data: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=False, allow_nan=False, default=str) + "\n")


def _finite(value: object) -> float:
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return float("nan")


def _short_label(workload: dict[str, Any]) -> str:
    name = "checkout\n(3 steps)" if workload["steps"] == 3 else f"{workload['steps']} steps"
    return name + ("\nlast fails" if workload["fail"] else "\nsuccess")


def _log_axis(axis: Any, ax: Any, which: str) -> None:
    """A log scale with plain numbers at 1-2-5 ticks."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    if which == "x":
        ax.set_xscale("log")
    else:
        ax.set_yscale("log")
    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    axis.set_minor_formatter(NullFormatter())


def plot(data: dict[str, Any], path: Path) -> None:
    """Latency and throughput by implementation, and cost against saga length, in one PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    server = data.get("server") or {}
    inprocess = data.get("inprocess") or {}
    figure, axes = plt.subplots(2, 3, figsize=(18, 10.5))
    machine = data.get("machine", {})
    figure.suptitle(
        f"restate_saga benchmarks ({data.get('config', {}).get('name', '?')} run) — "
        f"{machine.get('cpu_count', '?')} x {machine.get('cpu_model', '?')}, Python {machine.get('python', '?')}, "
        f"restate-server {machine.get('restate_server', '?')}, restate-sdk {machine.get('restate_sdk', '?')}",
        fontsize=13,
    )
    keys = list(server)
    labels = [_short_label(server[k]) for k in keys]
    width = 0.27
    x = list(range(len(keys)))

    def grouped(ax: Any, values: dict[str, list[float]], title: str, ylabel: str, log: bool) -> None:
        for offset, impl in enumerate(IMPLEMENTATIONS):
            positions = [i + (offset - 1) * width for i in x]
            bars = ax.bar(positions, values[impl.key], width, label=SHORT[impl.key], color=COLORS[impl.key])
            for bar, value in zip(bars, values[impl.key], strict=True):
                if math.isfinite(value):
                    text = f"{value:.0f}" if value >= 10 else f"{value:.1f}"
                    ax.annotate(
                        text,
                        (bar.get_x() + bar.get_width() / 2, value),
                        ha="center",
                        va="bottom",
                        fontsize=6.5,
                        rotation=90,
                        xytext=(0, 2),
                        textcoords="offset points",
                    )
        ax.set_xticks(x, labels, fontsize=8)
        ax.set_title(title)
        ax.set_ylabel(ylabel)
        if log:
            _log_axis(ax.yaxis, ax, "y")
        ax.grid(axis="y", alpha=0.3, which="both")
        ax.legend(fontsize=8)

    if server:
        p50 = {
            i.key: [_finite(server[k]["implementations"][i.key]["latency_ms"].get("p50")) for k in keys]
            for i in IMPLEMENTATIONS
        }
        grouped(axes[0][0], p50, "Sequential latency p50 (lower is better)", "ms per invocation (log)", True)
        tput = {
            i.key: [_finite(server[k]["implementations"][i.key]["throughput"].get("calls_per_s")) for k in keys]
            for i in IMPLEMENTATIONS
        }
        grouped(axes[0][1], tput, "Throughput, 16 concurrent clients (higher is better)", "invocations/s (log)", True)

        ax = axes[0][2]
        ratios = data.get("ratios") or {}
        series = [
            ("vs_handwritten", "p50", "p50 latency / hand-written", "o", "-"),
            ("vs_handwritten", "throughput", "throughput / hand-written", "s", "-"),
            ("vs_handwritten", "bytes", "journal bytes / hand-written", "^", "-"),
            ("vs_reference", "p50", "p50 latency / reference", "o", "--"),
            ("vs_reference", "throughput", "throughput / reference", "s", "--"),
            ("vs_reference", "bytes", "journal bytes / reference", "^", "--"),
            ("vs_handwritten", "cpu_deployment", "app CPU / hand-written", "D", "-"),
            ("vs_reference", "cpu_deployment", "app CPU / reference", "D", "--"),
        ]
        colors = {"p50": "#2ca02c", "throughput": "#9467bd", "bytes": "#ff7f0e", "cpu_deployment": "#8c564b"}
        for base, metric, label, marker, style in series:
            ax.plot(
                x,
                [_finite(ratios[k][base][metric]) for k in keys],
                marker=marker,
                linestyle=style,
                color=colors[metric],
                label=label,
            )
        ax.axhline(1.0, color="black", linewidth=0.8)
        ax.set_xticks(x, labels, fontsize=8)
        ax.set_title("restate_saga / baseline (latency, bytes, CPU: < 1 better; throughput: > 1 better)", fontsize=10)
        ax.set_ylabel("ratio")
        low, high = ax.get_ylim()
        ax.set_ylim(min(low, 0.0), max(high, 1.3) + 0.3)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, ncol=2, loc="upper center")

        for ax, metric, title, ylabel in (
            (axes[1][0], "bytes", "Journal bytes per invocation vs saga length", "bytes (log)"),
            (axes[1][1], "p50", "Sequential p50 latency vs saga length", "ms (log)"),
        ):
            for impl in IMPLEMENTATIONS:
                for fail, style in ((False, "-"), (True, "--")):
                    points = sorted(
                        (w["steps"], w["implementations"][impl.key]) for w in server.values() if w["fail"] == fail
                    )
                    if not points:
                        continue
                    steps = [p[0] for p in points]
                    if metric == "bytes":
                        values = [_finite(p[1]["journal"].get("bytes")) for p in points]
                    else:
                        values = [_finite(p[1]["latency_ms"].get("p50")) for p in points]
                    ax.plot(
                        steps,
                        values,
                        marker="o",
                        linestyle=style,
                        color=COLORS[impl.key],
                        label=f"{SHORT[impl.key]}{' (last step fails)' if fail else ''}",
                    )
            _log_axis(ax.xaxis, ax, "x")
            _log_axis(ax.yaxis, ax, "y")
            ax.set_xlabel("steps in the saga (log)")
            ax.set_ylabel(ylabel)
            ax.set_title(title)
            ax.grid(alpha=0.3, which="both")
            ax.legend(fontsize=7)

    ax = axes[1][2]
    if inprocess:
        runs = [r for r in inprocess["run"] if not r["fail"]]
        builds = inprocess["build"]
        scaling = inprocess.get("then_scaling") or []
        lines_to_draw = [
            (
                [r["steps"] for r in runs],
                [r["handwritten_us_per_step"] for r in runs],
                "run: hand-written loop",
                COLORS[HAND],
                "o",
            ),
            (
                [r["steps"] for r in runs],
                [r["restate_saga_us_per_step"] for r in runs],
                "run: restate_saga pipeline",
                COLORS[LIB],
                "o",
            ),
            ([b["steps"] for b in builds], [b["us_per_step"] for b in builds], "build: step() + .then", "#17becf", "s"),
            ([t["steps"] for t in scaling], [t["then_us_per_step"] for t in scaling], ".then alone", "#e377c2", "^"),
        ]
        for xs, ys, label, color, marker in lines_to_draw:
            if not xs:
                continue
            ax.plot(xs, ys, marker=marker, color=color, label=label)
            for x_value, y_value in zip(xs, ys, strict=True):
                ax.annotate(f"{y_value:.1f}", (x_value, y_value), fontsize=7, xytext=(4, 3), textcoords="offset points")
        _log_axis(ax.xaxis, ax, "x")
        _log_axis(ax.yaxis, ax, "y")
        ax.margins(x=0.12, y=0.25)
        ax.set_xlabel("steps in the pipeline (log)")
        ax.set_ylabel("microseconds per step (log)")
        ax.set_title("In-process (FakeContext): cost per step; flat = linear growth")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8)
    else:
        ax.set_axis_off()
    figure.tight_layout(rect=(0, 0, 1, 0.96))
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
