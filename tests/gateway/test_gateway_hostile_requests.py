"""The local gateway under hostile HTTP, spoken over raw sockets on loopback (issue 8,
defect 11): every answer is JSON, no handler traceback, and uploads are capped."""

from __future__ import annotations

import json
import socket
import time

import pytest

from verifier.gateway.server import GatewayServer


@pytest.fixture()
def gw():
    server = GatewayServer("127.0.0.1", 0, None, max_uploads=2).start()
    yield server
    server.stop()


def _addr(gw: GatewayServer) -> tuple[str, int]:
    host, port = gw.url.removeprefix("http://").split(":")
    return host, int(port)


def _answer(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    data = b""
    sock.settimeout(5)
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
        head, sep, rest = data.partition(b"\r\n\r\n")
        if sep:
            headers = dict(line.decode("latin-1").split(": ", 1)
                           for line in head.split(b"\r\n")[1:])
            if len(rest) >= int(headers.get("Content-Length", "0")):
                break
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    headers = {k.lower(): v for k, v in (ln.decode("latin-1").split(": ", 1) for ln in lines[1:])}
    return int(lines[0].split()[1]), headers, body


def _raw(gw: GatewayServer, request: bytes) -> tuple[int, dict[str, str], bytes]:
    with socket.create_connection(_addr(gw), timeout=5) as sock:
        sock.sendall(request)
        return _answer(sock)


def _json_error(answer: tuple[int, dict[str, str], bytes], status: int, error: str) -> None:
    code, headers, body = answer
    assert code == status, body
    assert headers["content-type"] == "application/json"
    assert json.loads(body)["error"] == error


@pytest.mark.parametrize("length", [b"1" + b"0" * 5000, b"\xb2", b"\xb9" * 3, b"12a", b"-5"],
                         ids=["5001-digits", "superscript-2", "superscript-1s", "12a", "-5"])
def test_bad_content_length_is_400_json_not_a_traceback(gw, capfd, length):
    req = b"POST /tx/solana HTTP/1.1\r\nHost: x\r\nContent-Length: " + length + b"\r\n\r\n"
    _json_error(_raw(gw, req), 400, "bad_content_length")
    assert "Traceback" not in capfd.readouterr().err
    # the server keeps answering
    _json_error(_raw(gw, b"GET /raw/short HTTP/1.1\r\nHost: x\r\n\r\n"), 404, "not_found")


@pytest.mark.parametrize("method", [b"PUT", b"DELETE", b"PATCH", b"OPTIONS"])
def test_other_methods_get_json_405(gw, method):
    code, headers, body = _raw(gw, method + b" /tx/solana HTTP/1.1\r\nHost: x\r\n\r\n")
    _json_error((code, headers, body), 405, "method_not_allowed")
    assert headers["allow"] == "GET, HEAD, POST"


@pytest.mark.parametrize("request_line,status", [
    (b"GARBAGE\r\n\r\n", 400),
    (b"GET / HTTP/1.1 extra\r\n\r\n", 400),
    (b"GET / HTTP/x.y\r\n\r\n", 400),
    (b"GET / HTTP/9.9\r\n\r\n", 505),
    (b"BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n", 501),
])
def test_malformed_request_lines_get_json(gw, capfd, request_line, status):
    code, headers, body = _raw(gw, request_line)
    assert code == status
    assert headers["content-type"] == "application/json"
    assert b"<html" not in body.lower() and "error" in json.loads(body)
    assert "Traceback" not in capfd.readouterr().err


def test_concurrent_uploads_are_capped(gw):
    """Two uploads stall mid-body; a third is refused at once with 503, not buffered."""
    head = b"POST /tx/solana HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n"
    stalled = []
    try:
        for _ in range(2):
            s = socket.create_connection(_addr(gw), timeout=5)
            s.sendall(head + b"x" * 10)
            stalled.append(s)
        deadline = time.monotonic() + 5
        while gw._uploads._value and time.monotonic() < deadline:  # both handlers reading
            time.sleep(0.01)
        code, headers, body = _raw(gw, head)
        _json_error((code, headers, body), 503, "busy")
        assert headers["retry-after"] == "1"
        assert "2 uploads" in json.loads(body)["detail"]
        # finishing one stalled upload frees a slot: its answer is a JSON refusal of the junk
        stalled[0].sendall(b"x" * (100000 - 10))
        _json_error(_answer(stalled[0]), 400, "data_item_malformed")
    finally:
        for s in stalled:
            s.close()
    deadline = time.monotonic() + 5
    while gw._uploads._value < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert gw._uploads._value == 2  # every slot released
    assert gw.info()["maxConcurrentUploads"] == 2
