"""The reference tests change the global error registry and leave it changed: restore it after each."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from restate_saga import _registry, clear_terminal_errors, register_terminal_errors, set_global_error_mapper


@pytest.fixture(autouse=True)
def _restore_the_error_registry() -> Iterator[None]:
    classes, mapper = _registry.registered_terminal_errors(), _registry.get_global_error_mapper()
    yield
    clear_terminal_errors()
    register_terminal_errors(classes)
    set_global_error_mapper(mapper)
