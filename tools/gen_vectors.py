#!/usr/bin/env python3
"""Regenerate test-vectors/ deterministically (spec/vectors.md §1).

Usage: python tools/gen_vectors.py [--out DIR] [--check]

The generator is an independent producer: it signs with PyNaCl and canonicalizes with
rfc8785 directly and never imports the `verifier` package, so the vectors pin the spec,
not our implementation. `--check` regenerates into a temporary directory and exits 1 if
anything differs from the committed files.
"""

from __future__ import annotations

import argparse
import filecmp
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from vectorgen import write_corpus  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "test-vectors")
    ap.add_argument("--check", action="store_true", help="fail if regeneration changes anything")
    args = ap.parse_args()
    if not args.check:
        n = write_corpus(args.out)
        print(f"wrote {n} vectors to {args.out}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        write_corpus(Path(tmp))
        diff = _differences(Path(tmp), args.out)
    for line in diff:
        print(line)
    return 1 if diff else 0


def _differences(a: Path, b: Path) -> list[str]:
    out = []
    names_a = {p.relative_to(a) for p in a.rglob("*") if p.is_file()}
    names_b = {p.relative_to(b) for p in b.rglob("*") if p.is_file()}
    for name in sorted(names_a ^ names_b):
        out.append(f"only in one tree: {name}")
    for name in sorted(names_a & names_b):
        if not filecmp.cmp(a / name, b / name, shallow=False):
            out.append(f"differs: {name}")
    return out


if __name__ == "__main__":
    raise SystemExit(main())
