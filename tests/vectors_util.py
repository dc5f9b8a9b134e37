"""Shared helpers for tests that read test-vectors/ and the peer corpus."""

from __future__ import annotations

import json
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VECTORS = ROOT / "test-vectors"
PEER_CORPUS = ROOT.parent / "shared" / "peer-corpus" / "ar-io-proof"


def load_vectors(family: str) -> list[dict]:
    """Every vector of one family, sorted by id."""
    files = sorted((VECTORS / family).glob("*.json"))
    assert files, f"no vectors for family {family!r} under {VECTORS}"
    return [json.loads(p.read_text()) for p in files]


def peer_corpus() -> Path:
    """The ar-io-proof corpus beside the checkout; its absence is a failure, not a skip."""
    if not PEER_CORPUS.is_dir():
        raise AssertionError(
            f"peer corpus missing at {PEER_CORPUS} (CI={os.environ.get('CI')!r}); "
            "clone with ../shared beside the project"
        )
    return PEER_CORPUS


def bundle_argv(name: str, where: Path) -> list[str]:
    """Command-line arguments auditing the audit-bundle vector `name`: its ZIP written under
    `where`, then its policy as options (shared by the report and browse tests)."""
    v = json.loads((VECTORS / "audit_bundle" / f"audit-bundle-{name}.json").read_text())
    path = where / f"{name}.zip"
    path.write_bytes(bytes.fromhex(v["input"]["document_hex"]))
    argv = [str(path)]
    policy = v["input"].get("policy") or {}
    if policy.get("trusted_keys"):
        keys = where / f"{name}-keys.txt"
        keys.write_text("\n".join(policy["trusted_keys"]) + "\n")
        argv += ["--trusted-keys", str(keys)]
    for signer in policy.get("trusted_receipt_signers") or ():
        argv += ["--receipt-signer", signer]
    if policy.get("require_binding"):
        argv.append("--require-binding")
    return argv
