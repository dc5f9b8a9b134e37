"""The upload route of the local gateway (Turbo's ``POST /tx/<token>``), as a handler mixin.

An item is stored only when it parses and its signature verifies and the token can pay for
its signature type; the body is read only after a strict Content-Length check (1-18 ASCII
digits: ``str.isdigit`` admits "²", which ``int`` refuses, and ``int`` refuses more than
4,300 digits) — a bad length is a 400, never a traceback.
"""

from __future__ import annotations

import re
from typing import Any

from ..core.ans104 import parse_data_item, verify_signature
from ..core.errors import Malformed
from .store import StoredItem

_TOKEN_TYPES = {"arweave": {1}, "solana": {2, 4}}
_POST_PATH = re.compile(r"/(?:v1/)?tx(?:/([A-Za-z0-9_-]{1,32}))?/?")
_LENGTH = re.compile(r"[0-9]{1,18}")


class UploadRoutes:
    """Mixin for the request handler (which provides `_json`, `_error`, `_fault`)."""

    server: Any
    headers: Any
    rfile: Any
    close_connection: bool

    def _upload(self, path: str) -> None:
        gw = self.server.gateway
        if self._fault():
            return
        raw = self._body(gw.max_item_bytes)
        if raw is None:
            return
        m = _POST_PATH.fullmatch(path)
        if m is None:
            self._error(404, "not_found", "no such route")
            return
        token = m.group(1)
        if token is not None and token not in _TOKEN_TYPES:
            self._error(400, "unsupported_token", f"token {token!r} is not accepted")
            return
        try:
            item = parse_data_item(raw)
        except Malformed as exc:
            self._error(400, exc.reason.value, exc.detail)
            return
        if token is not None and item.signature_type not in _TOKEN_TYPES[token]:
            self._error(400, "token_mismatch",
                        f"signature type {item.signature_type} cannot be paid with {token}")
            return
        if not verify_signature(item):
            self._error(400, "data_item_signature_invalid", "the data item signature fails")
            return
        stored = gw.store.put(StoredItem(
            item.id, item.signature_type, item.owner_address, item.tag("Content-Type"),
            item.data_offset, raw, gw.sign_receipt(item.id, item.owner_address), gw.now_ms()),
            item.tags)
        gw._unsealed.set()
        self._json(200, stored.receipt)

    def _body(self, limit: int) -> bytes | None:
        """The request body, at most `limit` bytes; None once an error has been answered."""
        length = self.headers.get("Content-Length")
        if length is None:
            self._error(411, "length_required", "send a Content-Length", close=True)
            return None
        length = length.strip()
        if not _LENGTH.fullmatch(length):
            self._error(400, "bad_content_length",
                        "Content-Length must be 1 to 18 ASCII digits", close=True)
            return None
        n = int(length)
        if n > limit:
            self._error(413, "too_large", f"body exceeds {limit} bytes", close=True)
            return None
        body = self.rfile.read(n)
        if len(body) != n:
            self.close_connection = True
            return None
        return body
