"""The read routes of the local gateway: what real ar.io gateways and Turbo expose, no more.

- ``GET|HEAD /raw/<id>`` (and ``/<id>``): an item's payload, or a bundle's data; single
  ``Range`` requests answered 206 with ``Content-Range`` (416 when unsatisfiable). For a
  bundled item: ``X-AR-IO-Root-Transaction-Id``, ``X-AR-IO-Root-Data-Item-Offset``,
  ``X-AR-IO-Root-Data-Offset``; always the gateway's claims ``X-AR-IO-Digest``, ``ETag``,
  ``X-AR-IO-Verified``; ``Content-Encoding`` from the item's own tag, as ar.io does.
- ``GET /v1/tx/<id>/offsets`` (Turbo): rootBundleId, startOffsetInRootBundle,
  rawContentLength, payloadDataStart; 404 until the item is bundled.
- ``GET /v1/tx/<id>/status`` and ``/tx/<id>/status`` (Turbo): status and bundleId.
- ``POST /graphql``: the subset in graphql.py.

`withhold` switches parts off to emulate gateways that lack them: ``root-offsets``,
``turbo-offsets``, ``signatures`` (GraphQL answers ``"<not-found>"``), ``graphql``.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, Callable

from ..core.ans104 import parse_data_item
from ..core.encoding import b64u_encode
from .graphql import GraphQLError, execute

WITHHOLDABLE = frozenset({"root-offsets", "turbo-offsets", "signatures", "graphql"})
ID = re.compile(r"[A-Za-z0-9_-]{43}")
_CTYPE = re.compile(r"[\x21-\x7e][\x20-\x7e]{0,254}")
_CODING = re.compile(r"[A-Za-z0-9._-]{1,32}")
_RANGE = re.compile(r"bytes=([0-9]{0,18})-([0-9]{0,18})")
MAX_GRAPHQL_BODY = 64 * 1024


def _text(b: bytes) -> str:
    return b.decode("utf-8", "replace")


class ReadRoutes:
    """Mixin for the request handler (which provides `_send`, `_json`, `_error`, `_body`)."""

    server: Any
    headers: Any

    def _read_route(self, parts: list[str]) -> bool:
        """Answer a GET/HEAD read route; False if `parts` names none."""
        gw = self.server.gateway
        gw.seal_if_due()
        if (len(parts) == 2 and parts[0] == "raw") or len(parts) == 1:
            self._raw(parts[-1])
            return True
        turbo = parts[1:] if parts[:1] == ["v1"] else parts
        if len(turbo) == 3 and turbo[0] == "tx" and turbo[2] in ("status", "offsets"):
            if turbo[2] == "offsets" and parts[:1] != ["v1"]:
                return False  # Turbo serves offsets under /v1 only
            item = self._lookup(turbo[1])
            if item is not None:
                self._turbo(item, turbo[2])
            return True
        return False

    # -- /raw ------------------------------------------------------------------------------

    def _raw(self, tx_id: str) -> None:
        gw = self.server.gateway
        if not ID.fullmatch(tx_id):
            self._error(404, "not_found", "not a transaction id")
            return
        item = gw.store.get(tx_id)
        extra: dict[str, str] = {"Accept-Ranges": "bytes"}
        if item is not None:
            body = item.data
            ctype = item.content_type or ""
            ctype = ctype if _CTYPE.fullmatch(ctype) else "application/octet-stream"
            digest = b64u_encode(hashlib.sha256(body).digest())
            extra.update({"X-AR-IO-Digest": digest, "ETag": f'"{digest}"',
                          "X-AR-IO-Verified": "true", "X-AR-IO-Stable": "false",
                          "X-Arweave-Id": item.id})
            coding = parse_data_item(item.raw).tag("Content-Encoding")
            if coding and _CODING.fullmatch(coding):
                extra["Content-Encoding"] = coding
            where = gw.store.placement(tx_id)
            if where is not None and "root-offsets" not in gw.withhold:
                extra.update({"X-AR-IO-Root-Transaction-Id": where.root_id,
                              "X-AR-IO-Root-Data-Item-Offset": str(where.item_offset),
                              "X-AR-IO-Root-Data-Offset": str(where.data_offset)})
            self._ranged(len(body), lambda a, n: body[a:a + n], ctype, extra)
            return
        size = gw.store.bundle_size(tx_id)
        if size is None:
            self._json(404, {"status": "NOT_FOUND", "error": "not_found", "id": tx_id})
            return
        self._ranged(size, lambda a, n: gw.store.bundle_bytes(tx_id, a, n),
                     "application/octet-stream", extra)

    def _ranged(self, size: int, read: Callable[[int, int], bytes], ctype: str,
                extra: dict[str, str]) -> None:
        """200 with the body, or 206/416 for one byte range (other Range forms: 200).
        `read(start, length)` gives the bytes, so a range never loads the whole body."""
        spec = (self.headers.get("Range") or "").strip()
        m = _RANGE.fullmatch(spec) if spec else None
        if m is None or (not m.group(1) and not m.group(2)):
            self._send(200, read(0, size), ctype, extra=extra)
            return
        if m.group(1):
            start = int(m.group(1))
            end = min(int(m.group(2)), size - 1) if m.group(2) else size - 1
        else:  # suffix range: the last N bytes
            start, end = max(0, size - int(m.group(2))), size - 1
        if start >= size or end < start:
            extra["Content-Range"] = f"bytes */{size}"
            self._error(416, "range_not_satisfiable", f"the resource has {size} bytes",
                        extra=extra)
            return
        extra["Content-Range"] = f"bytes {start}-{end}/{size}"
        self._send(206, read(start, end - start + 1), ctype, extra=extra)

    # -- Turbo -----------------------------------------------------------------------------

    def _turbo(self, item: Any, what: str) -> None:
        gw = self.server.gateway
        where = gw.store.placement(item.id)
        offsets: dict[str, Any] = {}
        if where is not None:
            offsets = {"rootBundleId": where.root_id,
                       "startOffsetInRootBundle": where.item_offset,
                       "parentDataItemId": None, "startOffsetInParentDataItemPayload": None,
                       "rawContentLength": len(item.raw), "payloadDataStart": item.data_offset,
                       "payloadContentType": item.content_type}
        if what == "offsets":
            if not offsets or "turbo-offsets" in gw.withhold:
                self._json(404, {"status": "NOT_FOUND", "error": "not_found", "id": item.id})
            else:
                self._json(200, {"id": item.id, **offsets})
            return
        status: dict[str, Any] = {"status": "CONFIRMED", "receivedAt": item.received_at,
                                  "info": "held by a local gateway emulator; not on Arweave"}
        if offsets:
            status["bundleId"] = where.root_id  # type: ignore[union-attr]
            if "turbo-offsets" not in gw.withhold:
                status.update(offsets)
        self._json(200, status)

    # -- GraphQL ---------------------------------------------------------------------------

    def _graphql(self) -> None:
        gw = self.server.gateway
        body = self._body(MAX_GRAPHQL_BODY)
        if body is None:
            return
        if "graphql" in gw.withhold:
            self._error(404, "not_found", "no such route")
            return
        gw.seal_if_due()
        try:
            answer = execute(body, self._node, gw.store.search)
        except GraphQLError as exc:
            self._json(400, {"errors": [{"message": str(exc)}]})
            return
        self._json(200, answer)

    def _node(self, tx_id: str) -> dict[str, Any] | None:
        gw = self.server.gateway
        stored = gw.store.get(tx_id) if ID.fullmatch(tx_id) else None
        if stored is None:
            return None
        item = parse_data_item(stored.raw)
        where = gw.store.placement(tx_id)
        signature = ("<not-found>" if "signatures" in gw.withhold
                     else b64u_encode(item.signature))
        return {
            "__typename": "Transaction",
            "id": item.id, "signature": signature, "signatureType": item.signature_type,
            "owner": {"key": b64u_encode(item.owner), "address": item.owner_address},
            "recipient": b64u_encode(item.target) if item.target is not None else "",
            "anchor": b64u_encode(item.anchor) if item.anchor is not None else "",
            "tags": [{"name": _text(n), "value": _text(v)} for n, v in item.tags],
            "data": {"size": str(len(item.data)), "type": stored.content_type},
            "bundledIn": {"id": where.root_id} if where is not None else None,
            "block": None,
        }
