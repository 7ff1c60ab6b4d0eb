"""The package face: one error root, public names reporting `restate_saga` as their module (with
their annotations still readable), no private `__all__`, and a face that loads a module only when
one of its names is first used."""

from __future__ import annotations

import ast
import dataclasses
import importlib
import json
import pkgutil
import subprocess
import sys
import typing
from pathlib import Path

import pytest
from pydantic import TypeAdapter
from restate import TerminalError

import restate_saga
from restate_saga import (
    AttemptRejectedError,
    CompensationFailure,
    ContextMisuseError,
    FailureCause,
    InvalidInputError,
    MissingExtraError,
    NoMainHandlerError,
    PlanChangedError,
    RestateSagaError,
    SagaCompensatedError,
    StepCall,
    StepDefinitionError,
    StepFailedError,
    StepTimeoutError,
)

PACKAGE = Path(restate_saga.__file__).parent
PUBLIC = [getattr(restate_saga, name) for name in restate_saga.__all__]


def test_the_error_root_catches_every_error_and_each_keeps_its_base() -> None:
    raised = [
        StepDefinitionError("bad"),
        StepFailedError("S", "no"),
        StepTimeoutError("S", 1.0),
        InvalidInputError("S.run", "field 'x': missing"),
        ContextMisuseError("S", "sleep"),
        PlanChangedError("S", "a", "b"),
        SagaCompensatedError("no", 409, "S"),
        AttemptRejectedError("injected", 503),
        MissingExtraError("the test bed", "testing", "httpx"),
        NoMainHandlerError("Approval"),
        restate_saga.ValueLimitError("its output is too big", 10, "bytes"),
        restate_saga.MissingKeyError("step 'S'", "k1", ("k2",)),
        restate_saga.KeyringError("no current key"),
    ]
    for error in raised:
        with pytest.raises(RestateSagaError):
            raise error
    bases = {
        StepDefinitionError: ValueError,
        StepFailedError: TerminalError,
        StepTimeoutError: TerminalError,
        InvalidInputError: TerminalError,
        ContextMisuseError: TerminalError,
        PlanChangedError: RuntimeError,
        SagaCompensatedError: TerminalError,
        AttemptRejectedError: TerminalError,
        MissingExtraError: ImportError,
        NoMainHandlerError: RuntimeError,
        restate_saga.JournalValueMismatchError: StepFailedError,
        restate_saga.StepDataChangedError: RuntimeError,  # retried: the journal may be read by newer code
        restate_saga.ValueLimitError: TerminalError,
        restate_saga.EncryptionUnavailableError: ImportError,
        restate_saga.DecryptionError: TerminalError,
        restate_saga.MissingKeyError: restate_saga.DecryptionError,
        restate_saga.JournalUnreadableError: StepFailedError,
        restate_saga.ReplayBlockedError: RuntimeError,  # retried until the key is back
        restate_saga.EncryptionSetupError: RuntimeError,
        restate_saga.KeyringError: ValueError,
    }
    for cls, base in bases.items():
        assert issubclass(cls, RestateSagaError) and issubclass(cls, base), cls
    assert not issubclass(PlanChangedError, TerminalError)  # retried, never rolled back
    exported = {value for value in PUBLIC if isinstance(value, type) and issubclass(value, Exception)}
    assert exported - {restate_saga.FiniteCompensationRetryWarning} == set(bases) | {RestateSagaError}


def test_public_classes_and_functions_report_the_package_as_their_module() -> None:
    named = [value for value in PUBLIC if isinstance(value, type) or (callable(value) and hasattr(value, "__code__"))]
    assert len(named) > 60
    assert [value for value in named if value.__module__ != "restate_saga"] == []
    assert repr(restate_saga.Mode.HYBRID) == "<Mode.HYBRID: 'hybrid'>"
    assert "restate_saga.SagaCompensatedError" in repr(SagaCompensatedError)


def test_public_dataclasses_keep_readable_annotations() -> None:
    classes = [value for value in PUBLIC if isinstance(value, type) and dataclasses.is_dataclass(value)]
    assert len(classes) >= 15
    for cls in classes:
        hints = typing.get_type_hints(cls)
        assert not any(isinstance(hint, str) for hint in hints.values()), cls
        fields = dataclasses.fields(cls)
        assert {f.name: f.type for f in fields} == {f.name: hints[f.name] for f in fields}
    assert typing.get_type_hints(FailureCause)["failed_step"] == str | None
    cause = FailureCause("timeout", "late", 408, "Charge")
    assert TypeAdapter(FailureCause).validate_json(TypeAdapter(FailureCause).dump_json(cause)) == cause
    call = StepCall("Charge", "inv-1", 3, True)
    assert TypeAdapter(StepCall).validate_python(dataclasses.asdict(call)) == call
    failure = TypeAdapter(CompensationFailure).validate_python({"step": "S", "reason": "r"})
    assert failure == CompensationFailure("S", "r")


def test_only_package_faces_declare_all() -> None:
    modules = [info.name for info in pkgutil.walk_packages([str(PACKAGE)], "restate_saga.")]
    private = [name for name in modules if name.rsplit(".", 1)[-1].startswith("_") and not name.endswith("__main__")]
    assert len(private) > 25
    assert [name for name in private if hasattr(importlib.import_module(name), "__all__")] == []


def test_the_face_lists_each_public_name_once_for_the_checkers_and_for_the_run_time() -> None:
    tree = ast.parse((PACKAGE / "__init__.py").read_text())
    checked: dict[str, tuple[str, ...]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
            checked[node.module] = tuple(alias.name for alias in node.names)
    assert checked == restate_saga._HOMES  # pyright: ignore[reportPrivateUsage]
    assert sorted(name for names in checked.values() for name in names) == sorted(restate_saga.__all__)
    for module, names in checked.items():
        home = importlib.import_module(f"restate_saga.{module}")
        assert all(getattr(restate_saga, name) is getattr(home, name) for name in names)
    assert set(restate_saga.__all__) <= set(dir(restate_saga))
    with pytest.raises(AttributeError, match="module 'restate_saga' has no attribute 'stepp'"):
        restate_saga.stepp  # type: ignore[attr-defined]  # noqa: B018


PROBE = """
import json, sys
import restate_saga
loaded_by_import = sorted(m for m in sys.modules if m.startswith("restate_saga."))
from restate_saga import step
errors = sys.modules["restate_saga._errors"]
print(json.dumps({
    "loaded_by_import": loaded_by_import,
    "loaded_by_step": "restate_saga._step" in sys.modules,
    "keyed_loaded": "restate_saga._keyed" in sys.modules,
    "indirect_module": errors.SagaCompensatedError.__module__,
    "step_module": step.__module__,
}))
"""


def test_import_loads_no_module_until_a_name_is_used() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=120)
    seen = json.loads(done.stdout)
    assert seen["loaded_by_import"] == []
    assert seen["loaded_by_step"] and not seen["keyed_loaded"]
    # a module loaded on the way (not looked up through the face) reports the face too
    assert seen["indirect_module"] == "restate_saga" and seen["step_module"] == "restate_saga"
