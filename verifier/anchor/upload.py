"""Upload a signed data item to a Turbo-compatible bundler (``POST {url}/tx/{token}``).

Network trouble never raises: it becomes an `UploadOutcome` with a typed `error_kind`.
429, 500, 502, 503 and 504 answers, connect errors and timeouts are retried with
exponential backoff, honouring a numeric ``Retry-After`` (capped). httpx is imported
only when an upload actually runs (the ``net`` extra).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import Enum
from typing import Any, Callable

from ..core.ans104 import data_item_id
from ..core.errors import Malformed
from ..core.intake import load
from ..core.textsafe import shown

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
TOKENS = frozenset({"arweave", "solana", "ethereum", "kyve"})
MAX_RECEIPT_BYTES = 1 << 20


class UploadStatus(str, Enum):
    UPLOADED = "uploaded"
    FAILED = "failed"


class ErrorKind(str, Enum):
    NONE = "none"
    UNREACHABLE = "unreachable"
    TIMEOUT = "timeout"
    RATE_LIMITED = "rate_limited"
    HTTP_4XX = "http_4xx"
    HTTP_5XX = "http_5xx"
    BAD_RESPONSE = "bad_response"


@dataclass(frozen=True, slots=True)
class UploadOutcome:
    """What happened to one upload. `receipt` is the bundler's JSON answer, unverified."""

    status: UploadStatus
    tx_id: str | None
    receipt: dict[str, Any] | None
    http_status: int | None
    error_kind: ErrorKind
    message: str
    attempts: int = 1

    @property
    def ok(self) -> bool:
        return self.status is UploadStatus.UPLOADED


def _retry_after(value: str | None, cap: float) -> float | None:
    """Seconds from a numeric Retry-After header, capped; None if absent or a date."""
    if not value:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    if seconds != seconds or seconds < 0:
        return None
    return min(seconds, cap)


def _failed(kind: ErrorKind, message: str, http_status: int | None, tx_id: str | None,
            attempts: int) -> UploadOutcome:
    return UploadOutcome(UploadStatus.FAILED, tx_id, None, http_status, kind, message, attempts)


def upload_data_item(
    raw: bytes,
    *,
    upload_url: str,
    token: str,
    timeout: float = 30.0,
    retries: int = 2,
    backoff: float = 0.5,
    max_retry_after: float = 30.0,
    client: Any = None,
    sleep: Callable[[float], None] = time.sleep,
) -> UploadOutcome:
    """POST `raw` to ``{upload_url}/tx/{token}`` and classify the answer.

    `token` is ``arweave`` for type-1 items and ``solana`` for type-2 items. `client` may
    be an ``httpx.Client`` owned by the caller; otherwise one is created and closed here.
    `sleep` is injectable so tests can observe waits.
    """
    if token not in TOKENS:
        raise ValueError(f"unknown upload token {token!r}")
    import httpx

    try:
        expected_id: str | None = data_item_id(raw)
    except Malformed:
        expected_id = None  # the bundler will say what it thinks of these bytes
    url = upload_url.rstrip("/") + "/tx/" + token
    headers = {"Content-Type": "application/octet-stream"}
    own = client is None
    http = httpx.Client(timeout=timeout) if own else client
    attempts = 0
    try:
        while True:
            attempts += 1
            last = attempts > retries
            wait = backoff * (2 ** (attempts - 1))
            try:
                resp = http.post(url, content=bytes(raw), headers=headers, timeout=timeout)
            except httpx.TimeoutException as exc:
                outcome = _failed(ErrorKind.TIMEOUT, f"timed out: {exc.__class__.__name__}",
                                  None, expected_id, attempts)
            except (httpx.TransportError, httpx.InvalidURL) as exc:
                outcome = _failed(ErrorKind.UNREACHABLE, f"{exc.__class__.__name__}: {exc}",
                                  None, expected_id, attempts)
            else:
                if resp.status_code in RETRY_STATUSES:
                    kind = ErrorKind.RATE_LIMITED if resp.status_code == 429 else ErrorKind.HTTP_5XX
                    outcome = _failed(kind, _snippet(resp), resp.status_code, expected_id, attempts)
                    hinted = _retry_after(resp.headers.get("Retry-After"), max_retry_after)
                    wait = hinted if hinted is not None else wait
                else:
                    return _classify(resp, expected_id, attempts)
            if last:
                return outcome
            sleep(wait)
    finally:
        if own:
            http.close()


def _snippet(resp: Any) -> str:
    text = shown(resp.text[:300]) if resp.content else ""  # the service's words, terminal-safe
    return f"HTTP {resp.status_code}" + (f": {text}" if text else "")


def _classify(resp: Any, expected_id: str | None, attempts: int) -> UploadOutcome:
    code = resp.status_code
    if 400 <= code < 500:
        return _failed(ErrorKind.HTTP_4XX, _snippet(resp), code, expected_id, attempts)
    if code >= 500:
        return _failed(ErrorKind.HTTP_5XX, _snippet(resp), code, expected_id, attempts)
    if code not in (200, 201, 202):
        return _failed(ErrorKind.BAD_RESPONSE, _snippet(resp), code, expected_id, attempts)
    if len(resp.content) > MAX_RECEIPT_BYTES:
        return _failed(ErrorKind.BAD_RESPONSE, "receipt too large", code, expected_id, attempts)
    try:  # the kernel's strict intake: a hostile service's deep or huge JSON never raises
        receipt = load(resp.content)
    except Malformed as exc:
        return _failed(ErrorKind.BAD_RESPONSE, f"answer is not strict JSON [{exc.reason.value}]",
                       code, expected_id, attempts)
    if not isinstance(receipt, dict) or not isinstance(receipt.get("id"), str):
        return _failed(ErrorKind.BAD_RESPONSE, "answer has no receipt id", code, expected_id,
                       attempts)
    if expected_id is not None and receipt["id"] != expected_id:
        return _failed(ErrorKind.BAD_RESPONSE,
                       f"receipt id {receipt['id'][:64]} is not the item id {expected_id}",
                       code, expected_id, attempts)
    return UploadOutcome(UploadStatus.UPLOADED, receipt["id"], receipt, code, ErrorKind.NONE,
                         f"HTTP {code}", attempts)
