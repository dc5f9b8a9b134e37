"""The vector generator: families of cases, written deterministically with a manifest."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from . import (
    audit_cases, audit_v2_cases, chains, dataitem_cases, envelopes, evidence_cases, jcs_cases, merkle_cases, receipt_cases,
)
from .common import Vector, dump

CORPUS_VERSION = "1.0.0"
FAMILY_MODULES = [jcs_cases, envelopes, chains, merkle_cases, dataitem_cases, evidence_cases, receipt_cases,
                  audit_cases, audit_v2_cases]


def all_vectors() -> list[Vector]:
    vectors: list[Vector] = []
    for module in FAMILY_MODULES:
        vectors.extend(module.all_vectors())
    ids = [v.id for v in vectors]
    dupes = {i for i in ids if ids.count(i) > 1}
    if dupes:
        raise SystemExit(f"duplicate vector ids: {sorted(dupes)}")
    return vectors


def write_corpus(out: Path) -> int:
    """Write every vector and MANIFEST.json under `out` (replacing family directories)."""
    vectors = all_vectors()
    out.mkdir(parents=True, exist_ok=True)
    for family in {v.family for v in vectors}:
        if (out / family).exists():
            shutil.rmtree(out / family)
    files = {}
    for v in sorted(vectors, key=lambda v: (v.family, v.id)):
        rel = f"{v.family}/{v.id}.json"
        text = dump(v.to_json()).encode("ascii")
        (out / v.family).mkdir(exist_ok=True)
        (out / rel).write_bytes(text)
        files[rel] = {"sha256": hashlib.sha256(text).hexdigest(), "bytes": len(text)}
    manifest = {
        "corpus": "ario-verifier test vectors",
        "corpus_version": CORPUS_VERSION,
        "format": "spec/vectors.md (vector_version 1)",
        "generator": "tools/gen_vectors.py",
        "count": len(files),
        "files": files,
    }
    (out / "MANIFEST.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return len(files)
