"""CPU time of process groups, from /proc (Linux): how much work each side did per invocation.

Wall-clock latency and throughput on a shared 2-core machine move with whatever else runs; the
CPU seconds the deployment (and the server) burn per invocation are a steadier measure of cost.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["child_pid_named", "group_cpu_seconds"]

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat_fields(stat: str) -> list[str]:
    # The command name (field 2) is in parentheses and may contain spaces: split after it.
    return stat[stat.rindex(")") + 2 :].split()


def group_cpu_seconds(pgid: int) -> float:
    """User + system CPU seconds of every live process in process group `pgid` (0.0 off Linux)."""
    total = 0
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else ():
        if not entry.name.isdigit():
            continue
        try:
            fields = _stat_fields((entry / "stat").read_text())
        except OSError:
            continue
        # fields[0] is the state (field 3); pgrp is field 5, utime 14, stime 15.
        if int(fields[2]) == pgid:
            total += int(fields[11]) + int(fields[12])
    return total / _TICKS


def child_pid_named(name: str, parent: int | None = None) -> int | None:
    """The pid of a child of `parent` (default: this process) whose command name is `name`."""
    parent = os.getpid() if parent is None else parent
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else ():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        command = stat[stat.index("(") + 1 : stat.rindex(")")]
        if command == name[:15] and int(_stat_fields(stat)[1]) == parent:
            return int(entry.name)
    return None
