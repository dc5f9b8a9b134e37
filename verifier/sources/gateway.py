"""Fetch anchored bytes by tx id from an ordered list of ar.io gateways (httpx).

`GET {gateway}/raw/{tx}` is read as raw bytes (``Accept-Encoding: identity``; a response
that is content-encoded anyway is refused, never decoded). Every fetch returns a
`FetchResult`; network trouble never raises. Policy, all explicit and overridable:

- retries: ``retries`` extra attempts per gateway on HTTP 429/500/502/503/504 and on a
  connection dropped mid-response, waiting ``backoff * 2**attempt`` (at most
  ``backoff_cap``) or the server's ``Retry-After`` (at most ``retry_after_cap``). A
  gateway that refuses the connection or times out is not retried: the next gateway is.
- ``timeout``: connect/read/write/pool timeout per request; ``max_response_seconds``:
  wall-clock bound for reading one response body (slow-drip defence; checked as bytes
  arrive, so one response takes at most about ``max_response_seconds + timeout``).
- ``max_bytes``: byte cap per response; the body is streamed and dropped past the cap
  (status ``TOO_LARGE``).
- ``quorum``: N gateways must return identical bytes (``OK``); any two successful answers
  that differ give ``DISAGREEMENT``; fewer than N answers give ``UNAVAILABLE`` (or
  ``NOT_FOUND`` when every gateway said 404). Quorum 1: the first success wins.
- ``max_concurrency``: worker threads for `fetch_many`.
- ``offline=True``: no client is built, no socket is opened; every fetch is ``OFFLINE``.
"""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx

from verifier import __version__
from verifier.sources.cache import ByteCache
from verifier.sources.model import FetchResult, FetchStatus

DEFAULT_TIMEOUT = 10.0
DEFAULT_MAX_BYTES = 16 * 1024 * 1024
DEFAULT_RETRIES = 2
DEFAULT_BACKOFF = 0.5
DEFAULT_BACKOFF_CAP = 8.0
DEFAULT_RETRY_AFTER_CAP = 30.0
DEFAULT_MAX_CONCURRENCY = 8
DEFAULT_MAX_RESPONSE_SECONDS = 60.0
MAX_REDIRECTS = 3
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})

#: What may appear in a URL path segment as a tx id (Arweave ids are 43 base64url chars).
TX_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")


def normalize_gateway(gateway: str) -> str:
    """Full URL for a gateway: bare hosts get ``https://``; trailing slashes go."""
    g = gateway.strip()
    if not g:
        raise ValueError("empty gateway")
    if "://" not in g:
        g = "https://" + g
    scheme = g.split("://", 1)[0].lower()
    if scheme not in ("http", "https"):
        raise ValueError(f"gateway {gateway!r}: only http and https are supported")
    return g.rstrip("/")


@dataclass(frozen=True)
class _Outcome:
    """One gateway's final answer for one URL. `label` goes into per_gateway."""

    label: str
    data: bytes | None = None
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return self.data is not None


class GatewayClient:
    """Ordered-gateway fetcher with retries, caps, quorum, cache and an offline switch."""

    def __init__(
        self,
        gateways: Sequence[str],
        *,
        quorum: int = 1,
        timeout: float = DEFAULT_TIMEOUT,
        max_bytes: int = DEFAULT_MAX_BYTES,
        retries: int = DEFAULT_RETRIES,
        backoff: float = DEFAULT_BACKOFF,
        backoff_cap: float = DEFAULT_BACKOFF_CAP,
        retry_after_cap: float = DEFAULT_RETRY_AFTER_CAP,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        max_response_seconds: float = DEFAULT_MAX_RESPONSE_SECONDS,
        offline: bool = False,
        cache: ByteCache | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.gateways = tuple(dict.fromkeys(normalize_gateway(g) for g in gateways))
        self.offline = offline
        if not offline and not self.gateways:
            raise ValueError("at least one gateway is required unless offline")
        if quorum < 1 or (not offline and quorum > len(self.gateways)):
            raise ValueError(f"quorum must be 1..{len(self.gateways)} (number of gateways)")
        if max_concurrency < 1 or retries < 0 or max_bytes < 1:
            raise ValueError("max_concurrency >= 1, retries >= 0 and max_bytes >= 1 required")
        self.quorum = quorum
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.retries = retries
        self.backoff = backoff
        self.backoff_cap = backoff_cap
        self.retry_after_cap = retry_after_cap
        self.max_concurrency = max_concurrency
        self.max_response_seconds = max_response_seconds
        self.cache = cache
        self._sleep = sleep
        self._client: httpx.Client | None = None
        if not offline:
            self._client = httpx.Client(
                timeout=httpx.Timeout(timeout),
                follow_redirects=True,
                max_redirects=MAX_REDIRECTS,
                headers={"User-Agent": f"ario-verifier/{__version__}",
                         "Accept-Encoding": "identity"},
                limits=httpx.Limits(max_connections=max_concurrency * 2),
            )

    # -- public API ---------------------------------------------------------------------

    def fetch(self, tx_id: str) -> FetchResult:
        """Envelope bytes for `tx_id` via ``/raw/{tx}`` under the quorum rule."""
        return self._fetch(tx_id, "raw")

    def fetch_data_item(self, tx_id: str) -> FetchResult | None:
        """The complete signed ANS-104 data item via ``/tx/{tx}/data-item``.

        First success wins (the item authenticates itself). None when every gateway
        answered 404 (the extension is not served, or the item is unknown).
        """
        result = self._fetch(tx_id, "data-item")
        return None if result.status is FetchStatus.NOT_FOUND else result

    def fetch_many(self, tx_ids: Iterable[str], *, data_items: bool = False
                   ) -> dict[str, FetchResult | None]:
        """Fetch several tx ids with at most `max_concurrency` in flight; input order kept."""
        unique = list(dict.fromkeys(tx_ids))
        one = self.fetch_data_item if data_items else self.fetch
        if self.offline or len(unique) <= 1:
            return {tx: one(tx) for tx in unique}
        with ThreadPoolExecutor(max_workers=min(self.max_concurrency, len(unique))) as pool:
            return dict(zip(unique, pool.map(one, unique)))

    def close(self) -> None:
        """Close connections (no-op offline)."""
        if self._client is not None:
            self._client.close()

    def __enter__(self) -> GatewayClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals ----------------------------------------------------------------------

    def _fetch(self, tx_id: str, kind: str) -> FetchResult:
        if self.offline or self._client is None:
            return FetchResult(tx_id, FetchStatus.OFFLINE)
        if not isinstance(tx_id, str) or not TX_ID.fullmatch(tx_id):
            return FetchResult(str(tx_id), FetchStatus.NOT_FOUND, per_gateway=(("*", "invalid tx id"),))
        need = self.quorum if kind == "raw" else 1
        key = tx_id if kind == "raw" else f"{tx_id}#data-item"
        if self.cache is not None:
            hit = self.cache.get(key, min_quorum=need)
            if hit is not None:
                return FetchResult(tx_id, FetchStatus.OK, hit.data, f"cache:{hit.gateway}",
                                   (("cache", f"ok (from {hit.gateway})"),))
        path = f"/raw/{tx_id}" if kind == "raw" else f"/tx/{tx_id}/data-item"
        per: list[tuple[str, str]] = []
        agreed: list[tuple[str, bytes]] = []
        for gw in self.gateways:
            out = self._get_with_retries(gw + path)
            per.append((gw, out.label))
            if not out.ok:
                continue
            agreed.append((gw, out.data))  # type: ignore[arg-type]
            if len({d for _, d in agreed}) > 1:
                return FetchResult(tx_id, FetchStatus.DISAGREEMENT, per_gateway=tuple(per))
            if len(agreed) == need:
                origin = ",".join(g for g, _ in agreed)
                data = agreed[0][1]
                if self.cache is not None:
                    self.cache.put(key, data, origin, need)
                return FetchResult(tx_id, FetchStatus.OK, data, origin, tuple(per))
        labels = [label for _, label in per]
        if any(label == "too_large" for label in labels):
            status = FetchStatus.TOO_LARGE
        elif labels and all(label == "not_found" for label in labels):
            status = FetchStatus.NOT_FOUND
        else:
            status = FetchStatus.UNAVAILABLE
        return FetchResult(tx_id, status, per_gateway=tuple(per))

    def _get_with_retries(self, url: str) -> _Outcome:
        attempt = 0
        while True:
            out = self._get_once(url)
            retryable = out.label.startswith("http_") and int(out.label[5:]) in RETRY_STATUSES
            retryable = retryable or out.label == "connection_dropped"
            if not retryable or attempt >= self.retries:
                if attempt and not out.ok:
                    return _Outcome(f"{out.label} after {attempt + 1} attempts")
                return out
            if out.retry_after is not None:
                delay = min(out.retry_after, self.retry_after_cap)
            else:
                delay = min(self.backoff * (2 ** attempt), self.backoff_cap)
            self._sleep(max(0.0, delay))
            attempt += 1

    def _get_once(self, url: str) -> _Outcome:
        assert self._client is not None
        try:
            with self._client.stream("GET", url) as resp:
                if resp.status_code == 404:
                    return _Outcome("not_found")
                if resp.status_code != 200:
                    return _Outcome(f"http_{resp.status_code}",
                                    retry_after=_retry_after(resp.headers.get("retry-after")))
                encoding = resp.headers.get("content-encoding", "identity").strip().lower()
                if encoding not in ("", "identity"):
                    return _Outcome(f"bad_response: content-encoding {encoding[:32]}")
                declared = resp.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > self.max_bytes:
                    return _Outcome("too_large")
                return self._read_capped(resp)
        except httpx.TimeoutException:
            return _Outcome("timeout")
        except httpx.ConnectError:
            return _Outcome("connect_error")
        except httpx.TooManyRedirects:
            return _Outcome("bad_response: too many redirects")
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError):
            return _Outcome("connection_dropped")
        except httpx.HTTPError as exc:
            return _Outcome(f"bad_response: {type(exc).__name__}")

    def _read_capped(self, resp: httpx.Response) -> _Outcome:
        buf = bytearray()
        started = time.monotonic()
        for chunk in resp.iter_raw():
            buf += chunk
            if len(buf) > self.max_bytes:
                return _Outcome("too_large")
            if time.monotonic() - started > self.max_response_seconds:
                return _Outcome("timeout")
        return _Outcome("ok", bytes(buf))


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP-date); None if unusable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - time.time())
