"""Driving the chaos app's sagas through failures, and checking every saga's end state afterwards.

Shared by the server-kill and fault-proxy tests and by the soak benchmark. Callers behave as a
careful client must: every saga has a key (an `idempotency-key` for services, the workflow key for
workflows); when its connection breaks, the server answers 5xx, or an ingress that has just
restarted does not know the service yet, the caller comes back with the same key — re-sending the
same request to a service, attaching to a workflow — and so gets the answer of the same invocation,
never a second saga.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from tests.infra.ledger import Ledger

SERVICES = ("Checkout", "TimedCheckout", "ApprovalCheckout", "ParallelCheckout")
WORKFLOWS = frozenset({"ApprovalCheckout"})
RETRY_PAUSE = 0.1


@dataclass(frozen=True)
class Saga:
    """One saga to run: what it is, and what must come of it."""

    name: str
    service: str
    fails: bool
    work: float = 0.02
    nap: float = 0.0
    approve_after: float = 0.0

    @property
    def key(self) -> str:
        return self.name

    def payload(self) -> dict[str, Any]:
        return {"saga": self.name, "fail_at": "S3" if self.fails else "", "work": self.work, "nap": self.nap}

    def steps(self) -> list[str]:
        return ["S1", "A", "B", "S3"] if self.service == "ParallelCheckout" else ["S1", "S2", "S3"]

    def expected_runs(self) -> list[str]:
        """The saga's `run` journal entries: its steps, then its compensations, newest first."""
        steps = self.steps()
        if not self.fails:
            return steps
        return [*steps, *(f"compensate:{s}" for s in reversed(steps[:-1]))]

    def expected_effects(self) -> list[str]:
        """The side effects, in the order they must be applied (parallel branches in any order)."""
        done = self.steps()[:-1]
        if self.fails:
            return [*done, *(f"undo {s}" for s in reversed(done))]
        return self.steps()


def mixed_sagas(count: int, seed: int, *, prefix: str = "s", work: tuple[float, float] = (0.0, 0.12)) -> list[Saga]:
    """`count` sagas over all four services (a quarter of each kind fails at its last step)."""
    rng = random.Random(seed)
    sagas: list[Saga] = []
    for number in range(count):
        service = SERVICES[number % len(SERVICES)]
        sagas.append(
            Saga(
                name=f"{prefix}{number:05d}",
                service=service,
                fails=(number // len(SERVICES)) % 4 == 3,
                work=round(rng.uniform(*work), 3),
                nap=round(rng.uniform(0.3, 2.0), 2) if service == "TimedCheckout" else 0.0,
                approve_after=round(rng.uniform(0.2, 3.0), 2) if service in WORKFLOWS else 0.0,
            )
        )
    return sagas


@dataclass
class Answer:
    """What a saga's caller finally got."""

    saga: Saga
    status_code: int = 0
    body: bytes = b""
    invocation_id: str | None = None
    started: float = 0.0
    finished: float = 0.0
    attempts: int = 0
    errors: list[str] = field(default_factory=list[str])

    @property
    def latency(self) -> float:
        return self.finished - self.started

    def message(self) -> str:
        try:
            return str(json.loads(self.body).get("message", ""))
        except (ValueError, AttributeError):
            return self.body.decode(errors="replace")


def retry_with_the_same_key(answer: httpx.Response) -> bool:
    """A 5xx, or a 404 from an ingress that does not know the service yet (it has just restarted)."""
    if answer.status_code >= 500:
        return True
    return answer.status_code == 404 and '"source":"ingress"' in answer.text.replace(" ", "")


async def call_saga(
    client: httpx.AsyncClient, ingress: Callable[[], str], saga: Saga, deadline: float, timeout: float = 30.0
) -> Answer:
    """Run one saga to its answer through whatever fails, coming back with its key."""
    answer = Answer(saga, started=time.monotonic())
    workflow = saga.service in WORKFLOWS
    started = False  # a workflow's run request was accepted: from then on, attach
    while time.monotonic() < deadline:
        answer.attempts += 1
        try:
            if workflow and started:
                reply = await client.get(
                    f"{ingress()}/restate/workflow/{saga.service}/{saga.key}/attach", timeout=timeout
                )
            elif workflow:
                reply = await client.post(
                    f"{ingress()}/{saga.service}/{saga.key}/run/send", json=saga.payload(), timeout=timeout
                )
                if reply.status_code in (200, 202) or (reply.status_code == 409 and "already invoked" in reply.text):
                    started = True
                    continue
            else:
                reply = await client.post(
                    f"{ingress()}/{saga.service}/run",
                    json=saga.payload(),
                    headers={"idempotency-key": saga.key},
                    timeout=timeout,
                )
        except httpx.TransportError as error:
            answer.errors.append(type(error).__name__)
        else:
            if not retry_with_the_same_key(reply):
                answer.status_code, answer.body = reply.status_code, reply.content
                answer.invocation_id = reply.headers.get("x-restate-id")
                answer.finished = time.monotonic()
                return answer
            answer.errors.append(f"{reply.status_code} {reply.text[:80]}")
        await asyncio.sleep(RETRY_PAUSE)  # the server is down or not ready: try again soon, same key
    answer.finished = time.monotonic()
    return answer


async def approve(client: httpx.AsyncClient, ingress: Callable[[], str], saga: Saga, deadline: float) -> None:
    """Resolve a workflow saga's approval promise after its delay, retrying while the server is down.

    The call carries an idempotency key: a retry of a call that did reach the server gets that call's
    answer instead of resolving the promise twice (which would fail)."""
    await asyncio.sleep(saga.approve_after)
    while time.monotonic() < deadline:
        try:
            reply = await client.post(
                f"{ingress()}/{saga.service}/{saga.key}/approve",
                json="yes",
                headers={"idempotency-key": f"approve-{saga.key}"},
                timeout=10,
            )
            if not retry_with_the_same_key(reply):
                assert reply.status_code == 200, (saga, reply.status_code, reply.text)
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(RETRY_PAUSE)


async def run_sagas(
    ingress: Callable[[], str],
    sagas: Sequence[Saga],
    *,
    pace: float = 0.0,
    deadline: float = 240.0,
    concurrency: int = 200,
    on_started: Callable[[int], None] | None = None,
) -> list[Answer]:
    """Run every saga (starting one every `pace` seconds, at most `concurrency` at once) to its answer."""
    limits = httpx.Limits(max_connections=concurrency + 50, max_keepalive_connections=50)
    until = time.monotonic() + deadline
    gate = asyncio.Semaphore(concurrency)

    async def one(saga: Saga) -> Answer:
        async with gate:
            if saga.service in WORKFLOWS:
                approval = asyncio.create_task(approve(client, ingress, saga, until))
                answer = await call_saga(client, ingress, saga, until)
                await approval
                return answer
            return await call_saga(client, ingress, saga, until)

    async with httpx.AsyncClient(limits=limits) as client:
        tasks: list[asyncio.Task[Answer]] = []
        for index, saga in enumerate(sagas):
            tasks.append(asyncio.create_task(one(saga)))
            if on_started is not None:
                on_started(index)
            if pace > 0:
                await asyncio.sleep(pace)
        return list(await asyncio.gather(*tasks))


# --- checks ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Checked:
    """Counts from a successful check."""

    sagas: int
    compensated: int
    compensations: int
    effects: int
    executions: int
    deduplicated: int


def check_everything(
    answers: Sequence[Answer], invocations: dict[str, list[str]], journals: dict[str, list[str]], ledger: Ledger
) -> Checked:
    """Every saga's right end state; raises AssertionError naming the first saga that is wrong.

    - its answer: the input back, or a 409 naming its last step;
    - exactly one invocation for its key (`invocations`: key -> invocation ids), whose `run`
      entries are its steps then its compensations, newest first, each once (`journals`);
    - each side effect applied exactly once, compensations newest first, by that invocation's
      keys (`ledger`), however many times an action ran;
    - no action or compensation re-executed after its result was journaled is checked by
      `check_no_late_attempts`.
    """
    compensations = 0
    for answer in answers:
        saga = answer.saga
        assert answer.status_code != 0, f"{saga.name}: no answer ({answer.attempts} attempts: {answer.errors[-5:]})"
        if saga.fails:
            assert answer.status_code == 409, (saga, answer.status_code, answer.body[:300])
            assert f"step 'S3' failed: S3 refused for {saga.name}" in answer.message(), (saga, answer.body[:300])
        else:
            assert answer.status_code == 200, (saga, answer.status_code, answer.body[:300])
            assert json.loads(answer.body) == saga.payload(), (saga, answer.body[:300])
        ids = invocations.get(saga.key, [])
        assert len(ids) == 1, f"{saga.name}: {len(ids)} invocations for its key: {ids}"
        (invocation,) = ids
        if answer.invocation_id is not None:
            assert answer.invocation_id == invocation, (saga, answer.invocation_id, invocation)
        assert journals.get(invocation) == saga.expected_runs(), (saga, journals.get(invocation))
        effects = ledger.effects.get(saga.name, [])
        expected = saga.expected_effects()
        if saga.service == "ParallelCheckout":  # the branches apply concurrently: A and B in either order
            assert sorted(effects[1:3]) == ["A", "B"], (saga, effects)
            effects = [effects[0], "A", "B", *effects[3:]]
        assert effects == expected, (saga, effects)
        assert all(key.startswith(f"{invocation}:") for key in ledger.keys.get(saga.name, [])), saga
        compensations += sum(1 for e in effects if e.startswith("undo "))
    names = {answer.saga.name for answer in answers}
    stray = sorted(set(ledger.effects) - names)
    assert not stray, f"effects of sagas nobody started: {stray[:5]}"
    return Checked(
        sagas=len(answers),
        compensated=sum(1 for a in answers if a.saga.fails),
        compensations=compensations,
        effects=ledger.effect_count,
        executions=len(ledger.attempts),
        deduplicated=ledger.deduplicated,
    )


def _appended_ms(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000


def journaled_at(rows: Sequence[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """When each `run` entry's result was journaled (its completion notification), per invocation and
    entry name, from `sys_journal` rows with `id, index, entry_type, name, entry_json, appended_at`."""
    completions: dict[tuple[str, int], float] = {}
    for row in rows:
        entry = json.loads(row["entry_json"] or "{}")
        run = entry.get("Notification", {}).get("Completion", {}).get("Run")
        if run is not None:
            completions[(row["id"], run["completion_id"])] = _appended_ms(row["appended_at"])
    found: dict[str, dict[str, float]] = defaultdict(dict)
    for row in rows:
        if row["entry_type"] == "Command: Run":
            completion_id = json.loads(row["entry_json"])["Command"]["Run"]["completion_id"]
            at = completions.get((row["id"], completion_id))
            if at is not None:
                found[row["id"]][row["name"]] = at
    return dict(found)


def check_no_late_attempts(ledger: Ledger, journaled: dict[str, dict[str, float]], slack_ms: float = 2.0) -> None:
    """No action or compensation started after its result had been journaled (a replay must read it)."""
    late: list[str] = []
    for attempt in ledger.attempts:
        name = f"compensate:{attempt.effect[5:]}" if attempt.effect.startswith("undo ") else attempt.effect
        at = journaled.get(attempt.invocation, {}).get(name)
        if at is not None and attempt.started_ms > at + slack_ms:
            late.append(f"{attempt.saga} {name}")
    assert late == [], f"started again after their result was journaled: {late[:10]}"


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def duplicated_keys(invocations: dict[str, list[str]]) -> Counter[int]:
    return Counter(len(ids) for ids in invocations.values())
