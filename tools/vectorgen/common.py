"""Shared helpers of the vector generator: fixed keys, signing, vector records."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import rfc8785
from nacl.signing import SigningKey

FAMILY_SEED = bytes.fromhex("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
OTHER_SEED = hashlib.sha256(b"ario-verifier vectors: other signer").digest()
FAMILY_KEY = SigningKey(FAMILY_SEED)
OTHER_KEY = SigningKey(OTHER_SEED)
GENESIS = "GENESIS"



def jcs(value: Any) -> bytes:
    return rfc8785.dumps(value)


def h(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def pub(key: SigningKey) -> str:
    return key.verify_key.encode().hex()


def scope(envelope: dict[str, Any]) -> dict[str, Any]:
    """Signed scope: mlflow and legacy also drop top-level '_' keys (spec/envelope.md §3.3)."""
    sv = envelope.get("spec_version")
    strip_underscore = "spec_version" not in envelope or (
        isinstance(sv, str) and sv.startswith("ario.mlflow/")
    )
    return {
        k: v for k, v in envelope.items()
        if k not in ("signature", "co_signatures") and not (strip_underscore and k.startswith("_"))
    }


def sign(fields: dict[str, Any], key: SigningKey = FAMILY_KEY) -> dict[str, Any]:
    """Complete an envelope: set public_key, then sign JCS(scope)."""
    env = dict(fields)
    env["public_key"] = pub(key)
    env["signature"] = key.sign(jcs(scope(env))).signature.hex()
    return env


def resign(env: dict[str, Any], key: SigningKey = FAMILY_KEY) -> dict[str, Any]:
    """Re-sign an envelope after a deliberate edit, keeping its public_key field."""
    env = dict(env)
    env["signature"] = key.sign(jcs(scope(env))).signature.hex()
    return env


@dataclass
class Vector:
    """One vector as written to disk (see spec/vector.schema.json)."""

    id: str
    family: str
    description: str
    spec_refs: list[str]
    input: dict[str, Any]
    status: str
    reason: str | None
    checks: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        expected: dict[str, Any] = {"status": self.status, "reason": self.reason}
        if self.checks:
            expected["checks"] = self.checks
        if self.outputs:
            expected["outputs"] = self.outputs
        return {
            "vector_version": 1,
            "id": self.id,
            "family": self.family,
            "description": self.description,
            "spec_refs": self.spec_refs,
            "input": self.input,
            "expected": expected,
        }


def dump(value: Any) -> str:
    """The on-disk text of a vector file: sorted keys, 2-space indent, trailing newline."""
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=True) + "\n"
