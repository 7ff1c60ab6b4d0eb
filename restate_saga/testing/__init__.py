"""Testing sagas: in-process doubles and failure injection, and a real-Restate test bed.

The in-process helpers (`FakeContext`, `check_compensations`, `keyed`, ...) and the server finder
and installer need nothing beyond restate_saga itself. The real-server helpers (`RestateTestBed`,
`RestateServer`, `AppThread`, `RestateCluster`, `check_compensations_live`, ...) need the
`testing` extra (`pip install 'restate_saga[testing]'`: httpx, hypercorn, cryptography, pytest
and pytest-asyncio); they are imported when first used, and without the extra that import
raises `MissingExtraError` naming it. `python -m restate_saga.testing install-server` installs
the pinned restate-server with npm.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from .._errors import MissingExtraError
from ._double import FakeContext, FakeEntry, JournalMismatch
from ._fakes import FakeContextFactory
from ._faults import FaultInjector
from ._identity import IdentityKeys, make_identity_keys
from ._inject import InjectionOutcome, InjectionReport, check_compensations, keyed
from ._install import (
    RESTATE_SERVER_VERSION,
    Installed,
    RestateServerNotFound,
    ServerInstallError,
    default_install_dir,
    find_restate_server,
    install_server,
)
from ._proxy import FAULT_KINDS, Fault, FaultKind, FaultProxy, ProxyStats, random_faults

if TYPE_CHECKING:
    from ._bed import CallResult, JournalEntry, RestateTestBed, register_deployment
    from ._cluster import ClusterNode, NodeStatus, RestateCluster
    from ._live import check_compensations_live
    from ._pool import BedPool
    from ._serve import AppProcess, AppThread
    from ._server import RestateServer, free_port, listen_ports

_LAZY = {
    "CallResult": "._bed",
    "JournalEntry": "._bed",
    "RestateTestBed": "._bed",
    "register_deployment": "._bed",
    "ClusterNode": "._cluster",
    "NodeStatus": "._cluster",
    "RestateCluster": "._cluster",
    "check_compensations_live": "._live",
    "BedPool": "._pool",
    "AppProcess": "._serve",
    "AppThread": "._serve",
    "RestateServer": "._server",
    "free_port": "._server",
    "listen_ports": "._server",
}
"""Public names that need the `testing` extra, and the module each one lives in."""

EXTRA_MODULES = frozenset({"httpx", "hypercorn", "cryptography"})
"""The top-level modules of the `testing` extra that these helpers import."""


def __getattr__(name: str) -> object:
    """Import a real-server helper on first use; without the `testing` extra, say which extra is missing."""
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        module = import_module(module_name, __name__)
    except ModuleNotFoundError as error:
        if (error.name or "").split(".")[0] not in EXTRA_MODULES:
            raise
        raise MissingExtraError(f"restate_saga.testing.{name}", "testing", error.name) from error
    value: object = getattr(module, name)
    globals()[name] = value
    return value


__all__ = [
    "FAULT_KINDS",
    "RESTATE_SERVER_VERSION",
    "AppProcess",
    "AppThread",
    "BedPool",
    "CallResult",
    "ClusterNode",
    "FakeContext",
    "FakeContextFactory",
    "FakeEntry",
    "Fault",
    "FaultInjector",
    "FaultKind",
    "FaultProxy",
    "IdentityKeys",
    "InjectionOutcome",
    "InjectionReport",
    "Installed",
    "JournalEntry",
    "JournalMismatch",
    "NodeStatus",
    "ProxyStats",
    "RestateCluster",
    "RestateServer",
    "RestateServerNotFound",
    "RestateTestBed",
    "ServerInstallError",
    "check_compensations",
    "check_compensations_live",
    "default_install_dir",
    "find_restate_server",
    "free_port",
    "install_server",
    "keyed",
    "listen_ports",
    "make_identity_keys",
    "random_faults",
    "register_deployment",
]
