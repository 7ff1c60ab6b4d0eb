"""The global error registry: which exceptions end a step for good (and so trigger compensation).

Resolution order for an exception raised by a step's action:
the step's own mapper -> registered error classes -> the global mapper -> None (Restate retries).
A `TerminalError` is always terminal as it is.
"""

from __future__ import annotations

from collections.abc import Iterable

from restate import TerminalError

from ._options import ErrorMapper

_registered: tuple[type[Exception], ...] = ()
_global_mapper: ErrorMapper | None = None


def _check_classes(error_classes: Iterable[type[Exception]]) -> list[type[Exception]]:
    classes = list(error_classes)
    for cls in classes:
        if not (isinstance(cls, type) and issubclass(cls, Exception)):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"register_terminal_errors expects Exception subclasses, got {cls!r}")
    return classes


def register_terminal_errors(error_classes: Iterable[type[Exception]]) -> None:
    """Treat these exception classes (and their subclasses) as terminal in every step."""
    global _registered
    new = [cls for cls in _check_classes(error_classes) if cls not in _registered]
    _registered = (*_registered, *new)


def unregister_terminal_errors(error_classes: Iterable[type[Exception]]) -> None:
    """Stop treating these exception classes as terminal."""
    global _registered
    removed = set(_check_classes(error_classes))
    _registered = tuple(cls for cls in _registered if cls not in removed)


def clear_terminal_errors() -> None:
    """Forget every registered error class (the global mapper stays)."""
    global _registered
    _registered = ()


def set_global_error_mapper(mapper: ErrorMapper | None) -> None:
    """Set (or with None, remove) the mapper consulted after the registered classes."""
    global _global_mapper
    _global_mapper = mapper


def get_global_error_mapper() -> ErrorMapper | None:
    """The mapper set with `set_global_error_mapper`, or None."""
    return _global_mapper


def registered_terminal_errors() -> tuple[type[Exception], ...]:
    """The registered error classes, in registration order."""
    return _registered


def resolve_terminal_error(err: Exception, step_mapper: ErrorMapper | None = None) -> TerminalError | None:
    """The `TerminalError` an exception stands for, or None when Restate should retry it."""
    if isinstance(err, TerminalError):
        return err
    if step_mapper is not None:
        mapped = step_mapper(err)
        if mapped is not None:
            return mapped
    if _registered and isinstance(err, _registered):
        return TerminalError(f"{type(err).__name__}: {err}" if str(err) else type(err).__name__)
    if _global_mapper is not None:
        return _global_mapper(err)
    return None
