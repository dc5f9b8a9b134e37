"""The ar.io Verify client reads its answer undecoded and bounded (issue 8, defect 6: no
automatic content decoding of evidence fetches): a compressed, oversized or hostile answer
is an error answer, never a crash or a decompression bomb."""

from __future__ import annotations

import gzip
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from verifier.audit.attest import MAX_ANSWER_BYTES, ArioVerifyClient


class Answering:
    def __init__(self, body: bytes, headers: dict[str, str]) -> None:
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a: object) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(200)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.mark.parametrize("body,headers,error", [
    (gzip.compress(b'{"txId":"x","level":3}'), {"Content-Encoding": "gzip"}, "content-encoded"),
    (gzip.compress(b" " * (64 << 20)), {"Content-Encoding": "gzip"}, "content-encoded"),
    (b" " * (MAX_ANSWER_BYTES + 1), {}, f"exceeds {MAX_ANSWER_BYTES} bytes"),
    (b"[" * 100_000, {}, "not JSON"),
    (b'{"level": 1' + b"0" * 5000 + b"}", {}, "not JSON"),
], ids=["gzip", "gzip-bomb", "oversized", "deep", "huge-int"])
def test_hostile_answers_are_errors(body, headers, error):
    srv = Answering(body, headers)
    try:
        with ArioVerifyClient(srv.url, retries=0, timeout=5) as client:
            answer = client.query("A" * 43)
    finally:
        srv.close()
    assert answer.level is None and error in (answer.error or "")
