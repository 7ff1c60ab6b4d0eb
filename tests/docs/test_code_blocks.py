"""The docs' Python blocks run and print what the pages show (conventions: docs/CONTRIBUTING.md)."""

from __future__ import annotations

import ast
import contextlib
import inspect
import io
import sys
import types
from pathlib import Path

import pytest

from tests.docs.fences import DOCS, Fence, fences, pages

RUNNABLE_PAGES = [page for page in pages() if any(block.runnable for block in fences(page))]
TUTORIAL = DOCS / "tutorial.md"


async def run_block(block: Fence, namespace: dict[str, object]) -> str:
    """Run one block in the page's namespace (top-level `await` allowed); returns what it printed.

    The code is compiled under the page's own file name and line numbers, so that a traceback
    points at the line of the page.
    """
    source = "\n" * (block.line - 1) + block.body
    code = compile(source, str(block.page), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        result = eval(code, namespace)
        if inspect.isawaitable(result):
            await result
    return printed.getvalue()


@pytest.mark.parametrize("page", RUNNABLE_PAGES, ids=[str(p.relative_to(DOCS)) for p in RUNNABLE_PAGES])
async def test_the_python_blocks_of_a_page_run_and_print_what_it_shows(page: Path) -> None:
    blocks = fences(page)
    name = "docs_page_" + "_".join(page.relative_to(DOCS).with_suffix("").parts).replace("-", "_")
    module = types.ModuleType(name)
    module.__file__ = str(page)
    sys.modules[name] = module
    try:
        for index, block in enumerate(blocks):
            if not block.runnable:
                continue
            printed = await run_block(block, module.__dict__)
            shown = blocks[index + 1] if index + 1 < len(blocks) else None
            if shown is not None and shown.is_output:
                assert printed.rstrip() == shown.body.rstrip(), (
                    f"{shown.where}: the page shows other output than the block above prints:\n{printed}"
                )
        # the tests a page shows are called too, as pytest would call them
        for test_name, test in list(vars(module).items()):
            if test_name.startswith("test_") and inspect.isfunction(test):
                outcome = test()
                if inspect.isawaitable(outcome):
                    await outcome
    finally:
        del sys.modules[name]


def test_every_output_block_is_checked() -> None:
    """An output block follows a runnable Python block; the tutorial's test checks the tutorial's."""
    for page in pages():
        if page == TUTORIAL:
            continue
        blocks = fences(page)
        for index, block in enumerate(blocks):
            if block.is_output:
                assert index > 0 and blocks[index - 1].runnable, (
                    f"{block.where}: an output block must follow the runnable Python block whose output it shows"
                )


def test_files_are_shown_only_where_a_test_writes_them() -> None:
    for page in pages():
        for block in fences(page):
            if block.is_file:
                assert page == TUTORIAL, f"{block.where}: a titled block is a file, and only the tutorial has files"


def test_no_diagram_is_pasted() -> None:
    """Diagrams come from the code at build time (```saga-diagram blocks), never as pasted Mermaid."""
    for page in pages():
        for block in fences(page):
            assert block.lang != "mermaid", f"{block.where}: use a saga-diagram block naming the pipeline instead"


def test_python_blocks_are_marked_python() -> None:
    """Only ```python blocks run: another spelling of the language would silently escape the test."""
    for page in pages():
        for block in fences(page):
            assert block.lang not in ("py", "python3", "pycon", "pyi"), f"{block.where}: write ```python"
