"""A real-Restate test bed for sagas: start restate-server, serve an app, call it, read journals."""

from ._bed import CallResult, JournalEntry, RestateTestBed, register_deployment
from ._cluster import ClusterNode, NodeStatus, RestateCluster
from ._double import FakeContext, FakeEntry, JournalMismatch
from ._faults import FaultInjector
from ._identity import IdentityKeys, make_identity_keys
from ._inject import InjectionOutcome, InjectionReport, check_compensations, keyed
from ._live import check_compensations_live
from ._proxy import FAULT_KINDS, Fault, FaultKind, FaultProxy, ProxyStats, random_faults
from ._serve import AppProcess, AppThread
from ._server import (
    RESTATE_SERVER_VERSION,
    RestateServer,
    RestateServerNotFound,
    find_restate_server,
    free_port,
    listen_ports,
)

__all__ = [
    "FAULT_KINDS",
    "RESTATE_SERVER_VERSION",
    "AppProcess",
    "AppThread",
    "CallResult",
    "ClusterNode",
    "FakeContext",
    "FakeEntry",
    "Fault",
    "FaultInjector",
    "FaultKind",
    "FaultProxy",
    "IdentityKeys",
    "InjectionOutcome",
    "InjectionReport",
    "JournalEntry",
    "JournalMismatch",
    "NodeStatus",
    "ProxyStats",
    "RestateCluster",
    "RestateServer",
    "RestateServerNotFound",
    "RestateTestBed",
    "check_compensations",
    "check_compensations_live",
    "find_restate_server",
    "free_port",
    "keyed",
    "listen_ports",
    "make_identity_keys",
    "random_faults",
    "register_deployment",
]
