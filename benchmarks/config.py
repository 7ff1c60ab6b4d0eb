"""Sample sizes: the full run (about 10 minutes on 2 cores) and the smoke run (well under a minute).

Implementations are measured in many short, rotating rounds rather than one long batch each, so
that background load on a shared machine hits all three alike.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["FULL", "SMOKE", "Config", "SizeFor"]


@dataclass(frozen=True, slots=True)
class SizeFor:
    """Per-saga-length sample sizes for the server measurements (every loop is bounded by count and time)."""

    latency_rounds: int
    latency_calls: int
    """Sequential calls per implementation per round."""
    latency_seconds: float
    """Time bound of one implementation's sequential batch."""
    throughput_rounds: int
    throughput_seconds: float
    """Length of one throughput window (every client makes at least one call; calls in flight finish)."""
    throughput_max_calls: int
    """Count bound of one throughput window."""
    warmup_calls: int


@dataclass(frozen=True, slots=True)
class Config:
    name: str
    workloads: tuple[str, ...]
    sizes: dict[int, SizeFor]
    """Sizes by saga length (3, 20, 100, 1000 steps)."""
    clients: int = 16
    journal_samples: int = 3
    inprocess_steps: tuple[int, ...] = (1_000, 10_000)
    inprocess_repeats: int = 7
    inprocess_budget_seconds: float = 40.0
    then_scaling_steps: tuple[int, ...] = (1_000, 10_000, 30_000, 60_000)
    """Chain lengths for `.then` alone (each in a fresh interpreter)."""
    import_repeats: int = 7

    def size(self, steps: int) -> SizeFor:
        return self.sizes[steps]

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["sizes"] = {str(steps): asdict(size) for steps, size in self.sizes.items()}
        return data


FULL = Config(
    name="full",
    workloads=(
        "checkout",
        "checkout_fail",
        "saga20",
        "saga20_fail",
        "saga100",
        "saga100_fail",
        "saga1000",
        "saga1000_fail",
    ),
    sizes={
        3: SizeFor(
            latency_rounds=10,
            latency_calls=15,
            latency_seconds=5,
            throughput_rounds=6,
            throughput_seconds=2.0,
            throughput_max_calls=2000,
            warmup_calls=10,
        ),
        20: SizeFor(
            latency_rounds=8,
            latency_calls=6,
            latency_seconds=5,
            throughput_rounds=6,
            throughput_seconds=2.0,
            throughput_max_calls=1000,
            warmup_calls=3,
        ),
        100: SizeFor(
            latency_rounds=5,
            latency_calls=2,
            latency_seconds=5,
            throughput_rounds=4,
            throughput_seconds=2.0,
            throughput_max_calls=300,
            warmup_calls=1,
        ),
        1000: SizeFor(
            latency_rounds=3,
            latency_calls=1,
            latency_seconds=15,
            throughput_rounds=4,
            throughput_seconds=0.0,
            throughput_max_calls=16,
            warmup_calls=1,
        ),
    },
)

SMOKE = Config(
    name="smoke",
    workloads=("checkout", "checkout_fail", "saga20", "saga20_fail", "saga100"),
    sizes={
        3: SizeFor(
            latency_rounds=1,
            latency_calls=5,
            latency_seconds=5,
            throughput_rounds=1,
            throughput_seconds=0.5,
            throughput_max_calls=200,
            warmup_calls=2,
        ),
        20: SizeFor(
            latency_rounds=1,
            latency_calls=3,
            latency_seconds=5,
            throughput_rounds=1,
            throughput_seconds=0.5,
            throughput_max_calls=100,
            warmup_calls=1,
        ),
        100: SizeFor(
            latency_rounds=1,
            latency_calls=1,
            latency_seconds=5,
            throughput_rounds=1,
            throughput_seconds=0.0,
            throughput_max_calls=16,
            warmup_calls=1,
        ),
        1000: SizeFor(
            latency_rounds=1,
            latency_calls=1,
            latency_seconds=10,
            throughput_rounds=1,
            throughput_seconds=0.0,
            throughput_max_calls=16,
            warmup_calls=0,
        ),
    },
    journal_samples=2,
    inprocess_steps=(200, 2_000),
    inprocess_repeats=3,
    inprocess_budget_seconds=8.0,
    then_scaling_steps=(200, 2_000, 6_000),
    import_repeats=3,
)
