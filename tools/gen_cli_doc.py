#!/usr/bin/env python3
"""Write docs/cli.md from the CLI's own argparse definitions (so it cannot drift).

Usage: python tools/gen_cli_doc.py [--check]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ["COLUMNS"] = "100"  # argparse wraps to the terminal width; pin it

from verifier.cli.main import build_parser  # noqa: E402

HEADER = """# Command-line reference

Generated from the argparse definitions by `tools/gen_cli_doc.py`; a test keeps it in
sync. Exit codes for every verifying command: `0` verified, `1` failed, `2` malformed
input or usage error, `3` incomplete. `--json` prints exactly one JSON object on stdout
(spec/result-model.md R4); progress and hints go to stderr. Colour only on a TTY;
`NO_COLOR` is honoured.
"""


def _walk(parser: argparse.ArgumentParser, path: list[str]):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _walk(sub, path + [name])


def render() -> str:
    parts = [HEADER]
    for path, parser in _walk(build_parser(), ["ario-verifier"]):
        title = " ".join(path)
        parts.append(f"\n## `{title}`\n\n```text\n{parser.format_help().rstrip()}\n```\n")
    return "".join(parts)


def main() -> int:
    target = ROOT / "docs" / "cli.md"
    text = render()
    if "--check" in sys.argv:
        if not target.exists() or target.read_text() != text:
            print("docs/cli.md is out of date: run python tools/gen_cli_doc.py")
            return 1
        return 0
    target.write_text(text)
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
