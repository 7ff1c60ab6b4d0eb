"""Request identity: the server signs its requests; a service with identity keys refuses unsigned ones."""

from __future__ import annotations

from pathlib import Path

import httpx
import restate

from restate_saga.testing import RestateTestBed, make_identity_keys
from tests.e2e.core_app import Checkout
from tests.ledger import events, new_run


def test_signed_calls_through_the_server_work_and_unsigned_direct_calls_are_refused(tmp_path: Path) -> None:
    keys = make_identity_keys(tmp_path)
    app = restate.app(services=[Checkout], identity_keys=[keys.public_key])
    with RestateTestBed(app, server_env=keys.server_env) as bed:  # registration itself is signed
        run = new_run()
        result = bed.call("Checkout", "run", {"run": run, "customer": "ada", "amount": 3})
        assert result.status_code == 200, result.body
        assert events(run) == ["CreateOrder", "Charge", "Ship"]

        direct = httpx.get(
            f"{bed.served.url}/discover", headers={"accept": "application/vnd.restate.endpointmanifest.v3+json"}
        )
        assert direct.status_code == 401
        invoke = httpx.post(
            f"{bed.served.url}/invoke/Checkout/run",
            content=b"{}",
            headers={"content-type": "application/vnd.restate.invocation.v5"},
        )
        assert invoke.status_code == 401


def test_without_identity_keys_the_same_direct_request_is_served() -> None:
    from restate_saga.testing import AppThread

    with AppThread(restate.app(services=[Checkout])) as served:
        direct = httpx.get(
            f"{served.url}/discover", headers={"accept": "application/vnd.restate.endpointmanifest.v3+json"}
        )
        assert direct.status_code == 200


def test_the_example_app_supports_request_identity(tmp_path: Path) -> None:
    from restate_saga.testing import AppProcess, RestateServer, register_deployment

    root = Path(__file__).resolve().parents[2]
    keys = make_identity_keys(tmp_path)
    with RestateServer(env=keys.server_env) as server:
        app = AppProcess("examples.app:app", env={"RESTATE_IDENTITY_KEYS": keys.public_key}, cwd=root)
        with app:
            register_deployment(server.admin_url, f"{app.url}/restate/v1")
            bed = RestateTestBed.attached(server)
            result = bed.call("TravelBooking", "run", {"trip_id": "signed-trip"})
            bed.close()
            assert result.status_code == 200, result.body
            unsigned = httpx.get(
                f"{app.url}/restate/v1/discover", headers={"accept": "application/vnd.restate.endpointmanifest.v3+json"}
            )
            assert unsigned.status_code == 401
