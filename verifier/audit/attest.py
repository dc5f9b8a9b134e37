"""A10 (optional, online): the ar.io Verify attestation for a tx id (spec/audit.md).

`ArioVerifyClient.query` asks ``POST {url}/api/v1/verify {"txId": tx}`` (httpx, imported
lazily; never used offline) and normalises the answer to a `VerifyAnswer`. The answer is
untrusted: `attestation_check` reports its level (1 existence, 2 integrity, 3 signature)
and, when the operator signed it, verifies that RSA-PSS attestation offline by the
evidence-attestation rules (salt 32, e = 65537, operator = address of the modulus,
data_hash = SHA-256 of the envelope bytes, tx_id = this tx).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import time
from dataclasses import dataclass, field
from typing import Any

from verifier.core.errors import Malformed
from verifier.core.evidence.attestation import operator_address, parse_jwk, verify_pss
from verifier.core.intake import load
from verifier.core.jcs import canonical
from verifier.core.reasons import ReasonCode as R
from verifier.core.result import Check, passed, problem, skipped

CHECK = "attestation"
#: Largest ar.io Verify answer read (it is a small JSON object).
MAX_ANSWER_BYTES = 1024 * 1024
_NOT_REQUESTED = skipped(CHECK, "ar.io Verify not requested (online only: --ario-verify-url)")
_HEX = re.compile(r"(?:[0-9a-fA-F]{2})+")
_B64U = re.compile(r"[A-Za-z0-9_-]+={0,2}")
_RETRY = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class VerifyAnswer:
    """One ar.io Verify answer, normalised; `error` is set when there was none."""

    tx_id: str
    level: int | None = None
    attested_by: str | None = None
    attested_at: str | None = None
    report_url: str | None = None
    attestation: dict[str, Any] | None = field(default=None, compare=False)
    error: str | None = None


def parse_answer(tx_id: str, data: Any, base_url: str = "") -> VerifyAnswer:
    """Normalise a Verify response body (explicit nulls count as absent)."""
    if not isinstance(data, dict):
        return VerifyAnswer(tx_id, error="the response is not a JSON object")
    level = data.get("level")
    if isinstance(level, bool) or not isinstance(level, int):
        level = None
    att = data.get("attestation") if isinstance(data.get("attestation"), dict) else None
    links = data.get("links") if isinstance(data.get("links"), dict) else {}
    dash = links.get("dashboard")
    url = (dash if dash.startswith("http") else base_url.rstrip("/") + dash) if isinstance(dash, str) else None
    by = att.get("gateway") if att else None
    at = att.get("attestedAt") if att else None
    return VerifyAnswer(tx_id, level, by if isinstance(by, str) else None,
                        at if isinstance(at, str) else None, url, att)


class ArioVerifyClient:
    """Minimal ar.io Verify client: bounded retries on 429/5xx, timeouts, no redirects."""

    def __init__(self, url: str, *, timeout: float = 30.0, retries: int = 2,
                 backoff: float = 0.5) -> None:
        import httpx

        self.url = url.rstrip("/")
        self._retries, self._backoff = retries, backoff
        self._client = httpx.Client(timeout=timeout, follow_redirects=False,
                                    headers={"Accept-Encoding": "identity"})
        self._errors = (httpx.HTTPError,)

    def query(self, tx_id: str) -> VerifyAnswer:
        """Ask the service about one tx id; never raises for network or content trouble."""
        last = "no answer"
        for attempt in range(self._retries + 1):
            try:
                status, body = self._post(tx_id)
            except self._errors as exc:
                last = f"{type(exc).__name__}: {exc}"
            else:
                if status == 200 and isinstance(body, str):
                    return VerifyAnswer(tx_id, error=f"ar.io Verify at {self.url}: {body}")
                if status == 200:
                    try:
                        return parse_answer(tx_id, load(body), self.url)
                    except (Malformed, ValueError):
                        return VerifyAnswer(tx_id, error="the response is not JSON")
                last = f"HTTP {status}"
                if status not in _RETRY:
                    break
            if attempt < self._retries:
                time.sleep(self._backoff * 2 ** attempt)
        return VerifyAnswer(tx_id, error=f"ar.io Verify at {self.url}: {last}")

    def _post(self, tx_id: str) -> tuple[int, bytes | str]:
        """(status, raw body) — or (200, why) for an answer refused unread: a
        Content-Encoding (never decoded) or more than `MAX_ANSWER_BYTES`."""
        with self._client.stream("POST", f"{self.url}/api/v1/verify",
                                 json={"txId": tx_id}) as resp:
            if resp.status_code != 200:
                return resp.status_code, b""
            coding = resp.headers.get("content-encoding", "").strip().lower()
            if coding not in ("", "identity"):
                return 200, "a content-encoded answer is refused (never decoded)"
            body = bytearray()
            for chunk in resp.iter_raw():
                body += chunk
                if len(body) > MAX_ANSWER_BYTES:
                    return 200, f"the answer exceeds {MAX_ANSWER_BYTES} bytes"
            return 200, bytes(body)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> "ArioVerifyClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _signature_bytes(value: Any) -> bytes | None:
    if not isinstance(value, str):
        return None
    if _HEX.fullmatch(value) and len(value) >= 256:
        return bytes.fromhex(value)
    if _B64U.fullmatch(value):
        try:
            return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        except (binascii.Error, ValueError):
            return None
    return None


def _jwk(att: dict[str, Any]) -> Any:
    key = att.get("public_key", att.get("publicKey"))
    if isinstance(key, str):  # the modulus alone, as Arweave keys are published
        return {"kty": "RSA", "n": key, "e": "AQAB"}
    return key


def _operator_signature(att: dict[str, Any], tx_id: str, envelope: bytes | None
                        ) -> tuple[Check | None, str]:
    """Verify the signed attestation; (a failing check or None, what was established)."""
    payload, signature = att.get("payload"), _signature_bytes(att.get("signature"))
    if not isinstance(payload, dict) or signature is None:
        return None, "unsigned"
    key = _jwk(att)
    if key is None:
        return None, "signed, but the answer carries no operator public key to verify it"
    try:
        jwk = parse_jwk(key, "attestation.public_key")
        ok = verify_pss(jwk, canonical(payload), signature)
    except Malformed as exc:
        return problem(CHECK, exc.reason, f"operator attestation: {exc.detail}"), "malformed"
    if not ok:
        return problem(CHECK, R.ATTESTATION_SIGNATURE_INVALID,
                       "operator RSA-PSS signature (salt 32, e=65537) does not verify"), "invalid"
    address = operator_address(jwk)
    if payload.get("operator") != address:
        return problem(CHECK, R.OPERATOR_NOT_BOUND,
                       f"payload.operator is not the signing key's address {address}"), "unbound"
    if payload.get("tx_id") != tx_id:
        return problem(CHECK, R.DATA_HASH_NOT_BOUND,
                       f"the attestation is about tx {str(payload.get('tx_id'))[:64]}, not {tx_id}"), "unbound"
    if envelope is not None:
        want = hashlib.sha256(envelope).hexdigest()
        got = payload.get("data_hash")
        if not isinstance(got, str) or got.lower() != want:
            return problem(CHECK, R.DATA_HASH_NOT_BOUND,
                           "payload.data_hash is not the SHA-256 of the envelope bytes"), "unbound"
    return None, f"operator signature verified ({address})"


def attestation_check(answer: VerifyAnswer | None, tx_id: str | None, envelope: bytes | None,
                      min_level: int | None) -> tuple[Check, dict[str, Any]]:
    """A10 for one event: the level, the operator's signature, the minimum level."""
    if answer is None:
        return _NOT_REQUESTED, {}
    if tx_id is None:
        return skipped(CHECK, "no tx id to ask about"), {}
    if answer.error is not None:
        return problem(CHECK, R.ATTESTATION_UNAVAILABLE, answer.error), {}
    att = answer.attestation or {}
    level = answer.level
    signed_level = (att.get("payload") or {}).get("level") if isinstance(att.get("payload"), dict) else None
    if isinstance(signed_level, int) and not isinstance(signed_level, bool):
        level = signed_level
    info: dict[str, Any] = {"attestation_level": level, "attested_by": answer.attested_by,
                            "attested_at": answer.attested_at, "report_url": answer.report_url}
    if level not in (1, 2, 3):
        return problem(CHECK, R.ATTESTATION_UNAVAILABLE, "the service gave no attestation level"), info
    bad, established = _operator_signature(att, tx_id, envelope) if att else (None, "unsigned")
    info["operator_signature"] = established
    if bad is not None:
        return bad, info
    by = f" by {answer.attested_by}" if answer.attested_by else ""
    if min_level is not None and level < min_level:
        return problem(CHECK, R.ATTESTATION_LEVEL_LOW,
                       f"ar.io Verify level {level}{by} is below the required {min_level}"), info
    return passed(CHECK, f"ar.io Verify level {level}{by}; {established}"), info
