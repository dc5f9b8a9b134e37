"""SVG snapshots of the browser on the verified, failed, incomplete and malformed vector
bundles at fixed terminal sizes, compared with committed goldens.

pytest-textual-snapshot 1.1.0 does not resolve with pytest 9 (it pins pytest < 9), so this is
the small equivalent: `export_screenshot()` against `goldens/NAME.svg`. The bundles are the
deterministic test vectors and nothing on screen reads the clock, so the SVG is stable for a
given Textual version. After an intended change (or a Textual upgrade), look at the new
screens and rewrite the goldens with ARIO_UPDATE_GOLDENS=1.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from browse_util import drive, until

from verifier.tui.detail import DetailScreen

GOLDENS = Path(__file__).resolve().parent / "goldens"


def check_svg(name: str, svg: str, tmp_path: Path) -> None:
    golden = GOLDENS / f"{name}.svg"
    if os.environ.get("ARIO_UPDATE_GOLDENS"):
        golden.write_text(svg, encoding="utf-8")
    assert golden.exists(), f"no golden {golden.name}: run with ARIO_UPDATE_GOLDENS=1 and look at it"
    if svg != golden.read_text(encoding="utf-8"):
        actual = tmp_path / f"{name}.actual.svg"
        actual.write_text(svg, encoding="utf-8")
        pytest.fail(f"screen differs from {golden}; the new one is {actual}")


CASES = [
    ("verified", "ok-pinned", (100, 30)),
    ("failed", "record-mismatch-metric", (100, 30)),
    ("failed-80x24", "record-mismatch-metric", (80, 24)),
    ("incomplete", "surface-unavailable", (100, 30)),
    ("malformed", "not-a-zip", (100, 30)),
]


@pytest.mark.parametrize("name,vector,size", CASES, ids=[c[0] for c in CASES])
def test_main_screen(name, vector, size, bundle, tmp_path):
    shots = {}

    async def script(pilot, app):
        shots["svg"] = app.export_screenshot()

    drive(bundle(vector), script, size=size)
    check_svg(name, shots["svg"], tmp_path)


def test_detail_of_the_failed_event(bundle, tmp_path):
    shots = {}

    async def script(pilot, app):
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.detail is not None)
        await pilot.pause(0.2)
        shots["svg"] = app.export_screenshot()

    drive(bundle("record-mismatch-metric"), script, size=(100, 40))
    check_svg("failed-detail", shots["svg"], tmp_path)
