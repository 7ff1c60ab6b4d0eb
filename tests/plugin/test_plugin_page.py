"""The test modules and messages that docs/guides/pytest-plugin.md shows are what pytest runs and prints.

The page's test modules are `{.no-run}` blocks (they need the plugin's fixtures); here pytest
itself runs each of them, exactly as the page shows it, through pytester.
"""

from __future__ import annotations

import pytest

from tests.docs.fences import DOCS, Fence, fences

PAGE = DOCS / "guides" / "pytest-plugin.md"
BLOCKS = fences(PAGE)

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestAssertRewriteWarning")


def module_block(file_name: str) -> Fence:
    """The page's Python block whose first line is `# <file_name>`."""
    found = [b for b in BLOCKS if b.lang == "python" and b.body.startswith(f"# {file_name}\n")]
    assert len(found) == 1, f"{PAGE.name} shows {len(found)} blocks starting with '# {file_name}'"
    return found[0]


def text_block(starting: str) -> str:
    """The page's text block that starts with `starting`, its whitespace collapsed."""
    found = [b for b in BLOCKS if b.lang == "text" and b.body.startswith(starting)]
    assert len(found) == 1, f"{PAGE.name} shows {len(found)} text blocks starting with {starting!r}"
    return " ".join(found[0].body.split())


def printed(result: pytest.RunResult) -> str:
    """What an inner session printed, without pytest's `E   ` prefixes, its whitespace collapsed."""
    lines = [line.removeprefix("E   ") for line in result.outlines + result.errlines]
    return " ".join(" ".join(lines).split())


@pytest.fixture(autouse=True)
def _quiet_inner_sessions(pytester: pytest.Pytester) -> None:
    """The inner sessions set pytest-asyncio's loop scope, as a user's configuration would."""
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")


@pytest.mark.parametrize(("file_name", "tests"), [("test_travel.py", 4), ("test_shop.py", 2)])
def test_the_pages_test_modules_pass(pytester: pytest.Pytester, file_name: str, tests: int) -> None:
    block = module_block(file_name)
    assert "no-run" in block.classes  # a test module: run here, not by the docs test
    pytester.makepyfile(**{file_name.removesuffix(".py"): block.body})
    result = pytester.runpytest("--strict-markers", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=tests)


def test_a_test_without_an_app_fails_with_what_the_page_shows(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_no_app="def test_it(restate_bed):\n    pass\n")
    result = pytester.runpytest("--strict-markers", "-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    assert text_block("test_no_app.py::test_it: restate_bed needs an app") in printed(result)


def test_a_missing_server_errors_the_test_saying_how_to_install_it(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RESTATE_SERVER_BIN", str(pytester.path / "no-such-server"))
    pytester.makepyfile(
        test_no_server="""
        import pytest
        import restate

        svc = restate.Service("NoServer")

        @svc.handler()
        async def go(ctx: restate.Context) -> None: ...

        @pytest.mark.restate_app(svc)
        def test_on_the_server(restate_bed):
            pass

        def test_without_it():
            pass
        """
    )
    result = pytester.runpytest("--strict-markers", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, errors=1)  # the session's other tests still run
    assert "RestateServerNotFound" in printed(result)
    assert text_block("restate-server was not found.") in printed(result)


def test_without_the_extra_the_real_server_fixtures_name_it(pytester: pytest.Pytester) -> None:
    pytester.makeconftest("import sys\nsys.modules['httpx'] = None  # as if the testing extra were not installed\n")
    pytester.makepyfile(
        test_no_extra="""
        def test_on_the_server(restate_server):
            pass

        def test_in_process(fake_context):
            assert fake_context().journal == []
        """
    )
    result = pytester.runpytest_subprocess("--strict-markers", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, errors=1)
    assert "MissingExtraError" in printed(result)
    assert text_block("the 'testing' extra is needed") in printed(result)
