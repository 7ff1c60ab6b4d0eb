"""One command for the whole benchmark suite.

    .venv/bin/python -m benchmarks.run            # full run, about 10 minutes on 2 cores
    .venv/bin/python -m benchmarks.run --smoke    # tiny configuration for CI, well under a minute
    .venv/bin/python -m benchmarks.run --imports-only   # the import times again, into results/latest.json

Starts one restate-server and three deployments (hand-written with the raw SDK, the reference
restate-saga 0.1.0 in its own virtualenv, restate_saga from this repo), measures them in the same
run, then measures restate_saga in-process. Writes a JSON file and a PNG chart and prints the
tables. Timings are reported, never asserted: the exit status only says whether the run worked.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.config import FULL, SMOKE, Config
from benchmarks.encryption import run_encryption_benchmarks
from benchmarks.harness import REPO, ensure_reference_venv, running_stack
from benchmarks.inprocess import import_times, run_inprocess_benchmarks
from benchmarks.report import add_ratios, evaluate_targets, plot, tables, write_json
from benchmarks.server_bench import run_server_benchmarks
from restate_saga.testing import find_restate_server

RESULTS = REPO / "benchmarks" / "results"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def _run(command: list[str]) -> str | None:
    try:
        return subprocess.run(command, capture_output=True, text=True, check=True, cwd=REPO).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def machine_info() -> dict[str, Any]:
    server_version = _run([str(find_restate_server()), "--version"]) or ""
    memory_kb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_kb = int(line.split()[1])
    except OSError:
        pass
    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "memory_gb": None if memory_kb is None else round(memory_kb / 1024 / 1024, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "restate_server": server_version.removeprefix("restate-server").strip() or None,
        "restate_sdk": _version("restate-sdk"),
        "restate_saga": _version("restate_saga"),
        "pydantic": _version("pydantic"),
        "hypercorn": _version("hypercorn"),
        "git_commit": _run(["git", "rev-parse", "--short", "HEAD"]),
        "library_has_uncommitted_changes": bool(_run(["git", "status", "--porcelain", "restate_saga"])),
        "load_average_at_start": os.getloadavg(),
    }


def log(message: str) -> None:
    print(f"benchmarks: {message}", file=sys.stderr, flush=True)


def run(config: Config, json_path: Path, png_path: Path, server: bool, inprocess: bool) -> dict[str, Any]:
    started = time.monotonic()
    reference_python = ensure_reference_venv()
    data: dict[str, Any] = {
        "schema": 1,
        "started_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "config": config.as_json(),
        "machine": machine_info(),
    }
    log("import times")
    data["imports"] = {
        "restate_saga": import_times(Path(sys.executable), config.import_repeats),
        "reference": import_times(reference_python, config.import_repeats),
    }
    if server:
        log("server workloads (one restate-server, three deployments)")
        with running_stack(reference_python) as stack:
            data["server_setup"] = {
                "deployments": {key: d.url for key, d in stack.by_key.items()},
                "pythons": {key: str(d.process.python or sys.executable) for key, d in stack.by_key.items()},
            }
            data["server"] = run_server_benchmarks(config, stack)
        data["ratios"] = add_ratios(data["server"])
    if inprocess:
        log("in-process (FakeContext)")
        data["inprocess"] = run_inprocess_benchmarks(config)
        log("encryption (FakeContext)")
        data["encryption"] = run_encryption_benchmarks(config)
    data["targets"] = evaluate_targets(data)
    data["machine"]["load_average_at_end"] = os.getloadavg()
    data["duration_s"] = time.monotonic() - started
    try:
        plot(data, png_path)
        data["chart"] = str(png_path)
    except ImportError as error:  # matplotlib is the optional `bench` extra
        log(f"no chart: {error} (pip install -e '.[bench]')")
        data["chart"] = None
    write_json(data, json_path)
    return data


def refresh_imports(json_path: Path, repeats: int) -> dict[str, Any]:
    """Measure the import times again and replace them (and the targets) in an existing result file."""
    import json

    data: dict[str, Any] = json.loads(json_path.read_text())
    log("import times")
    data["imports"] = {
        "restate_saga": import_times(Path(sys.executable), repeats),
        "reference": import_times(ensure_reference_venv(), repeats),
    }
    data["imports_measured"] = {
        "at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "git_commit": _run(["git", "rev-parse", "--short", "HEAD"]),
        "load_average": os.getloadavg(),
    }
    data["targets"] = evaluate_targets(data)
    write_json(data, json_path)
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description="The restate_saga benchmarks.")
    parser.add_argument("--smoke", action="store_true", help="tiny configuration (for CI): well under a minute")
    parser.add_argument("--out", type=Path, help="output folder (default: benchmarks/results, smoke: .../tmp)")
    parser.add_argument("--name", help="file stem of the JSON and PNG (default: latest, smoke: smoke)")
    parser.add_argument("--no-server", action="store_true", help="skip the restate-server measurements")
    parser.add_argument("--no-inprocess", action="store_true", help="skip the in-process measurements")
    parser.add_argument(
        "--imports-only", action="store_true", help="measure the import times again into an existing result file"
    )
    args = parser.parse_args(argv)
    config = SMOKE if args.smoke else FULL
    out: Path = args.out or (RESULTS / "tmp" if args.smoke else RESULTS)
    name: str = args.name or ("smoke" if args.smoke else "latest")
    json_path, png_path = out / f"{name}.json", out / f"{name}.png"
    if args.imports_only:
        data = refresh_imports(json_path, config.import_repeats)
        print(tables(data))
        print(f"\nimport times measured again into {json_path}")
        return 0
    log(f"{config.name} run, results in {json_path} and {png_path}")
    data = run(config, json_path, png_path, server=not args.no_server, inprocess=not args.no_inprocess)
    print(tables(data))
    print(
        f"\n{config.name} run took {data['duration_s']:.0f}s; wrote {json_path}"
        + (f" and {png_path}" if data["chart"] else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
