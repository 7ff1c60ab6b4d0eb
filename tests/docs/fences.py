"""The fenced code blocks of the docs pages, with their language, title and classes.

The conventions they follow (which blocks run, which are files, which are expected output) are
described in docs/CONTRIBUTING.md.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"

_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")
_TITLE = re.compile(r'title="(?P<title>[^"]*)"')
_BRACES = re.compile(r"\{(?P<attrs>[^}]*)\}")


@dataclass(frozen=True, slots=True)
class Fence:
    """One fenced block of a page."""

    page: Path
    line: int
    """The line of the page (1-based) where the block's body starts."""
    lang: str
    title: str | None
    classes: tuple[str, ...]
    body: str
    """The body, without the indentation of the fence."""

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"

    @property
    def is_file(self) -> bool:
        """A file of a project the page builds (it has a title): written out by that page's test."""
        return self.title is not None

    @property
    def runnable(self) -> bool:
        """A Python snippet that the docs test runs."""
        return self.lang == "python" and not self.is_file and "no-run" not in self.classes

    @property
    def is_output(self) -> bool:
        """What the block before it prints: compared with what it really prints."""
        return "output" in self.classes


def _parse_info(info: str) -> tuple[str, str | None, tuple[str, ...]]:
    info = info.strip()
    lang = info.split(maxsplit=1)[0] if info and not info.startswith("{") else ""
    title = _TITLE.search(info)
    classes: list[str] = []
    for braces in _BRACES.finditer(info):
        classes += [token[1:] for token in braces["attrs"].split() if token.startswith(".")]
    return lang, title["title"] if title else None, tuple(classes)


def fences(page: Path) -> list[Fence]:
    """Every fenced block of a Markdown page, in order."""
    lines = page.read_text().splitlines()
    found: list[Fence] = []
    index = 0
    while index < len(lines):
        opening = _OPEN.match(lines[index])
        if opening is None:
            index += 1
            continue
        indent, fence = opening["indent"], opening["fence"]
        closing = re.compile(rf"^{re.escape(indent)}{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
        end = index + 1
        while end < len(lines) and not closing.match(lines[end]):
            end += 1
        if end == len(lines):
            raise ValueError(f"{page.relative_to(ROOT)}:{index + 1}: a fenced block is never closed")
        lang, title, classes = _parse_info(opening["info"])
        body = textwrap.dedent("\n".join(line.removeprefix(indent) for line in lines[index + 1 : end]))
        found.append(Fence(page, index + 2, lang, title, classes, body + "\n" if body else ""))
        index = end + 1
    return found


def pages() -> list[Path]:
    """Every Markdown page of the site (CONTRIBUTING.md is not one)."""
    return sorted(path for path in DOCS.rglob("*.md") if path.name != "CONTRIBUTING.md")
