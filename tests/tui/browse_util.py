"""Helpers for the browser tests: deterministic audit bundles from the test vectors (so
screenshots are stable), their policy as command-line options, and a Pilot driver."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any, Awaitable, Callable

import pytest

from verifier.cli.browse_cmd import mode_of
from verifier.cli.main import build_parser
from verifier.tui.app import BrowseApp, make_spec
from vectors_util import bundle_argv

VECTORS = Path(__file__).resolve().parents[2] / "test-vectors" / "audit_bundle"
SIZE = (100, 30)


def vector(name: str) -> dict[str, Any]:
    return json.loads((VECTORS / f"audit-bundle-{name}.json").read_text())


@pytest.fixture()
def bundle(tmp_path: Path) -> Callable[[str], list[str]]:
    """bundle(name) -> the browse argv for that vector: its ZIP and its policy."""
    def make(name: str) -> list[str]:
        return bundle_argv(name, tmp_path)
    return make


def make_app(argv: list[str]) -> BrowseApp:
    args = build_parser().parse_args(["browse", *argv])
    return BrowseApp(make_spec(mode_of(args), args))


async def settle(pilot: Any, app: BrowseApp, timeout: float = 30.0) -> None:
    """Wait until the audit child has sent its verdict (or an error) and the UI caught up."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while app.summary is None and not app.error:
        assert loop.time() < end, "the audit did not finish in time"
        await pilot.pause(0.05)
    await pilot.pause(0.25)


async def until(pilot: Any, condition: Callable[[], bool], timeout: float = 30.0) -> None:
    """Wait until `condition()` holds (the app answers through its child process, so how
    long that takes depends on the machine's load); fail clearly after `timeout` seconds."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not condition():
        assert loop.time() < end, "the app did not get there in time"
        await pilot.pause(0.02)


def drive(argv: list[str], script: Callable[[Any, BrowseApp], Awaitable[None]],
          size: tuple[int, int] = SIZE) -> BrowseApp:
    """Run the app headless on `argv`, wait for the verdict, then run `script(pilot, app)`."""
    app = make_app(argv)

    async def main() -> None:
        async with app.run_test(size=size, notifications=True) as pilot:
            await settle(pilot, app)
            await script(pilot, app)

    asyncio.run(main())
    return app
