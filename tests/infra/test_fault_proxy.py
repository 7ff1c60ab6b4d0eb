"""Broken connections between restate-server and the service, through `restate_saga.testing.FaultProxy`.

The deployment is registered at the proxy, so every HTTP/2 stream of every invocation passes
through it. The app runs in the test's process: a hook inside a step (after its side effect, before
its result is journaled) cuts, stalls or refuses connections at exactly that point. Every saga must
still reach its right end state, with each side effect applied once: the action whose result was
lost runs again, and the ledger counts the re-executions its idempotency key deduplicated.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import restate

from restate_saga.testing import (
    AppThread,
    FaultProxy,
    RestateServer,
    RestateTestBed,
    random_faults,
    register_deployment,
)
from tests.infra import chaos_app
from tests.infra.drive import WORKFLOWS, Saga, check_everything, mixed_sagas, run_sagas
from tests.infra.ledger import LEDGER_ENV, Ledger, create_ledger, read_ledger

# a stalled stream is given up after about a second of silence (instead of a minute, then ten)
SERVER_ENV = {
    "RESTATE_WORKER__INVOKER__INACTIVITY_TIMEOUT": "500ms",
    "RESTATE_WORKER__INVOKER__ABORT_TIMEOUT": "500ms",
}


@dataclass
class Faulty:
    server: RestateServer
    proxy: FaultProxy
    bed: RestateTestBed
    ledger_path: Path

    def ledger(self) -> Ledger:
        return read_ledger(self.ledger_path)

    def run(self, *sagas: Saga) -> Ledger:
        """Run sagas through the proxy to their answers and check every end state."""
        answers = asyncio.run(run_sagas(lambda: self.server.ingress_url, list(sagas), deadline=120))
        ledger = self.ledger()
        names = {s.name for s in sagas}
        mine = Ledger(
            {k: v for k, v in ledger.effects.items() if k in names},
            {k: v for k, v in ledger.keys.items() if k in names},
            tuple(a for a in ledger.attempts if a.saga in names),
        )
        invocations: dict[str, list[str]] = defaultdict(list)
        journals: dict[str, list[str]] = {}
        for saga in sagas:
            key_column = "target_service_key" if saga.service in WORKFLOWS else "idempotency_key"
            rows = self.bed.sql(
                f"SELECT id FROM sys_invocation WHERE {key_column} = '{saga.key}' AND target_handler_name = 'run'"
            )
            for row in rows:
                invocations[saga.key].append(str(row["id"]))
                journals[str(row["id"])] = self.bed.run_entries(str(row["id"]))
        check_everything(answers, dict(invocations), journals, mine)
        return mine


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Faulty]:
    ledger = tmp_path_factory.mktemp("proxy") / "ledger.sqlite"
    create_ledger(ledger)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(LEDGER_ENV, str(ledger))  # the app runs in this process
        with (
            RestateServer(env=SERVER_ENV) as server,
            AppThread(restate.app(services=chaos_app.services)) as app,
            FaultProxy(app.port) as proxy,
        ):
            register_deployment(server.admin_url, proxy.url)
            bed = RestateTestBed.attached(server)
            yield Faulty(server, proxy, bed, ledger)
            bed.close()


def _saga(name: str, service: str = "Checkout", fails: bool = False) -> Saga:
    return Saga(name, service, fails, work=0.0, approve_after=0.2 if service == "ApprovalCheckout" else 0.0)


def _hook(saga: Saga, effect: str, action: Callable[[], object]) -> None:
    async def run() -> None:
        await asyncio.to_thread(action)

    chaos_app.HOOKS[(saga.name, effect)] = run


def _executions(ledger: Ledger, saga: Saga, effect: str) -> list[bool]:
    """Whether each execution of `effect` applied it (True) or was deduplicated (False)."""
    return [a.applied for a in ledger.attempts if a.saga == saga.name and a.effect == effect]


def _wait_until(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def test_a_connection_cut_in_the_middle_of_a_step(faulty: Faulty) -> None:
    saga = _saga("cut-step")
    cuts = faulty.proxy.stats.cut
    _hook(saga, "S2", faulty.proxy.cut)  # S2's effect is applied; its result never reaches the server
    ledger = faulty.run(saga)
    assert faulty.proxy.stats.cut > cuts
    assert _executions(ledger, saga, "S2") == [True, False]  # ran again; the key deduplicated it
    assert _executions(ledger, saga, "S1") == [True] and _executions(ledger, saga, "S3") == [True]


def test_a_connection_cut_in_the_middle_of_a_compensation(faulty: Faulty) -> None:
    saga = _saga("cut-undo", fails=True)
    _hook(saga, "undo S2", faulty.proxy.cut)
    ledger = faulty.run(saga)
    assert _executions(ledger, saga, "undo S2") == [True, False]
    assert _executions(ledger, saga, "undo S1") == [True]


def test_a_connection_cut_in_the_middle_of_a_parallel_group(faulty: Faulty) -> None:
    saga = _saga("cut-group", "ParallelCheckout", fails=True)
    cuts = faulty.proxy.stats.cut

    def cut_once_both_branches_applied() -> None:
        _wait_until(lambda: "B" in faulty.ledger().effects.get(saga.name, []), "branch B's effect")
        faulty.proxy.cut()

    def wait_for_the_cut() -> None:  # A stays in flight until the cut: its result is lost too
        _wait_until(lambda: faulty.proxy.stats.cut > cuts, "the cut")

    _hook(saga, "A", wait_for_the_cut)
    _hook(saga, "B", cut_once_both_branches_applied)
    ledger = faulty.run(saga)
    assert _executions(ledger, saga, "A") == [True, False]
    assert _executions(ledger, saga, "B") == [True, False]
    assert _executions(ledger, saga, "undo B") == [True] and _executions(ledger, saga, "undo A") == [True]


def test_a_cut_triggered_by_what_passes_on_the_wire(faulty: Faulty) -> None:
    saga = _saga("cut-pattern", fails=True)
    triggered = faulty.proxy.stats.triggered
    # the service names a compensation's journal entry when it starts it: cut right there
    faulty.proxy.cut_when(b"compensate:S1")
    ledger = faulty.run(saga)
    assert faulty.proxy.stats.triggered == triggered + 1
    assert len(_executions(ledger, saga, "undo S1")) in (1, 2)  # cut before or after its effect


def test_a_stall_longer_than_the_abort_timeout(faulty: Faulty) -> None:
    saga = _saga("stall-step")
    _hook(saga, "S2", faulty.proxy.stall)  # every byte held, on open and new connections

    def resume_once_the_server_gave_up() -> None:
        rows: list[dict[str, object]] = []
        while not any("abort timeout" in str(r.get("last_failure")) for r in rows):
            rows = faulty.bed.sql("SELECT last_failure FROM sys_invocation WHERE idempotency_key = 'stall-step'")
            time.sleep(0.05)
        faulty.proxy.resume()

    async def stalled() -> Ledger:
        resumer = asyncio.create_task(asyncio.to_thread(resume_once_the_server_gave_up))
        ledger = await asyncio.to_thread(faulty.run, saga)
        await resumer
        return ledger

    ledger = asyncio.run(stalled())
    assert _executions(ledger, saga, "S2") == [True, False]


def test_refused_connections_until_the_service_is_back(faulty: Faulty) -> None:
    saga = _saga("refused")
    refused = faulty.proxy.stats.refused

    def refuse_then_recover() -> None:
        faulty.proxy.refuse(True)
        faulty.proxy.cut()  # the server must reconnect: its new connections are reset at once
        _wait_until(lambda: faulty.proxy.stats.refused >= refused + 3, "three refused connections")
        faulty.proxy.refuse(False)

    _hook(saga, "S1", refuse_then_recover)
    ledger = faulty.run(saga)
    assert faulty.proxy.stats.refused >= refused + 3
    assert _executions(ledger, saga, "S1") == [True, False]


def test_delayed_connections(faulty: Faulty) -> None:
    delayed = faulty.proxy.stats.delayed_chunks
    faulty.proxy.delay(0.02)
    try:
        faulty.run(_saga("slow-1"), _saga("slow-2", fails=True), _saga("slow-3", "ParallelCheckout"))
    finally:
        faulty.proxy.delay(0)
    assert faulty.proxy.stats.delayed_chunks > delayed


def test_sagas_through_random_faults_from_a_seed(faulty: Faulty) -> None:
    seed = int(os.environ.get("PROXY_SEED", str(random.randrange(1_000_000))))
    kinds = ("cut", "cut", "stall", "delay", "refuse")  # cuts twice as often as the others
    schedule = random_faults(seed, duration=6.0, mean_interval=0.3, max_fault=0.4, kinds=kinds)
    print(f"\nfault-proxy test: seed {seed} (PROXY_SEED={seed} replays it): " + ", ".join(map(str, schedule)))
    sagas = mixed_sagas(48, seed, prefix="r", work=(0.02, 0.1))
    before = faulty.proxy.stats
    faulty.proxy.run_schedule(schedule)
    started = time.monotonic()
    ledger = faulty.run(*sagas)
    applied = faulty.proxy.wait_schedule()
    after = faulty.proxy.stats
    assert [fault for _, fault in applied] == list(schedule)
    cuts = sum(1 for f in schedule if f.kind == "cut")
    print(
        f"  {len(sagas)} sagas in {time.monotonic() - started:.1f}s through {len(schedule)} faults "
        f"({cuts} cuts: {after.cut - before.cut} connections reset; {after.refused - before.refused} refused; "
        f"{after.stalls - before.stalls} stalls; {after.delayed_chunks - before.delayed_chunks} delayed chunks); "
        f"{len(ledger.attempts)} executions for {ledger.effect_count} effects "
        f"({ledger.deduplicated} re-executions deduplicated by the idempotency key)"
    )
