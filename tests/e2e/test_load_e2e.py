"""1,000 sagas, a quarter of them failing, through 16 concurrent clients against one restate-server."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from restate_saga.testing import RestateTestBed
from tests.ledger import events, new_run

SAGAS = 1000
CLIENTS = 16


def test_a_thousand_mixed_sagas_through_sixteen_clients(bed: RestateTestBed) -> None:
    runs = [(new_run(), "Ship" if i % 4 == 0 else "") for i in range(SAGAS)]
    url = f"{bed.server.ingress_url}/Checkout/run"

    def call(batch: list[tuple[str, str]]) -> list[tuple[str, str, int, Any]]:
        answers: list[tuple[str, str, int, Any]] = []
        with httpx.Client(timeout=120) as client:
            for run, fail_at in batch:
                body = {"run": run, "customer": run, "amount": 7, "fail_at": fail_at}
                answer = client.post(url, content=json.dumps(body), headers={"content-type": "application/json"})
                answers.append((run, fail_at, answer.status_code, answer.json()))
        return answers

    batches = [runs[i::CLIENTS] for i in range(CLIENTS)]
    with ThreadPoolExecutor(CLIENTS) as pool:
        answers = [answer for batch in pool.map(call, batches) for answer in batch]

    assert len(answers) == SAGAS
    failures = compensations = errors = 0
    for run, fail_at, status, body in answers:
        seen = events(run)
        if fail_at:
            failures += 1
            if status != 409 or seen != [
                "CreateOrder",
                "Charge",
                "Ship",
                "undo Charge pay-7",
                f"undo CreateOrder order-{run}",
            ]:
                errors += 1
            compensations += sum(1 for event in seen if event.startswith("undo"))
        elif status != 200 or body["shipment_id"] != "ship-1" or seen != ["CreateOrder", "Charge", "Ship"]:
            errors += 1
    print(
        f"\nload: {SAGAS} sagas, {CLIENTS} clients, {failures} failed and compensated, "
        f"{compensations} compensations, {errors} errors"
    )
    assert (failures, compensations, errors) == (SAGAS // 4, 2 * (SAGAS // 4), 0)
