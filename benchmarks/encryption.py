"""Encrypted journals in process (no server): journal bytes and cost per step, with and without encryption.

- `roundtrip_1kb`: `EncryptionCodec.encode` then `decode` of one 1 KB journal value (the target of
  issue 17: at most 20 us), in the full and the selective form;
- `bytes`: the journal value of each step of a saga on FakeContext, plain, encrypted in full, and
  selectively (only a `Secret` field), with the overhead per value (target: at most 40 bytes);
- `run`: time per step of the same saga on FakeContext with each codec, interleaved run by run
  (the difference to `plain` is what encryption adds per step).
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import time
from typing import Annotated, Any

from pydantic import BaseModel

from benchmarks.config import Config
from restate_saga import Binding, EncryptionCodec, Keyring, Secret, Step, step
from restate_saga.testing import FakeContext

__all__ = ["run_encryption_benchmarks"]

KEYRING = Keyring.generate("k2026-01")  # an 8-character key id: the longest a keyring allows
CODECS: dict[str, EncryptionCodec | None] = {
    "plain": None,
    "full": EncryptionCodec(KEYRING),
    "selective": EncryptionCodec(KEYRING, selective=True),
}


class Charged(BaseModel):
    """A step result with one secret among ordinary fields (a payment token)."""

    order_id: str
    step: int
    note: str
    token: Annotated[str, Secret]


def _charge(index: int) -> Any:
    async def action(value: Charged) -> Charged:
        return Charged(order_id=value.order_id, step=index, note=value.note, token=f"tok_{index:08d}_{'x' * 20}")

    async def undo(data: Charged) -> None:
        del data

    return step(f"Charge{index}", action, undo)


def _pipeline(steps: int) -> Step[Charged, Charged, object]:
    pipeline: Step[Charged, Charged, object] = _charge(1)
    for index in range(2, steps + 1):
        pipeline = pipeline.then(_charge(index))
    return pipeline


START = Charged(order_id="order-000123", step=0, note="two pairs of socks, express shipping", token="tok_start")


def _roundtrip(codec: EncryptionCodec, iterations: int) -> dict[str, float]:
    """Microseconds of one encode + decode of a 1 KB value: the fastest batch (as `timeit` advises:
    the others only add the machine's other work) and the median batch."""
    value = b'{"blob":"' + b"x" * 1011 + b'"}'
    assert len(value) == 1022
    binding = Binding.step("inv_1a2b3c4d5e6f7g8h9i0j", "Charge")
    if codec.selective:  # one secret of 1 KB in an otherwise tiny value
        from pydantic import TypeAdapter

        adapter = TypeAdapter(dict[str, Annotated[str, Secret]])
        secret = {"blob": "x" * 1011}

        def dump() -> bytes:
            return adapter.dump_json(secret)

        load: Any = adapter.validate_json
    else:

        def dump() -> bytes:
            return value

        load = bytes
    batches: list[float] = []
    for _ in range(15):
        started = time.perf_counter()
        for position in range(iterations):
            codec.decode(codec.encode(dump, binding, position), binding, load, position)
        batches.append((time.perf_counter() - started) / iterations * 1e6)
    return {"min_us": min(batches), "median_us": statistics.median(batches)}


async def _journal_bytes(steps: int) -> dict[str, Any]:
    sizes: dict[str, list[int]] = {}
    for name, codec in CODECS.items():
        fake = FakeContext()
        await _pipeline(steps).run(fake.as_context(), START, codec=codec)
        sizes[name] = [len(entry.value or b"") for entry in fake.journal]
    plain = sizes["plain"]
    result: dict[str, Any] = {"steps": steps, "plain_bytes_per_step": statistics.mean(plain)}
    for name in ("full", "selective"):
        overhead = [enc - raw for enc, raw in zip(sizes[name], plain, strict=True)]
        result[f"{name}_bytes_per_step"] = statistics.mean(sizes[name])
        result[f"{name}_overhead_bytes_max"] = max(overhead)
        result[f"{name}_overhead_bytes_mean"] = statistics.mean(overhead)
    return result


def _per_step(steps: int, repeats: int, deadline: float) -> dict[str, Any]:
    pipeline = _pipeline(steps)

    async def once(codec: EncryptionCodec | None) -> float:
        fake = FakeContext()
        started = time.perf_counter()
        await pipeline.run(fake.as_context(), START, codec=codec)
        return time.perf_counter() - started

    async def measure() -> dict[str, list[float]]:
        times: dict[str, list[float]] = {name: [] for name in CODECS}
        for codec in CODECS.values():
            await once(codec)  # warm-up
        order = list(CODECS)
        for index in range(repeats):
            for name in order if index % 2 == 0 else reversed(order):
                gc.collect()
                times[name].append(await once(CODECS[name]))
            if time.monotonic() > deadline and index >= 2:
                break
        return times

    times = asyncio.run(measure())
    us = {name: statistics.median(values) / steps * 1e6 for name, values in times.items()}
    fastest = {name: min(values) / steps * 1e6 for name, values in times.items()}
    return {
        "steps": steps,
        "runs": len(times["plain"]),
        **{f"{name}_us_per_step": value for name, value in us.items()},
        **{f"{name}_min_us_per_step": value for name, value in fastest.items()},
        "full_overhead_us_per_step": us["full"] - us["plain"],
        "selective_overhead_us_per_step": us["selective"] - us["plain"],
        "full_overhead_min_us_per_step": fastest["full"] - fastest["plain"],
        "selective_overhead_min_us_per_step": fastest["selective"] - fastest["plain"],
    }


def run_encryption_benchmarks(config: Config) -> dict[str, Any]:
    """Journal bytes and in-process cost with and without encryption."""
    deadline = time.monotonic() + config.inprocess_budget_seconds * 0.25
    steps = min(config.inprocess_steps)
    full, selective = CODECS["full"], CODECS["selective"]
    assert full is not None and selective is not None
    iterations = 1000 if config.name == "full" else 200
    return {
        "key_id": KEYRING.current,
        "roundtrip_1kb": {
            "value_bytes": 1022,
            "full": _roundtrip(full, iterations),
            "selective": _roundtrip(selective, iterations),
        },
        "bytes": asyncio.run(_journal_bytes(steps)),
        "run": _per_step(steps, config.inprocess_repeats, deadline),
    }
