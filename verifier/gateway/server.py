"""A local Turbo-upload + ar.io-gateway emulator backed by SQLite (stdlib http.server).

Routes (the read routes are those of real ar.io gateways and Turbo; see reads.py):
  POST /tx[/<token>], /v1/tx[/<token>]  accept a raw ANS-104 data item, verify it with
      `verifier.core.ans104` (400 + JSON error if it does not verify), store it and answer
      a Turbo-style receipt signed with the gateway's own RSA key ("Bundlr" layout, salt 0)
  GET|HEAD /raw/<id>, /<id>       an item's payload or a bundle's data; Range; root offsets
  GET /v1/tx/<id>/offsets         Turbo offsets of a bundled item
  GET /v1/tx/<id>/status, /tx/<id>/status   {"status": "CONFIRMED", "bundleId": ...}
  POST /graphql                   transaction(id:), transactions(ids:, tags:, first:, after:)
  GET /, /info                    {"addresses": {"arweave": <receipt signer>}, ...}
  POST /__admin/faults            (only with admin=True) queue faults, JSON {"faults": [...]}

Received items are sealed into a real ANS-104 bundle (its own id, stored bytes) before the
next read (`auto_seal`; else call `seal()`), so the offsets it reports are real. There is
no route for a complete signed item: like a real gateway, it is rebuilt from the root
bundle's bytes (or GraphQL metadata) by the verifier.

Limits: an upload body is at most `max_item_bytes` (413 beyond) and at most `max_uploads`
uploads are read at once (503 + Retry-After beyond), so memory held by request bodies is
bounded by max_uploads x max_item_bytes (default 4 x 32 MiB). Every answer, including
http.server's own errors (malformed request line, unsupported method), is JSON.

The receipt key is RSA-2048 by default: Turbo uses RSA-4096, but generating one takes
seconds and a local emulator gains nothing from it (``key_bits=4096`` is available).
Nothing is ever posted to Arweave; ``deadlineHeight`` is `block_height` + 200.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterable

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from .. import __version__
from ..core.encoding import b64u_encode
from ..core.receipt import receipt_message, signer_address
from .faults import Fault
from .reads import ID, WITHHOLDABLE, ReadRoutes
from .store import Store, StoredItem
from .uploads import UploadRoutes

RECEIPT_VERSION = "0.2.0"
DEADLINE_INCREMENT = 200
#: Uploads read at the same time (each up to max_item_bytes in memory); more get 503.
DEFAULT_MAX_UPLOADS = 4


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    gateway: "GatewayServer"

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, (BrokenPipeError, ConnectionResetError, TimeoutError)):
            return  # the client went away (e.g. it timed out); nothing to report
        if self.gateway._stopping.is_set():
            return  # requests cut short by stop()
        super().handle_error(request, client_address)


class _HTTPServer6(_HTTPServer):
    address_family = socket.AF_INET6


class _Handler(ReadRoutes, UploadRoutes, BaseHTTPRequestHandler):
    server: _HTTPServer
    protocol_version = "HTTP/1.1"
    timeout = 30
    server_version = "ario-verifier-gateway/" + __version__

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        if not self.server.gateway.quiet:
            super().log_message(format, *args)

    # -- responses ---------------------------------------------------------------------

    def _send(self, status: int, body: bytes, ctype: str, extra: dict[str, str] | None = None,
              close: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Content-Type-Options", "nosniff")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        # Headers and body in one write: two small writes per answer meet the client's
        # delayed ACK (Nagle), about 40 ms per request on loopback.
        if not hasattr(self, "_headers_buffer"):  # an HTTP/0.9 request: body only
            self.wfile.write(body)
            return
        self._headers_buffer.append(b"\r\n")
        if self.command != "HEAD":
            self._headers_buffer.append(body)
        self.flush_headers()

    def _json(self, status: int, obj: Any, **kw: Any) -> None:
        body = json.dumps(obj, separators=(",", ":")).encode()
        self._send(status, body, "application/json", **kw)

    def _error(self, status: int, error: str, detail: str = "", **kw: Any) -> None:
        self._json(status, {"error": error, "detail": detail}, **kw)

    def send_error(self, code: int, message: str | None = None,
                   explain: str | None = None) -> None:
        """http.server's own errors (malformed request line, header overflow, unknown
        method) answered as JSON like every other answer, then the connection closed."""
        self.close_connection = True
        if not getattr(self, "command", None):
            self.command = "GET"  # a request line too broken to name a method
        self.request_version = self.protocol_version  # a status line even for "HTTP/0.9"
        error = {400: "bad_request", 414: "uri_too_long", 431: "headers_too_large",
                 501: "not_implemented", 505: "http_version_not_supported"}
        detail = "".join(ch for ch in (message or "")[:200] if " " <= ch <= "~")
        self._error(code, error.get(code, "error"), detail, close=True)

    def _method_not_allowed(self) -> None:
        if self.headers.get("Content-Length") is not None:
            self.close_connection = True  # the body is not read
        self._error(405, "method_not_allowed", f"{self.command} is not supported",
                    extra={"Allow": "GET, HEAD, POST"}, close=True)

    do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_TRACE = do_CONNECT = _method_not_allowed

    def _fault(self) -> bool:
        """Apply the next queued fault; True if it answered the request."""
        fault = self.server.gateway._next_fault()
        if fault is None:
            return False
        if fault.delay:
            self.server.gateway._stopping.wait(fault.delay)
        if fault.status is None:
            return False
        if self.command == "POST" and self._body(self.server.gateway.max_item_bytes) is None:
            return True  # _body already answered
        extra = {"Retry-After": fault.retry_after} if fault.retry_after is not None else None
        self._error(fault.status, "injected_fault", f"injected HTTP {fault.status}",
                    extra=extra, close=True)
        return True

    # -- routes ------------------------------------------------------------------------

    def do_GET(self) -> None:  # noqa: N802
        path = self.path.split("?", 1)[0]
        if self._fault():
            return
        if path in ("/", "/info"):
            self._json(200, self.server.gateway.info())
            return
        if not self._read_route([p for p in path.split("/") if p]):
            self._error(404, "not_found", "no such route")

    do_HEAD = do_GET

    def _lookup(self, item_id: str) -> StoredItem | None:
        if not ID.fullmatch(item_id):
            self._error(404, "not_found", "not a data item id")
            return None
        item = self.server.gateway.store.get(item_id)
        if item is None:
            self._json(404, {"status": "NOT_FOUND", "error": "not_found", "id": item_id})
        return item

    def do_POST(self) -> None:  # noqa: N802
        path = self.path.split("?", 1)[0]
        gw = self.server.gateway
        if path == "/__admin/faults" and gw.admin:
            body = self._body(64 * 1024)
            if body is None:
                return
            try:
                specs = json.loads(body).get("faults", [])
                gw.inject_faults(*specs)
            except (ValueError, AttributeError, TypeError) as exc:
                self._error(400, "bad_fault", str(exc))
                return
            self._json(200, {"queued": gw.pending_faults()})
            return
        if path == "/graphql":
            if not self._fault():
                self._graphql()
            return
        if not gw._uploads.acquire(blocking=False):
            self._error(503, "busy", f"{gw.max_uploads} uploads are already being read; retry",
                        extra={"Retry-After": "1"}, close=True)
            return
        try:
            self._upload(path)
        finally:
            gw._uploads.release()


class GatewayServer:
    """The gateway as an object: ``GatewayServer(host, port, db_path).start()`` ... ``.stop()``.

    `faults` pre-queues injected faults (see `Fault`); `inject_faults` adds more at run
    time and `admin=True` also exposes ``POST /__admin/faults``.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, db_path: str | None = None, *,
                 key_bits: int = 2048, faults: Iterable[Fault | int | dict] = (),
                 admin: bool = False, max_item_bytes: int = 32 * 1024 * 1024,
                 block_height: int = 1_600_000, quiet: bool = True,
                 max_uploads: int = DEFAULT_MAX_UPLOADS, auto_seal: bool = True,
                 withhold: Iterable[str] = ()) -> None:
        if max_uploads < 1:
            raise ValueError("max_uploads must be at least 1")
        self.max_uploads = max_uploads
        self.withhold = frozenset(withhold)
        if not self.withhold <= WITHHOLDABLE:
            raise ValueError(f"withhold: unknown {sorted(self.withhold - WITHHOLDABLE)}")
        self.auto_seal = auto_seal
        self._unsealed = threading.Event()
        self._unsealed.set()  # a persisted store may hold items not yet bundled
        self._uploads = threading.BoundedSemaphore(max_uploads)
        self.store = Store(db_path)
        self._key = self.store.receipt_key(key_bits)
        pub = self._key.public_key().public_numbers().n
        self.public = pub.to_bytes((pub.bit_length() + 7) // 8, "big")
        self.signer_address = signer_address(self.public)
        self.admin, self.max_item_bytes, self.quiet = admin, max_item_bytes, quiet
        self.block_height = block_height
        self._faults: deque[Fault] = deque()
        self._fault_lock = threading.Lock()
        self._stopping = threading.Event()
        self.inject_faults(*faults)
        server_cls = _HTTPServer6 if ":" in host else _HTTPServer
        self._httpd = server_cls((host, port), _Handler)
        self._httpd.gateway = self
        self._thread: threading.Thread | None = None
        h, p = self._httpd.server_address[:2]
        self.url = f"http://[{h}]:{p}" if ":" in str(h) else f"http://{h}:{p}"

    # -- faults ------------------------------------------------------------------------

    def inject_faults(self, *specs: Fault | int | dict) -> None:
        """Queue faults answered by the next requests, in order."""
        faults = [Fault.of(s) for s in specs]
        with self._fault_lock:
            self._faults.extend(faults)

    def pending_faults(self) -> int:
        with self._fault_lock:
            return len(self._faults)

    def _next_fault(self) -> Fault | None:
        with self._fault_lock:
            return self._faults.popleft() if self._faults else None

    # -- bundles -------------------------------------------------------------------------

    def seal(self) -> str | None:
        """Seal the items received since the last seal into one ANS-104 bundle; its id."""
        self._unsealed.clear()
        return self.store.seal_pending()

    def seal_if_due(self) -> None:
        """With `auto_seal`, bundle pending items before a read (so reads see offsets)."""
        if self.auto_seal and self._unsealed.is_set():
            self.seal()

    # -- receipts ------------------------------------------------------------------------

    @staticmethod
    def now_ms() -> int:
        return int(time.time() * 1000)

    def sign_receipt(self, item_id: str, owner_address: str) -> dict[str, Any]:
        """A Turbo-style receipt for `item_id`, signed RSA-PSS salt 0 ("Bundlr" layout)."""
        receipt: dict[str, Any] = {
            "id": item_id, "timestamp": self.now_ms(), "version": RECEIPT_VERSION,
            "deadlineHeight": self.block_height + DEADLINE_INCREMENT,
            "dataCaches": ["local-gateway"], "fastFinalityIndexes": [], "winc": "0",
        }
        msg = receipt_message(receipt)
        assert msg is not None
        sig = self._key.sign(msg, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=0),
                             hashes.SHA256())
        receipt.update(owner=owner_address, public=b64u_encode(self.public),
                       signature=b64u_encode(sig))
        return receipt

    def info(self) -> dict[str, Any]:
        return {
            "version": __version__,
            "gateway": "ario-verifier local gateway emulator (not Arweave)",
            "addresses": {"arweave": self.signer_address},
            "receiptVersion": RECEIPT_VERSION,
            "receiptKeyBits": self._key.key_size,
            "deadlineHeightIncrement": DEADLINE_INCREMENT,
            "maxItemBytes": self.max_item_bytes,
            "maxConcurrentUploads": self.max_uploads,
        }

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> "GatewayServer":
        """Serve in a background daemon thread; returns self."""
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,),
                                        name="ario-gateway", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted."""
        try:
            self._httpd.serve_forever()
        finally:
            self._close()

    def stop(self) -> None:
        """Stop serving, close the socket and the database."""
        self._stopping.set()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=10)
            self._thread = None
        self._close()

    def _close(self) -> None:
        self._stopping.set()
        self._httpd.server_close()
        try:
            self.store.close()
        except Exception:  # noqa: BLE001 - closing twice is harmless
            pass

    def __enter__(self) -> "GatewayServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def serve(host: str = "127.0.0.1", port: int = 0, db: str | None = None, **options: Any) -> None:
    """Run the gateway in the foreground; the first stdout line is its base URL."""
    gw = GatewayServer(host, port, db, **options)
    print(gw.url, flush=True)
    try:
        gw.serve_forever()
    except KeyboardInterrupt:
        pass
