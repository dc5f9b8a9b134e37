"""Fetch the signed ANS-104 data item of a tx id the way real ar.io gateways allow.

Per gateway, in order (spec/binding.md §6.1):

1. ``HEAD /raw/<id>`` (or the headers of a ``GET /raw/<id>`` already made) → root offset
   headers R (``X-AR-IO-Root-Transaction-Id``), A
   (``-Root-Data-Item-Offset``), D (``-Root-Data-Offset``) and L (``Content-Length``);
   then ``GET /raw/<R>`` with ``Range: bytes=A-(D+L-1)``, requiring 206, the exact
   ``Content-Range`` and D+L-A bytes: the whole item.
2. Turbo's ``GET /v1/tx/<id>/offsets`` (rootBundleId, startOffsetInRootBundle,
   rawContentLength), then the same ranged read.
3. GraphQL ``transaction(id:)`` plus ``GET /raw/<id>``: the item rebuilt (gqlitem.py).

A candidate is accepted only if it parses, its id is the tx id and its signature
verifies; offsets and metadata are untrusted hints that can only make that fail. The first
accepted item is returned (and cached: it is bound). The audit then checks that its payload
equals the envelope bytes. When no gateway yields one, the result says what each step got
and carries the gateways' integrity headers as unproven claims.
"""

from __future__ import annotations

import re
from typing import Any

from verifier.core.ans104 import parse_data_item, verify_signature
from verifier.core.errors import Malformed
from verifier.core.intake import load
from verifier.sources.gqlitem import (
    SEARCH_QUERY, TRANSACTION_QUERY, rebuild_candidates, search_ids, search_variables,
)
from verifier.sources.model import FetchResult, FetchStatus

#: Longest data item header accepted from offsets (largest accepted type: 1076 + 4096 tags).
MAX_HEADER_BYTES = 16 * 1024
MAX_JSON_ANSWER = 256 * 1024
_DIGITS = re.compile(r"[0-9]{1,15}")
_ID = re.compile(r"[A-Za-z0-9_-]{43}")
#: Headers of a /raw answer kept for the item fetch, and the ones shown only as claims.
OFFSET_HEADERS = ("x-ar-io-root-transaction-id", "x-ar-io-root-data-item-offset",
                  "x-ar-io-root-data-offset", "content-length")
CLAIM_HEADERS = ("x-ar-io-digest", "content-digest", "etag", "x-ar-io-verified",
                 "x-ar-io-trusted", "x-ar-io-stable")
#: Answers after which a gateway is not asked the fallback routes (each would wait again).
UNREACHABLE = ("connect_error", "timeout")
#: App-Name tags of the producers whose items a lost tx id may be searched among.
PRODUCER_APPS = ("ar-io-mlflow", "ario-verifier")


def _printable(value: str, cap: int = 120) -> str:
    return "".join(ch if " " <= ch <= "~" else "?" for ch in value[:cap])


def claims_of(headers: Any) -> tuple[tuple[str, str], ...]:
    """The gateway's integrity headers, sanitised: claims, never evidence."""
    return tuple((h, _printable(str(headers[h]))) for h in CLAIM_HEADERS if h in headers)


def check_candidate(raw: bytes, tx_id: str) -> str:
    """'' if `raw` is the signed item `tx_id` (id and signature), else why not."""
    try:
        item = parse_data_item(raw)
    except Malformed as exc:
        return f"not a data item ({exc.detail[:80]})"
    if item.id != tx_id:
        return f"bytes of another item ({item.id})"
    if not verify_signature(item):
        return "the item's signature does not verify"
    return ""


def _ranged_item(client: Any, gw: str, tx_id: str, root: str, start: int, length: int
                 ) -> tuple[bytes | None, str]:
    if not _ID.fullmatch(root):
        return None, "root id is not a transaction id"
    if root == tx_id:
        return None, "an L1 transaction (root = id), not a data item"
    if length < 1 or length > client.max_bytes:
        return None, f"item length {length} outside 1..{client.max_bytes}"
    end = start + length - 1
    ans = client.request("GET", f"{gw}/raw/{root}", headers={"Range": f"bytes={start}-{end}"},
                         accept=(206,), max_bytes=length)
    if not ans.ok:
        return None, f"ranged GET /raw/{root}: {ans.label}"
    got = (ans.headers.get("content-range") or "").strip()
    if not got.startswith(f"bytes {start}-{end}/") or len(ans.data) != length:
        return None, f"ranged GET answered {_printable(got, 60)!r} with {len(ans.data)} bytes"
    why = check_candidate(ans.data, tx_id)
    return (ans.data, "") if not why else (None, why)


def _int(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and _DIGITS.fullmatch(value):
        return int(value)
    return None


def _via_root_headers(client: Any, gw: str, tx_id: str, headers: Any) -> tuple[bytes | None, str]:
    root = headers.get("x-ar-io-root-transaction-id")
    if root is None:
        return None, "no root offset headers"
    a, d = (_int(headers.get(h)) for h in ("x-ar-io-root-data-item-offset",
                                           "x-ar-io-root-data-offset"))
    n = _int(headers.get("content-length"))
    if a is None or d is None or n is None or not 0 < d - a <= MAX_HEADER_BYTES:
        return None, "root offset headers unusable"
    item, why = _ranged_item(client, gw, tx_id, root.strip(), a, d - a + n)
    return item, why


def _json(client: Any, method: str, url: str, body: Any = None) -> tuple[Any, str]:
    ans = client.request(method, url, json_body=body, max_bytes=MAX_JSON_ANSWER)
    if not ans.ok:
        return None, ans.label
    try:
        return load(ans.data), ""
    except Malformed as exc:
        return None, f"answer is not usable JSON ({exc.reason.value})"


def _via_turbo(client: Any, gw: str, tx_id: str) -> tuple[bytes | None, str]:
    doc, why = _json(client, "GET", f"{gw}/v1/tx/{tx_id}/offsets")
    if doc is None:
        return None, why
    if not isinstance(doc, dict):
        return None, "answer is not an object"
    root, start, size = (doc.get("rootBundleId"), _int(doc.get("startOffsetInRootBundle")),
                         _int(doc.get("rawContentLength")))
    if not isinstance(root, str) or start is None or size is None:
        return None, "offsets incomplete"
    return _ranged_item(client, gw, tx_id, root, start, size)


def _via_graphql(client: Any, gw: str, tx_id: str) -> tuple[bytes | None, str]:
    doc, why = _json(client, "POST", f"{gw}/graphql",
                     {"query": TRANSACTION_QUERY, "variables": {"id": tx_id}})
    if doc is None:
        return None, why
    node = doc.get("data", {}).get("transaction") if isinstance(doc, dict) and isinstance(
        doc.get("data"), dict) else None
    if node is None:
        return None, "the gateway does not know the transaction"
    payload = client.request("GET", f"{gw}/raw/{tx_id}")
    if not payload.ok:
        return None, f"GET /raw: {payload.label}"
    candidates, why = rebuild_candidates(node, payload.data)
    for raw in candidates:
        if not check_candidate(raw, tx_id):
            return raw, ""
    return None, why or "the rebuilt item does not verify (metadata or payload differ)"


def _from_gateway(client: Any, gw: str, tx_id: str
                  ) -> tuple[bytes | None, str, tuple[tuple[str, str], ...]]:
    """(item, how it was found or why not, claims) from one gateway."""
    notes = []
    seen = client.take_offsets(gw, tx_id)  # sent with the /raw answer already read
    if seen:
        ok, label, headers = True, "ok", seen
    else:
        head = client.request("HEAD", f"{gw}/raw/{tx_id}")
        ok, label, headers = head.ok, head.label, head.headers
    claims = claims_of(headers)
    if ok:
        item, why = _via_root_headers(client, gw, tx_id, headers)
        if item is not None:
            return item, "root offsets + ranged /raw", claims
        notes.append(f"root offsets: {why}")
    elif label.startswith(UNREACHABLE):
        return None, f"HEAD /raw: {label} (gateway not asked further)", claims
    else:
        notes.append(f"HEAD /raw: {label}")
    for name, step in (("turbo offsets", _via_turbo), ("graphql", _via_graphql)):
        item, why = step(client, gw, tx_id)
        if item is not None:
            return item, name, claims
        notes.append(f"{name}: {why}")
    return None, "; ".join(notes), claims


def fetch_bound_item(client: Any, tx_id: str) -> FetchResult:
    """The signed item for `tx_id` from the cache or the first gateway that yields one."""
    if client.offline or client._client is None:
        return FetchResult(tx_id, FetchStatus.OFFLINE)
    if not isinstance(tx_id, str) or not _ID.fullmatch(tx_id):
        return FetchResult(str(tx_id), FetchStatus.NOT_FOUND, per_gateway=(("*", "invalid tx id"),))
    cache = client.cache
    if cache is not None:
        hit = cache.get(tx_id)
        if hit is not None:
            return FetchResult(tx_id, FetchStatus.OK, hit.item, f"cache:bound ({hit.origin})",
                               (("cache", "bound data item (id and signature re-checked)"),))
    per: list[tuple[str, str]] = []
    claims: list[tuple[str, str]] = []
    for gw in client.gateways:
        item, how, said = _from_gateway(client, gw, tx_id)
        claims += [(f"{gw} {h}", v) for h, v in said]
        if item is not None:
            origin = f"{gw} ({how})"
            per.append((gw, f"bound item via {how}"))
            if cache is not None:
                cache.put(tx_id, item, origin)
            return FetchResult(tx_id, FetchStatus.OK, item, origin, tuple(per), tuple(claims))
        per.append((gw, how))
    missing = all("HEAD /raw: not_found" in how for _, how in per)
    status = FetchStatus.NOT_FOUND if per and missing else FetchStatus.UNAVAILABLE
    return FetchResult(tx_id, status, per_gateway=tuple(per), claims=tuple(claims))


def find_by_event_id(client: Any, event_id: str, apps: tuple[str, ...] = PRODUCER_APPS
                     ) -> tuple[list[str], str]:
    """Tx ids the gateways index with tags Event-Id = `event_id` and App-Name in `apps`
    (GraphQL ``transactions(tags:)``), first gateway that answers; ([], why) otherwise."""
    if client.offline or client._client is None:
        return [], "offline: no gateway searched"
    notes = []
    for gw in client.gateways:
        doc, why = _json(client, "POST", f"{gw}/graphql",
                         {"query": SEARCH_QUERY, "variables": search_variables(event_id, apps)})
        if doc is None:
            notes.append(f"{gw}: {why}")
            continue
        ids = [i for i in search_ids(doc) if _ID.fullmatch(i)]
        if ids:
            return list(dict.fromkeys(ids)), ""
        notes.append(f"{gw}: no item tagged Event-Id {event_id[:80]!r}")
    return [], "; ".join(notes)
