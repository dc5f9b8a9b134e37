"""Fetch anchored bytes by tx id from an ordered list of ar.io gateways (httpx).

`GET {gateway}/raw/{tx}` is read as raw bytes: ``Accept-Encoding: identity`` is sent and
the body is read undecoded (``iter_raw``) even when the answer names a Content-Encoding —
ar.io gateways send the item's own Content-Encoding tag, and those encoded bytes are what
was signed. The signed data item that binds a tx id to its bytes is fetched through the
routes real gateways have (itemfetch.py). Every fetch returns a `FetchResult`; network
trouble never raises. Policy, all explicit and overridable:

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
- ``cache``: a `ByteCache` of *bound* data items only (see cache.py). A hit serves the
  item's payload for the tx id in place of the gateways; bytes from ``/raw`` alone are
  never cached, because nothing binds them to the tx id.
"""

from __future__ import annotations

import email.utils
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx

from verifier import __version__
from verifier.sources.cache import ByteCache
from verifier.sources.itemfetch import CLAIM_HEADERS, OFFSET_HEADERS
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

MAX_REMEMBERED_OFFSETS = 200_000

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
class Answer:
    """One gateway's final answer for one request. `label` goes into per_gateway;
    `headers` has lower-case names; `data` is None unless the status was accepted."""

    label: str
    data: bytes | None = None
    retry_after: float | None = None
    status: int = 0
    headers: Mapping[str, str] = field(default_factory=dict)

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
        # Root offset headers seen on /raw answers, (gateway, tx) -> headers: the item fetch
        # uses them instead of asking HEAD /raw again (untrusted hints either way).
        self._offsets: dict[tuple[str, str], dict[str, str]] = {}
        self._offsets_lock = threading.Lock()
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

    def fetch_data_item(self, tx_id: str) -> FetchResult:
        """The complete signed ANS-104 data item for `tx_id`, bound to it (its id and
        signature checked), from the cache or the gateways; see itemfetch.py."""
        from verifier.sources.itemfetch import fetch_bound_item

        return fetch_bound_item(self, tx_id)

    def fetch_many(self, tx_ids: Iterable[str], *, data_items: bool = False
                   ) -> dict[str, FetchResult]:
        """Fetch several tx ids with at most `max_concurrency` in flight; input order kept."""
        unique = list(dict.fromkeys(tx_ids))
        one = self.fetch_data_item if data_items else self.fetch
        if self.offline or len(unique) <= 1:
            return {tx: one(tx) for tx in unique}
        with ThreadPoolExecutor(max_workers=min(self.max_concurrency, len(unique))) as pool:
            return dict(zip(unique, pool.map(one, unique)))

    def request(self, method: str, url: str, *, headers: Mapping[str, str] | None = None,
                json_body: object = None, accept: tuple[int, ...] = (200,),
                max_bytes: int | None = None) -> Answer:
        """One request under the retry, timeout and byte-cap policy; never raises.
        Statuses in `accept` give `data` (b"" for HEAD); 404 is labelled not_found."""
        if self._client is None:
            return Answer("offline")
        return self._with_retries(lambda: self._once(method, url, headers, json_body, accept,
                                                     max_bytes or self.max_bytes))

    def _remember_offsets(self, gw: str, tx_id: str, headers: Mapping[str, str]) -> None:
        if OFFSET_HEADERS[0] not in headers:
            return
        with self._offsets_lock:
            if len(self._offsets) < MAX_REMEMBERED_OFFSETS:
                self._offsets[(gw, tx_id)] = {h: headers[h] for h in OFFSET_HEADERS
                                              + CLAIM_HEADERS if h in headers}

    def take_offsets(self, gw: str, tx_id: str) -> dict[str, str] | None:
        """The root offset headers `gw` sent with ``/raw/<tx_id>`` (once), or None."""
        with self._offsets_lock:
            return self._offsets.pop((gw, tx_id), None)

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
        if self.cache is not None:
            hit = self.cache.get(tx_id)
            if hit is not None:  # a bound item: its payload is the tx's bytes
                origin = f"cache:bound ({hit.origin})"
                return FetchResult(tx_id, FetchStatus.OK, hit.data, origin,
                                   (("cache", "bound data item (id and signature re-checked)"),))
        need = self.quorum
        path = f"/raw/{tx_id}"
        per: list[tuple[str, str]] = []
        agreed: list[tuple[str, bytes]] = []
        for gw in self.gateways:
            out = self._get_with_retries(gw + path)
            per.append((gw, out.label))
            if not out.ok:
                continue
            self._remember_offsets(gw, tx_id, out.headers)
            agreed.append((gw, out.data))  # type: ignore[arg-type]
            if len({d for _, d in agreed}) > 1:
                return FetchResult(tx_id, FetchStatus.DISAGREEMENT, per_gateway=tuple(per))
            if len(agreed) == need:
                origin = ",".join(g for g, _ in agreed)
                return FetchResult(tx_id, FetchStatus.OK, agreed[0][1], origin, tuple(per))
        labels = [label for _, label in per]
        if any(label == "too_large" for label in labels):
            status = FetchStatus.TOO_LARGE
        elif labels and all(label == "not_found" for label in labels):
            status = FetchStatus.NOT_FOUND
        else:
            status = FetchStatus.UNAVAILABLE
        return FetchResult(tx_id, status, per_gateway=tuple(per))

    def _get_with_retries(self, url: str) -> Answer:
        return self._with_retries(lambda: self._once("GET", url, None, None, (200,),
                                                     self.max_bytes))

    def _with_retries(self, once: Callable[[], Answer]) -> Answer:
        attempt = 0
        while True:
            out = once()
            retryable = out.label.startswith("http_") and int(out.label[5:]) in RETRY_STATUSES
            retryable = retryable or out.label == "connection_dropped"
            if not retryable or attempt >= self.retries:
                if attempt and not out.ok:
                    return Answer(f"{out.label} after {attempt + 1} attempts", status=out.status)
                return out
            if out.retry_after is not None:
                delay = min(out.retry_after, self.retry_after_cap)
            else:
                delay = min(self.backoff * (2 ** attempt), self.backoff_cap)
            self._sleep(max(0.0, delay))
            attempt += 1

    def _once(self, method: str, url: str, headers: Mapping[str, str] | None,
              json_body: object, accept: tuple[int, ...], cap: int) -> Answer:
        assert self._client is not None
        try:
            with self._client.stream(method, url, headers=headers, json=json_body) as resp:
                status = resp.status_code
                kept = {k.lower(): v for k, v in resp.headers.items()}
                if status not in accept:
                    label = "not_found" if status == 404 else f"http_{status}"
                    return Answer(label, retry_after=_retry_after(resp.headers.get("retry-after")),
                                  status=status, headers=kept)
                if method == "HEAD":
                    return Answer("ok", b"", status=status, headers=kept)
                declared = resp.headers.get("content-length", "")
                if declared.isascii() and declared.isdigit() and len(declared) < 19 \
                        and int(declared) > cap:
                    return Answer("too_large", status=status, headers=kept)
                out = self._read_capped(resp, cap)
                if out.ok:
                    encoding = resp.headers.get("content-encoding", "").strip().lower()
                    label = "ok" if encoding in ("", "identity") else \
                        f"ok (content-encoding {encoding[:32]!r} kept, not decoded)"
                    return Answer(label, out.data, status=status, headers=kept)
                return out
        except httpx.TimeoutException:
            return Answer("timeout")
        except httpx.ConnectError:
            return Answer("connect_error")
        except httpx.TooManyRedirects:
            return Answer("bad_response: too many redirects")
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError):
            return Answer("connection_dropped")
        except httpx.HTTPError as exc:
            return Answer(f"bad_response: {type(exc).__name__}")

    def _read_capped(self, resp: httpx.Response, cap: int) -> Answer:
        buf = bytearray()
        started = time.monotonic()
        for chunk in resp.iter_raw():
            buf += chunk
            if len(buf) > cap:
                return Answer("too_large")
            if time.monotonic() - started > self.max_response_seconds:
                return Answer("timeout")
        return Answer("ok", bytes(buf))


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP-date); None if unusable."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # isdigit alone admits "²", which float refuses
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - time.time())
