"""Byte bindings inside an anchor trace: payload, committed record, disclosed content and
on-chain bytes (spec/evidence.md V11, V12, V13, V16). Pure functions, no exceptions escape."""

from __future__ import annotations

from typing import Any, Sequence

from ..encoding import sha256_hex
from ..errors import Malformed
from ..intake import parse
from ..jcs import canonical
from ..limits import Limits
from .model import Finding, OnChain, OnChainFinding

# Which inline-payload hashes an ario.agent/v1 envelope commits to, by event type.
_CONTENT_PATHS: dict[str, tuple[tuple[str, ...], ...]] = {
    "asset_registered": (("hash",),),
    "asset_missing": (("baseline", "hash"),),
    "tamper_detected": (("observed", "hash"), ("baseline", "hash")),
}


def payload_binding(envelope: dict[str, Any], record: bytes | None, fast: bool,
                    limits: Limits) -> Finding:
    """V12 payload binding, as the family defines it (independent of the signature).

    payload_hash missing or not a string: broken. Otherwise every available material must
    hash to it: the inline `payload` (SHA-256 of its JCS) and the committed record bytes
    (SHA-256 of the raw bytes). No material: undetermined.
    """
    stored = envelope.get("payload_hash")
    if not isinstance(stored, str):
        return Finding.BROKEN
    results: list[bool] = []
    if "payload" in envelope:
        try:
            results.append(sha256_hex(canonical(envelope["payload"], fast, limits)) == stored)
        except Malformed:
            results.append(False)
    if record is not None:
        results.append(sha256_hex(record) == stored)
    if not results:
        return Finding.UNDETERMINED
    return Finding.HOLDS if all(results) else Finding.BROKEN


def record_event(record: bytes | None, limits: Limits) -> dict[str, Any] | None:
    """The `event` object of a committed record (strict JSON), or None if unavailable."""
    if record is None:
        return None
    try:
        value = parse(record, limits).value
    except Malformed:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("event"), dict):
        return None
    return value["event"]


def committed_content(event: dict[str, Any] | None, envelope: dict[str, Any]) -> list[str]:
    """V13 committed content hashes (lowercased): the record's `event.content_hash` if it is
    a non-empty string, else the hashes an inline agent payload commits to."""
    if event is not None:
        value = event.get("content_hash")
        if isinstance(value, str) and value:
            return [value.lower()]
    payload = envelope.get("payload")
    paths = _CONTENT_PATHS.get(envelope.get("event_type"), ()) if isinstance(
        envelope.get("event_type"), str) else ()
    if not isinstance(payload, dict):
        return []
    hashes: list[str] = []
    for path in paths:
        node: Any = payload
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, str):
            hashes.append(node.lower())
    return hashes


def content_binding(committed: list[str], in_body: bytes | None,
                    side: bytes | None) -> tuple[Finding, str]:
    """V13: disclosed bytes (in-body first, then side input) against the committed hashes.

    Returns the finding and a display detail for a broken one.
    """
    if in_body is not None and side is not None and in_body != side:
        return Finding.BROKEN, "in-body content and the supplied content differ"
    disclosed = in_body if in_body is not None else side
    if disclosed is None or not committed:
        return Finding.UNDETERMINED, ""
    got = sha256_hex(disclosed)
    if got in committed:
        return Finding.HOLDS, ""
    return Finding.BROKEN, f"SHA-256 of the disclosed content is {got}, committed {'|'.join(committed)}"


def on_chain_finding(envelope: Any, fetched: Sequence[tuple[str, bytes | None]],
                     fast: bool, limits: Limits) -> OnChainFinding:
    """V16: compare each gateway's bytes for a checkpoint tx with JCS(checkpoint envelope).

    None means the gateway was unreachable. Equal bytes, or bytes that parse strictly and
    canonicalize to the same JCS, confirm; anything else is a mismatch.
    """
    try:
        expected: bytes | None = canonical(envelope, fast, limits)
    except Malformed:
        expected = None
    outcomes: list[tuple[str, OnChain]] = []
    for gateway, data in fetched:
        outcomes.append((str(gateway), _compare(data, expected, limits)))
    found = {o for _, o in outcomes}
    if OnChain.MISMATCH in found:
        rollup = OnChain.MISMATCH
    elif OnChain.CONFIRM in found:
        rollup = OnChain.CONFIRM
    else:
        rollup = OnChain.UNREACHABLE
    return OnChainFinding(rollup, tuple(outcomes))


def _compare(data: bytes | None, expected: bytes | None, limits: Limits) -> OnChain:
    if data is None:
        return OnChain.UNREACHABLE
    if expected is None:
        return OnChain.MISMATCH
    if data == expected:
        return OnChain.CONFIRM
    try:
        doc = parse(data, limits)
        again = canonical(doc.value, doc.fast, limits)
    except Malformed:
        return OnChain.MISMATCH
    return OnChain.CONFIRM if again == expected else OnChain.MISMATCH
