from collections.abc import Awaitable, Callable
from typing import Any

from hypercorn.config import Config

async def serve(
    app: Any,
    config: Config,
    *,
    shutdown_trigger: Callable[[], Awaitable[Any]] | None = ...,
) -> None: ...
