"""`RestateCluster`: a replicated restate-server cluster on loopback, whose nodes can be killed and restarted.

Every node is a real `restate-server` process in its own process group, configured by its own TOML file
(one temporary folder holds every node's configuration, data and log). Node 1 provisions the cluster;
all nodes run every role (ingress, admin, worker, log server, metadata server), so any node's ingress and
admin API can be used, and the cluster survives the loss of any one node when `replication` is 2 or more.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self, cast

import httpx

from ._bed import RestateTestBed, register_deployment
from ._install import find_restate_server
from ._server import PARTITION_PROBE, RestateServer, listen_ports, query_once

_ROLES = ("http-ingress", "admin", "worker", "log-server", "metadata-server")
_METADATA_LEADER = "restate_metadata_server_replicated_leader_id"
_PARTITION_LEADERS = "restate_num_active_partition_leaders"
_ACTIVE_PARTITIONS = "restate_num_active_partitions"


@dataclass(frozen=True, slots=True)
class ClusterNode:
    """One node of a `RestateCluster`: its identity, ports and files, the same across restarts."""

    index: int
    """The node's position in `RestateCluster.nodes` (0-based)."""
    node_id: int
    """Restate's node id (`force-node-id`, `index + 1`), as in metrics and `/cluster-health`."""
    name: str
    node_port: int
    admin_port: int
    ingress_port: int
    config_file: Path
    base_dir: Path
    log_file: Path

    @property
    def address(self) -> str:
        """The node-to-node address (also serves Prometheus metrics at `/metrics`)."""
        return f"http://127.0.0.1:{self.node_port}"

    @property
    def admin_url(self) -> str:
        """This node's admin API (deployments, invocations, SQL queries)."""
        return f"http://127.0.0.1:{self.admin_port}"

    @property
    def ingress_url(self) -> str:
        """This node's HTTP ingress, where handlers are invoked."""
        return f"http://127.0.0.1:{self.ingress_port}"


@dataclass(frozen=True, slots=True)
class NodeStatus:
    """What a running node reports about itself (from its metrics) at one moment."""

    index: int
    metadata_leader: int | None
    """The node id of the metadata (Raft) leader as this node sees it; None while it knows none."""
    partition_leaders: int
    """How many partitions this node leads."""
    partitions: int
    """How many partition processors (leaders and followers) run on this node."""


def _toml_string(value: str) -> str:
    return json.dumps(value)  # a JSON string of printable text is a valid TOML basic string


def _metric(text: str, name: str) -> float | None:
    found = re.search(rf"^{re.escape(name)}(?:\{{[^}}]*\}})? (\S+)$", text, re.MULTILINE)
    if found is None:
        return None
    try:
        return float(found.group(1))
    except ValueError:
        return None


@dataclass
class RestateCluster:
    """A replicated Restate cluster of `size` nodes on free loopback ports; a context manager.

    `replication` copies of every partition and log record (2 of 3 survives one lost node), `partitions`
    partitions. `env` adds or overrides settings on every node (`RESTATE_...` variables win over the
    TOML files). `start()` returns when every node is healthy, a metadata leader is elected and every
    partition has a leader that answers queries.
    """

    size: int = 3
    replication: int = 2
    partitions: int = 4
    cluster_name: str = "restate-saga-test"
    env: Mapping[str, str] = field(default_factory=dict[str, str])
    binary: Path | None = None
    startup_timeout: float = 60.0
    _nodes: tuple[ClusterNode, ...] = field(default=(), init=False, repr=False)
    _processes: dict[int, subprocess.Popen[bytes]] = field(
        default_factory=dict[int, subprocess.Popen[bytes]], init=False, repr=False
    )
    _root: tempfile.TemporaryDirectory[str] | None = field(default=None, init=False, repr=False)
    _binary: Path | None = field(default=None, init=False, repr=False)
    _services: tuple[str, ...] = field(default=(), init=False, repr=False)

    def __post_init__(self) -> None:
        if self.size < 1:
            raise ValueError("a cluster needs at least one node")
        if not 1 <= self.replication <= self.size:
            raise ValueError(f"replication must be between 1 and size ({self.size}), not {self.replication}")
        if self.partitions < 1:
            raise ValueError("a cluster needs at least one partition")

    # -- the nodes ---------------------------------------------------------------------------------

    @property
    def nodes(self) -> tuple[ClusterNode, ...]:
        """Every node, running or not (empty before `start()`)."""
        return self._nodes

    def node(self, index: int) -> ClusterNode:
        """The node at `index` (0-based)."""
        if not self._nodes:
            raise RuntimeError("the cluster is not started")
        return self._nodes[index]

    @property
    def ingress_urls(self) -> tuple[str, ...]:
        """Every node's ingress URL, by index (including nodes that are down)."""
        return tuple(node.ingress_url for node in self._nodes)

    @property
    def admin_urls(self) -> tuple[str, ...]:
        """Every node's admin URL, by index (including nodes that are down)."""
        return tuple(node.admin_url for node in self._nodes)

    def is_running(self, index: int) -> bool:
        """True while the node's process is alive."""
        process = self._processes.get(index)
        return process is not None and process.poll() is None

    def running(self) -> tuple[ClusterNode, ...]:
        """The nodes whose processes are alive."""
        return tuple(node for node in self._nodes if self.is_running(node.index))

    def log(self, index: int) -> str:
        """What a node has printed so far (last 4,000 characters, across restarts)."""
        if not self._nodes or not self._nodes[index].log_file.exists():
            return ""
        return self._nodes[index].log_file.read_text(errors="replace")[-4000:]

    # -- start and stop ------------------------------------------------------------------------------

    def start(self) -> Self:
        """Write one config file per node, start every node, and wait until the cluster is ready."""
        if self._nodes:
            raise RuntimeError("the cluster is already started")
        self._binary = self.binary or find_restate_server()
        self._root = tempfile.TemporaryDirectory(prefix="restate-saga-cluster-")
        root = Path(self._root.name)
        free = listen_ports(3 * self.size)
        ports = [(free[3 * i], free[3 * i + 1], free[3 * i + 2]) for i in range(self.size)]
        self._nodes = tuple(
            ClusterNode(
                index=index,
                node_id=index + 1,
                name=f"n{index + 1}",
                node_port=node_port,
                admin_port=admin_port,
                ingress_port=ingress_port,
                config_file=root / f"n{index + 1}.toml",
                base_dir=root / f"n{index + 1}",
                log_file=root / f"n{index + 1}.log",
            )
            for index, (node_port, admin_port, ingress_port) in enumerate(ports)
        )
        started = False
        try:
            for node in self._nodes:
                node.config_file.write_text(self.config(node.index))
            for node in self._nodes:
                self._spawn(node)
            self.wait_ready(self.startup_timeout)
            started = True
        finally:
            if not started:  # leave nothing running behind a failed start
                self.stop()
        return self

    def config(self, index: int) -> str:
        """The TOML configuration of node `index` (what its config file holds)."""
        node = self.node(index)
        addresses = ", ".join(_toml_string(other.address) for other in self._nodes)
        roles = ", ".join(_toml_string(role) for role in _ROLES)
        return "\n".join(
            [
                f"cluster-name = {_toml_string(self.cluster_name)}",
                f"node-name = {_toml_string(node.name)}",
                f"force-node-id = {node.node_id}",
                f"roles = [{roles}]",
                f"auto-provision = {'true' if index == 0 else 'false'}",
                f"default-replication = {self.replication}",
                f"default-num-partitions = {self.partitions}",
                'listen-mode = "tcp"',
                f"bind-address = {_toml_string(f'127.0.0.1:{node.node_port}')}",
                f"advertised-address = {_toml_string(node.address)}",
                f"base-dir = {_toml_string(str(node.base_dir))}",
                'rocksdb-total-memory-size = "256 MiB"',
                "disable-telemetry = true",
                'log-filter = "warn"',
                "log-disable-ansi-codes = true",
                'shutdown-timeout = "5s"',
                "",
                "[default-retry-policy]",
                'initial-interval = "100ms"',
                'max-interval = "1s"',
                "",
                "[metadata-client]",
                f"addresses = [{addresses}]",
                "",
                "[admin]",
                f"bind-address = {_toml_string(f'127.0.0.1:{node.admin_port}')}",
                "",
                "[ingress]",
                f"bind-address = {_toml_string(f'127.0.0.1:{node.ingress_port}')}",
                "",
            ]
        )

    def _spawn(self, node: ClusterNode) -> None:
        if self._binary is None:
            raise RuntimeError("the cluster is not started")
        # inherited RESTATE_* variables would override the per-node files (ports, roles): drop them
        env = {key: value for key, value in os.environ.items() if not key.startswith("RESTATE_")}
        env.update(self.env)
        with open(node.log_file, "ab") as log:
            self._processes[node.index] = subprocess.Popen(
                [str(self._binary), "--config-file", str(node.config_file), "--no-logo"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def stop(self) -> None:
        """Stop every node's process group (SIGTERM, then SIGKILL) and remove all files."""
        processes = list(self._processes.values())
        self._processes.clear()
        for process in processes:
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + 10.0
        for process in processes:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait(timeout=10)
        if self._root is not None:
            self._root.cleanup()
            self._root = None
        self._nodes = ()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- failures ------------------------------------------------------------------------------------

    def kill(self, index: int) -> None:
        """SIGKILL one node's process group, as in a crash: no shutdown, its data stays on disk."""
        process = self._processes.pop(index, None)
        if process is None or process.poll() is not None:
            raise RuntimeError(f"node {self.node(index).name} is not running")
        _signal_group(process, signal.SIGKILL)
        process.wait(timeout=10)

    def restart(self, index: int, timeout: float | None = None) -> None:
        """Start a stopped node again with its config and data, and wait until the cluster is ready."""
        node = self.node(index)
        if self.is_running(index):
            raise RuntimeError(f"node {node.name} is still running")
        self._spawn(node)
        self.wait_ready(self.startup_timeout if timeout is None else timeout)

    # -- state ---------------------------------------------------------------------------------------

    def status(self, client: httpx.Client | None = None) -> tuple[NodeStatus, ...]:
        """What every running node that answers reports through its metrics, right now."""
        own = client is None
        http = client if client is not None else httpx.Client(timeout=2.0)
        try:
            found: list[NodeStatus] = []
            for node in self.running():
                try:
                    text = http.get(f"{node.address}/metrics").text
                except httpx.HTTPError:
                    continue
                leader = _metric(text, _METADATA_LEADER)
                found.append(
                    NodeStatus(
                        index=node.index,
                        metadata_leader=int(leader) if leader else None,
                        partition_leaders=int(_metric(text, _PARTITION_LEADERS) or 0),
                        partitions=int(_metric(text, _ACTIVE_PARTITIONS) or 0),
                    )
                )
            return tuple(found)
        finally:
            if own:
                http.close()

    def metadata_leader(self) -> int | None:
        """The index of the node that leads the metadata (Raft) cluster, as most running nodes see it.

        None while no leader is known or it is not one of the running nodes.
        """
        votes = Counter(s.metadata_leader for s in self.status() if s.metadata_leader is not None)
        if not votes:
            return None
        node_id, _ = votes.most_common(1)[0]
        index = node_id - 1
        return index if 0 <= index < len(self._nodes) and self.is_running(index) else None

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Wait until the running nodes form a working cluster.

        Ready means, twice in a row: every running node answers its admin and ingress health checks,
        they agree on a running metadata leader, their partition leaders add up to `partitions`, a
        query that reads every partition succeeds through every running node's admin API, and every
        running node knows the services registered through `register()`.
        """
        deadline = time.monotonic() + timeout
        streak = 0
        problem: str | None = "not checked yet"
        with httpx.Client(timeout=3.0) as client:
            while True:
                for node in self._nodes:
                    process = self._processes.get(node.index)
                    if process is not None and process.poll() is not None:
                        raise RuntimeError(
                            f"node {node.name} exited (code {process.returncode}):\n{self.log(node.index)}"
                        )
                problem = self._readiness_problem(client)
                streak = streak + 1 if problem is None else 0
                if streak >= 2:
                    return
                if time.monotonic() >= deadline:
                    logs = "\n".join(f"--- {node.name}\n{self.log(node.index)}" for node in self._nodes)
                    raise TimeoutError(f"the cluster was not ready within {timeout}s: {problem}\n{logs}")
                time.sleep(0.25)

    def _readiness_problem(self, client: httpx.Client) -> str | None:
        running = self.running()
        if not running:
            return "no node is running"
        for node in running:
            for url in (f"{node.admin_url}/health", f"{node.ingress_url}/restate/health"):
                try:
                    if client.get(url).status_code != 200:
                        return f"{url} is not healthy"
                except httpx.HTTPError as error:
                    return f"{url}: {error!r}"
        statuses = self.status(client)
        if len(statuses) != len(running):
            return "some node does not report metrics"
        leaders = {s.metadata_leader for s in statuses}
        if len(leaders) != 1 or None in leaders:
            return f"no agreed metadata leader: {sorted(str(x) for x in leaders)}"
        (leader,) = leaders
        if leader is None or not self.is_running(leader - 1):
            return f"the metadata leader N{leader} is not running"
        led = sum(s.partition_leaders for s in statuses)
        if led != self.partitions:
            return f"{led} partition leaders for {self.partitions} partitions"
        for node in running:
            rows = query_once(client, node.admin_url, PARTITION_PROBE)
            if isinstance(rows, str):
                return f"{node.name} query: {rows}"
        return self._unknown_service(client)

    # -- apps and queries ----------------------------------------------------------------------------

    def register(self, uri: str, timeout: float = 30.0) -> dict[str, Any]:
        """Register a deployment once, through the first running node's admin API, and wait until
        every running node knows its services. Returns the deployment's description.

        From then on, `wait_ready()` (and so `restart()`) also waits until every running node knows
        these services: a restarted node's ingress can answer 404 for a moment before it does.
        """
        running = self.running()
        if not running:
            raise RuntimeError("no node is running")
        deployment = register_deployment(running[0].admin_url, uri, timeout)
        services = [str(s["name"]) for s in cast(list[dict[str, Any]], deployment.get("services", []))]
        self._services = tuple(dict.fromkeys([*self._services, *services]))
        deadline = time.monotonic() + timeout
        with httpx.Client(timeout=3.0) as client:
            while (problem := self._unknown_service(client)) is not None:
                if time.monotonic() >= deadline:
                    raise TimeoutError(f"{problem} within {timeout}s of registering {uri}")
                time.sleep(0.1)
        return deployment

    def _unknown_service(self, client: httpx.Client) -> str | None:
        for node in self.running():
            for service in self._services:
                try:
                    if client.get(f"{node.admin_url}/services/{service}").status_code == 200:
                        continue
                except httpx.HTTPError:
                    pass
                return f"node {node.name} does not know service {service}"
        return None

    def bed(self, index: int, call_timeout: float = 60.0) -> RestateTestBed:
        """`RestateTestBed` helpers (`call`, `send`, `attach`, `journal`, `sql`, ...) through one node.

        The bed starts and stops nothing: release it with `close()` (or `contextlib.closing`), not
        `with` — its `__enter__` would start a server of its own.
        """
        node = self.node(index)
        view = RestateServer(ingress_port=node.ingress_port, admin_port=node.admin_port, node_port=node.node_port)
        return RestateTestBed.attached(view, call_timeout=call_timeout)

    def sql(self, query: str, timeout: float = 30.0, nodes: Sequence[int] | None = None) -> list[dict[str, Any]]:
        """Rows of an admin SQL query, through the first running node (of `nodes`) that answers it;
        retried until `timeout` while partitions fail over."""
        deadline = time.monotonic() + timeout
        last = "no node is running"
        with httpx.Client(timeout=10.0) as client:
            while True:
                for node in self.running():
                    if nodes is not None and node.index not in nodes:
                        continue
                    rows = query_once(client, node.admin_url, query)
                    if not isinstance(rows, str):
                        return rows
                    last = f"{node.name}: {rows}"
                if time.monotonic() >= deadline:
                    raise RuntimeError(f"query failed for {timeout}s: {last}")
                time.sleep(0.2)


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass
