"""Sagas that produce oversized and hostile values, for the value-limit tests (served in-process).

The input says what to produce: `{"run": ..., "kind": ..., "size": n, "depth": d}`. Every step
records what it did in `tests.ledger` (the app shares the test's process).
"""

from __future__ import annotations

from typing import Any

from restate_saga import StepResponse, create_remote_saga, create_saga_workflow, hybrid_step, remote_step, step
from tests.ledger import record

Data = dict[str, Any]


def _nested(depth: int) -> Any:
    value: Any = "bottom"
    for _ in range(depth):
        value = [value]
    return value


async def open_order(data: Data) -> Data:
    record(data["run"], "Open")
    return data


async def close_order(data: Data) -> None:
    record(data["run"], "undo Open")


async def produce(data: Data) -> Data:
    """Returns what `kind` asks for; hybrid, so that its own undo runs when it fails."""
    record(data["run"], f"Produce {data['kind']}")
    match data["kind"]:
        case "huge output":
            return {**data, "blob": "x" * int(data["size"])}
        case "deep output":
            return {**data, "blob": _nested(int(data["depth"]))}
        case _:
            return data


async def unproduce(data: Data, failed: bool = False) -> None:
    record(data["run"], f"undo Produce failed={failed}")


async def produce_strict(data: Data) -> Data:
    record(data["run"], f"ProduceStrict {data['kind']}")
    return {**data, "blob": "x" * int(data["size"])}


async def unproduce_strict(data: Data) -> None:
    record(data["run"], "undo ProduceStrict")


async def with_huge_undo_data(data: Data) -> StepResponse[Data, str]:
    """A small output, but compensation data beyond the limit."""
    record(data["run"], "HugeUndoData")
    return StepResponse(data, compensation_data="x" * int(data["size"]))


async def undo_huge(data: str) -> None:
    raise AssertionError("never registered: its data was never journaled")


async def finish(data: Data) -> Data:
    record(data["run"], "Finish")
    return {key: value for key, value in data.items() if key != "blob"} | {"blob_length": len(str(data.get("blob")))}


async def result_of(data: Data) -> Data:
    record(data["run"], "Result")
    return data


open_step = step("Open", open_order, close_order)
HybridValues = create_saga_workflow(
    "HybridValues", open_step.then(hybrid_step("Produce", produce, unproduce)).then(step("Finish", finish))
)
StrictValues = create_saga_workflow(
    "StrictValues", open_step.then(step("ProduceStrict", produce_strict, unproduce_strict)).then(step("Finish", finish))
)
UndoDataValues = create_saga_workflow(
    "UndoDataValues", open_step.then(step("HugeUndoData", with_huge_undo_data, undo_huge)).then(step("Finish", finish))
)


async def authorize(data: Data) -> Data:
    record(data["run"], "Authorize")
    return {"run": data["run"]}


Payment = create_remote_saga("ValuesPayment", step("Authorize", authorize))


def inflate(data: Data) -> Data:
    """A pure transform (no journal entry) that makes the remote step's input huge."""
    return {**data, "blob": "x" * int(data["size"])}


RemoteValues = create_saga_workflow("RemoteValues", open_step.map(inflate).then(remote_step(Payment, "Pay")))
ResultValues = create_saga_workflow("ResultValues", open_step.then(step("Result", result_of)).map(inflate))

services = [HybridValues, StrictValues, UndoDataValues, ResultValues, Payment, RemoteValues]
