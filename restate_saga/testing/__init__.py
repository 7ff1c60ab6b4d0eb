"""A real-Restate test bed for sagas: start restate-server, serve an app, call it, read journals."""

from ._bed import CallResult, JournalEntry, RestateTestBed, register_deployment
from ._cluster import ClusterNode, NodeStatus, RestateCluster
from ._double import FakeContext, FakeEntry, JournalMismatch
from ._faults import FaultInjector
from ._identity import IdentityKeys, make_identity_keys
from ._inject import InjectionOutcome, InjectionReport, check_compensations, keyed
from ._live import check_compensations_live
from ._serve import AppProcess, AppThread
from ._server import (
    RESTATE_SERVER_VERSION,
    RestateServer,
    RestateServerNotFound,
    find_restate_server,
    free_port,
)

__all__ = [
    "RESTATE_SERVER_VERSION",
    "AppProcess",
    "AppThread",
    "CallResult",
    "ClusterNode",
    "FakeContext",
    "FakeEntry",
    "FaultInjector",
    "IdentityKeys",
    "InjectionOutcome",
    "InjectionReport",
    "JournalEntry",
    "JournalMismatch",
    "NodeStatus",
    "RestateCluster",
    "RestateServer",
    "RestateServerNotFound",
    "RestateTestBed",
    "check_compensations",
    "check_compensations_live",
    "find_restate_server",
    "free_port",
    "keyed",
    "make_identity_keys",
    "register_deployment",
]
