"""A traced saga service for the SIGKILL test of observability, run in its own process.

`CrashOtel` runs S1 -> Gate -> S3. Gate notes its invocation in `$OTEL_CRASH_DIR/entered` and
waits until the file `$OTEL_CRASH_DIR/gate` exists, so that the test can kill the process while
every saga is inside Gate. Ended spans are appended at once to `$OTEL_CRASH_DIR/spans.jsonl` (a
SIGKILL loses only what had not ended); `GET /metrics` answers the process's metrics as JSON.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from pathlib import Path
from typing import Any

import restate
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

from restate_saga import SagaWorkflowOptions, create_saga_workflow, current_step, step
from restate_saga.ext.otel import OpenTelemetryInterceptor

Data = dict[str, Any]
FOLDER = Path(os.environ.get("OTEL_CRASH_DIR", "."))
_write = threading.Lock()


class JsonLinesExporter(SpanExporter):
    """Appends each ended span to a file, one JSON object a line."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        with _write, self.path.open("a") as out:
            for span in spans:
                assert span.context is not None
                out.write(
                    json.dumps(
                        {
                            "name": span.name,
                            "span_id": span.context.span_id,
                            "parent_id": None if span.parent is None else span.parent.span_id,
                            "status": span.status.status_code.name,
                            "attributes": dict(span.attributes or {}),
                            "pid": os.getpid(),
                        }
                    )
                    + "\n"
                )
        return SpanExportResult.SUCCESS


tracer_provider = TracerProvider()
tracer_provider.add_span_processor(SimpleSpanProcessor(JsonLinesExporter(FOLDER / "spans.jsonl")))
metric_reader = InMemoryMetricReader()
otel = OpenTelemetryInterceptor(tracer_provider=tracer_provider, meter_provider=MeterProvider([metric_reader]))


async def passing(data: Data) -> Data:
    return data


async def gate(data: Data) -> Data:
    with _write, (FOLDER / "entered").open("a") as out:
        out.write(current_step().invocation_id + "\n")
    while not (FOLDER / "gate").exists():
        await asyncio.sleep(0.02)
    return data


async def undo(data: Data) -> None: ...


CrashOtel = create_saga_workflow(
    "CrashOtel",
    step("S1", passing, undo).then(step("Gate", gate, undo)).then(step("S3", passing, undo)),
    SagaWorkflowOptions(interceptors=[otel]),
)
restate_app: Any = restate.app(services=[CrashOtel])


def metrics_json() -> bytes:
    """Counter values and histogram counts: `[{"name", "attributes", "value"}]`."""
    points: list[dict[str, Any]] = []
    data = metric_reader.get_metrics_data()
    for resource in data.resource_metrics if data is not None else []:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                for point in metric.data.data_points:
                    count = getattr(point, "count", None)
                    value = count if count is not None else getattr(point, "value", 0)
                    points.append({"name": metric.name, "attributes": dict(point.attributes or {}), "value": value})
    return json.dumps(points).encode()


Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


async def app(scope: MutableMapping[str, Any], receive: Receive, send: Send) -> None:
    """The Restate app, plus `GET /metrics`."""
    if scope["type"] == "http" and scope["path"] == "/metrics":
        body = metrics_json()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body})
        return
    await restate_app(scope, receive, send)
