"""The API reference documents every public name, once, and nothing else.

Public names are those in the `__all__` of `restate_saga` and of each of its public subpackages
(`restate_saga.testing`, and any added later). A reference page documents a name with a line
`::: package.Name` (mkdocstrings renders it from the docstring and signature; `mkdocs build
--strict` fails when the name cannot be found). A new public name without such a line fails here,
with the page to add it to.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from pathlib import Path

import restate_saga
from tests.docs.fences import DOCS, ROOT

REFERENCE = DOCS / "reference"
_DIRECTIVE = re.compile(r"^:::[ \t]+(?P<path>[\w.]+)[ \t]*$", re.MULTILINE)

# The reference page of the names each private module defines. A module not listed here (a new
# one) needs its names placed on a page: an existing one, or a new page added to the nav in mkdocs.yml.
PAGES = {
    "restate_saga._step": "steps.md",
    "restate_saga._parallel": "steps.md",
    "restate_saga._pivot": "steps.md",
    "restate_saga._response": "steps.md",
    "restate_saga._nodes": "steps.md",
    "restate_saga._service": "services.md",
    "restate_saga._keyed": "services.md",
    "restate_saga._remote": "services.md",
    "restate_saga._engine": "services.md",
    "restate_saga._decorators": "seed.md",
    "restate_saga._nested": "seed.md",
    "restate_saga._context": "runtime.md",
    "restate_saga._current": "runtime.md",
    "restate_saga._cause": "runtime.md",
    "restate_saga._options": "options.md",
    "restate_saga._codec": "options.md",
    "restate_saga._errors": "errors.md",
    "restate_saga._registry": "errors.md",
    "restate_saga._plans": "plans.md",
    "restate_saga._diagrams": "plans.md",
    "restate_saga._encryption": "encryption.md",
    "restate_saga._envelope": "encryption.md",
    "restate_saga._keyring": "encryption.md",
    "restate_saga._secrets": "encryption.md",
    "restate_saga._display": "encryption.md",
    "restate_saga._payload_checks": "encryption.md",
    "restate_saga.testing": "testing.md",
    "restate_saga._interceptors": "interceptors.md",
    "restate_saga.ext.otel": "interceptors.md",
    "restate_saga.admin": "admin.md",
    "restate_saga.cli": "cli.md",
}


def public_packages() -> list[str]:
    """`restate_saga` and every public subpackage that declares `__all__`."""
    found = ["restate_saga"]
    for info in pkgutil.walk_packages(restate_saga.__path__, "restate_saga."):
        if any(part.startswith("_") for part in info.name.split(".")):
            continue
        module = importlib.import_module(info.name)
        if hasattr(module, "__all__"):
            found.append(info.name)
    return found


def public_names() -> dict[str, str]:
    """Every public name (`package.Name`) and the module that defines it, as its package imports it."""
    names: dict[str, str] = {}
    for package in public_packages():
        module = importlib.import_module(package)
        origin = _import_origins(package, Path(module.__file__ or ""))
        for name in module.__all__:
            names[f"{package}.{name}"] = origin.get(name, package)
    return names


def _import_origins(package: str, init: Path) -> dict[str, str]:
    """name -> module, from the package face's `from .module import name` statements."""
    origins: dict[str, str] = {}
    for node in ast.walk(ast.parse(init.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
            for alias in node.names:
                origins[alias.asname or alias.name] = f"{package}.{node.module}"
    return origins


def documented() -> dict[str, list[str]]:
    """`package.Name` -> the reference pages that render it."""
    found: dict[str, list[str]] = {}
    for page in sorted(REFERENCE.glob("*.md")):
        for match in _DIRECTIVE.finditer(page.read_text()):
            found.setdefault(match["path"], []).append(page.name)
    return found


def expected_page(module: str) -> str | None:
    """The reference page for the names of `module` (a private module, or a public package)."""
    return PAGES.get(module) or PAGES.get(module.rsplit(".", 1)[0])


def _page_for(name: str, module: str) -> str:
    page = expected_page(module)
    if page:
        return f"add `::: {name}` to docs/reference/{page}"
    return (
        f"no reference page holds the names of {module} yet: add `::: {name}` to the page of its topic in "
        "docs/reference/ (or a new page, listed in the nav of mkdocs.yml), and that page to PAGES in "
        f"{Path(__file__).relative_to(ROOT)}"
    )


def test_every_public_name_is_in_the_api_reference() -> None:
    pages = documented()
    missing = [
        f"{name} is public but not in the API reference: {_page_for(name, module)}"
        for name, module in public_names().items()
        if name not in pages
    ]
    assert not missing, "\n".join(missing)


def test_the_api_reference_documents_each_name_once_and_only_public_ones() -> None:
    public = public_names()
    problems = [
        f"{name} is rendered on {', '.join(where)}: "
        + ("it is not public (in no __all__)" if name not in public else "document it on one page only")
        for name, where in documented().items()
        if name not in public or len(where) > 1
    ]
    assert not problems, "\n".join(problems)


def test_names_are_on_the_page_of_their_module() -> None:
    pages = documented()
    misplaced = [
        f"{name} is on {pages[name][0]}, but the names of {module} belong on {expected_page(module)}"
        for name, module in public_names().items()
        if name in pages and expected_page(module) not in (None, pages[name][0])
    ]
    assert not misplaced, "\n".join(misplaced)


def test_every_reference_page_is_in_the_nav() -> None:
    nav = (ROOT / "mkdocs.yml").read_text()
    for page in REFERENCE.glob("*.md"):
        assert f"reference/{page.name}" in nav, f"docs/reference/{page.name} is not in the nav of mkdocs.yml"
