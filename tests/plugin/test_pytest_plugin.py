"""restate_saga's pytest plugin, run by pytest itself (pytester) on small test modules.

The inner sessions load the plugin through its `pytest11` entry point, as a user's pytest does.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestAssertRewriteWarning")


@pytest.fixture(autouse=True)
def _quiet_inner_sessions(pytester: pytest.Pytester) -> None:
    """The inner sessions set pytest-asyncio's loop scope, as a user's configuration would."""
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")


def test_the_plugin_registers_its_markers_and_option(pytester: pytest.Pytester) -> None:
    markers = pytester.runpytest("--markers")
    markers.stdout.fnmatch_lines(
        ["@pytest.mark.restate_app(services, app=None, path=*", "@pytest.mark.restate_always_replay:*"]
    )
    options = pytester.runpytest("--help")
    options.stdout.fnmatch_lines(["*--restate-always-replay*"])


def test_restate_bed_without_an_app_says_how_to_give_one(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_no_app="""
        def test_it(restate_bed):
            pass
        """
    )
    result = pytester.runpytest("--strict-markers")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*restate_bed needs an app: mark the test*@pytest.mark.restate_app(*"])


def test_fake_context_factory_makes_fresh_contexts_and_replays(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_fakes="""
        import pytest
        from restate_saga import step

        runs = []

        async def act(n: int) -> int:
            runs.append(n)
            return n + 1

        async def undo(n: int) -> None: ...

        pipeline = step("A", act, undo).then(step("B", act))

        @pytest.mark.asyncio
        async def test_it(fake_context):
            first = fake_context(state={"k": 1}, key="cart-1")
            assert await pipeline.run(first.as_context(), 1) == 3
            assert (first.state, first.object_key, [e.name for e in first.journal]) == ({"k": 1}, "cart-1", ["A", "B"])
            replay = fake_context.replay_of(first)
            assert await pipeline.run(replay.as_context(), 1) == 3
            assert replay.executed == [] and runs == [1, 2]   # journaled: nothing ran again
            assert first.invocation_id != fake_context().invocation_id
        """
    )
    pytester.runpytest("--strict-markers").assert_outcomes(passed=1)


def test_real_server_fixtures_serve_marked_apps_once_and_replay_on_request(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_served="""
        import pytest
        import restate

        twin_a = restate.Service("Twin")
        twin_b = restate.Service("Twin")
        counter = restate.Service("Counter")
        handler_runs = []

        @twin_a.handler()
        async def who(ctx: restate.Context) -> str:
            return "a"

        @twin_b.handler(name="who")
        async def who_b(ctx: restate.Context) -> str:
            return "b"

        @counter.handler()
        async def count(ctx: restate.Context, n: int) -> int:
            handler_runs.append(n)
            total = n
            for i in range(3):
                total = await ctx.run_typed(f"add{i}", lambda t=total: t + 1)
            return total

        APP_A = restate.app(services=[twin_a])
        beds = []

        @pytest.mark.restate_app(app=APP_A)
        def test_first(restate_bed, restate_server):
            result = restate_bed.call("Twin", "who")
            assert result.json() == "a"
            assert restate_bed.server is restate_server
            beds.append(restate_bed)

        @pytest.mark.restate_app([twin_b])
        def test_another_app_with_the_same_service_name(restate_bed):
            assert restate_bed.call("Twin", "who").json() == "b"

        @pytest.mark.restate_app(app=APP_A)
        def test_back_to_the_first_app(restate_bed):
            assert restate_bed is beds[0]             # served once per session
            assert restate_bed.call("Twin", "who").json() == "a"

        class TestOverride:
            @pytest.fixture
            def restate_app(self):
                return counter

            def test_override(self, restate_bed):
                handler_runs.clear()
                assert restate_bed.call("Counter", "count", 1).json() == 4
                assert len(handler_runs) == 1

            @pytest.mark.restate_always_replay
            def test_always_replay(self, restate_bed, restate_server):
                handler_runs.clear()
                result = restate_bed.call("Counter", "count", 1)
                assert result.json() == 4
                assert restate_bed.server is not restate_server
                assert len(handler_runs) >= 4, handler_runs   # suspended and replayed at every await
                assert restate_bed.run_entries(result.invocation_id) == ["add0", "add1", "add2"]
        """
    )
    result = pytester.runpytest("--strict-markers", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=5)


def test_the_option_replays_every_bed(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_option="""
        import pytest
        import restate

        svc = restate.Service("OptionReplay")
        runs = []

        @svc.handler()
        async def go(ctx: restate.Context) -> int:
            runs.append(1)
            await ctx.run_typed("one", lambda: 1)
            return len(runs)

        @pytest.mark.restate_app(svc)
        def test_it(restate_bed):
            assert restate_bed.call("OptionReplay", "go").json() >= 2
        """
    )
    pytester.runpytest("--restate-always-replay").assert_outcomes(passed=1)
