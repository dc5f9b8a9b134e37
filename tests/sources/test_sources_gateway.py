"""GatewayClient against real loopback servers: retries, caps, quorum, fallback, offline."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from sources_httpd import Reply, ScriptedServer, dead_url

from verifier.sources.gateway import GatewayClient, normalize_gateway
from verifier.sources.model import FetchStatus

TX = "A" * 43
TX2 = "B" * 43
ROOT = Path(__file__).resolve().parents[2]


class Sleeps(list):
    """Records requested back-off delays instead of sleeping (injected, not patched)."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def client(*gws: str, **kw) -> GatewayClient:
    kw.setdefault("timeout", 2.0)
    kw.setdefault("sleep", Sleeps())
    return GatewayClient(list(gws), **kw)


def test_normalize_gateway():
    assert normalize_gateway("arweave.net/") == "https://arweave.net"
    assert normalize_gateway("http://127.0.0.1:9/") == "http://127.0.0.1:9"
    with pytest.raises(ValueError):
        normalize_gateway("ftp://x")
    with pytest.raises(ValueError):
        normalize_gateway("  ")


def test_ok_and_raw_bytes_without_decoding():
    with ScriptedServer() as s:
        s.route(f"/raw/{TX}", Reply(200, b'{"a": 1}'))
        with client(s.url) as c:
            r = c.fetch(TX)
        assert r.status is FetchStatus.OK
        assert r.data == b'{"a": 1}'
        assert r.origin == s.url
        assert r.per_gateway == ((s.url, "ok"),)
        assert s.request_headers[0]["Accept-Encoding"] == "identity"


def test_content_encoded_response_is_kept_not_decoded():
    """ar.io answers with the item's own Content-Encoding tag: those bytes were signed."""
    import gzip
    body = gzip.compress(b"{}")
    with ScriptedServer() as s:
        s.route(f"/raw/{TX}", Reply(200, body, {"Content-Encoding": "gzip"}))
        with client(s.url) as c:
            r = c.fetch(TX)
    assert r.status is FetchStatus.OK and r.data == body
    assert "content-encoding 'gzip' kept, not decoded" in r.per_gateway[0][1]


def test_429_then_200_honours_retry_after():
    with ScriptedServer() as s:
        s.route(f"/raw/{TX}", Reply(429, b"slow down", {"Retry-After": "3"}), Reply(200, b"ok"))
        sleeps = Sleeps()
        with client(s.url, sleep=sleeps) as c:
            r = c.fetch(TX)
        assert r.status is FetchStatus.OK and r.data == b"ok"
        assert sleeps == [3.0]
        assert s.hits[f"/raw/{TX}"] == 2


def test_retry_after_is_capped_and_real_sleep_happens():
    with ScriptedServer() as s:
        s.route(f"/raw/{TX}", Reply(429, b"", {"Retry-After": "3600"}), Reply(200, b"ok"))
        t0 = time.monotonic()
        with GatewayClient([s.url], retry_after_cap=0.2, timeout=2.0) as c:
            r = c.fetch(TX)
        elapsed = time.monotonic() - t0
    assert r.status is FetchStatus.OK
    assert 0.2 <= elapsed < 5


def test_5xx_retry_with_exponential_backoff_then_gives_up():
    with ScriptedServer() as s:
        s.route(f"/raw/{TX}", Reply(503, b"down"))
        sleeps = Sleeps()
        with client(s.url, sleep=sleeps, retries=3, backoff=0.5, backoff_cap=1.5) as c:
            r = c.fetch(TX)
        assert r.status is FetchStatus.UNAVAILABLE
        assert sleeps == [0.5, 1.0, 1.5]
        assert s.hits[f"/raw/{TX}"] == 4
        assert r.per_gateway == ((s.url, "http_503 after 4 attempts"),)


def test_5xx_then_success():
    with ScriptedServer() as s:
        s.route(f"/raw/{TX}", Reply(500), Reply(502), Reply(200, b"x"))
        with client(s.url) as c:
            assert c.fetch(TX).data == b"x"


def test_non_retryable_status_not_retried():
    with ScriptedServer() as s:
        s.route(f"/raw/{TX}", Reply(403, b"no"))
        with client(s.url) as c:
            r = c.fetch(TX)
        assert r.status is FetchStatus.UNAVAILABLE
        assert s.hits[f"/raw/{TX}"] == 1


def test_timeout_falls_back_to_next_gateway():
    with ScriptedServer() as slow, ScriptedServer() as fast:
        slow.route(f"/raw/{TX}", Reply(200, b"late", delay=1.5))
        fast.route(f"/raw/{TX}", Reply(200, b"fast"))
        with client(slow.url, fast.url, timeout=0.3) as c:
            r = c.fetch(TX)
    assert r.status is FetchStatus.OK and r.data == b"fast" and r.origin == fast.url
    assert r.per_gateway[0] == (slow.url, "timeout")


def test_slow_drip_bounded_by_max_response_seconds():
    with ScriptedServer() as s:
        s.route(f"/raw/{TX}", Reply(200, b"x" * 50, drip=0.05))
        with client(s.url, timeout=1.0, max_response_seconds=0.3) as c:
            r = c.fetch(TX)
    assert r.status is FetchStatus.UNAVAILABLE
    assert r.per_gateway[0][1] == "timeout"


def test_byte_cap_declared_length():
    with ScriptedServer() as s:
        s.route(f"/raw/{TX}", Reply(200, b"x" * 1000))
        with client(s.url, max_bytes=999) as c:
            r = c.fetch(TX)
        assert r.status is FetchStatus.TOO_LARGE and r.data is None
        with client(s.url, max_bytes=1000) as c:
            assert c.fetch(TX).status is FetchStatus.OK


def test_byte_cap_streamed_without_length():
    with ScriptedServer() as s:
        s.route(f"/raw/{TX}", Reply(200, b"y" * 300_000, send_length=False))
        with client(s.url, max_bytes=100_000) as c:
            r = c.fetch(TX)
    assert r.status is FetchStatus.TOO_LARGE


def test_first_gateway_down_fallback():
    down = dead_url()
    with ScriptedServer() as s:
        s.route(f"/raw/{TX}", Reply(200, b"data"))
        with client(down, s.url) as c:
            r = c.fetch(TX)
    assert r.status is FetchStatus.OK and r.origin == s.url
    assert r.per_gateway == ((down, "connect_error"), (s.url, "ok"))


def test_all_gateways_404_is_not_found_and_mixed_is_unavailable():
    with ScriptedServer() as a, ScriptedServer() as b:
        with client(a.url, b.url) as c:
            assert c.fetch(TX).status is FetchStatus.NOT_FOUND
        with client(a.url, dead_url()) as c:
            assert c.fetch(TX).status is FetchStatus.UNAVAILABLE


def test_invalid_tx_id_never_hits_network():
    with ScriptedServer() as s:
        with client(s.url) as c:
            r = c.fetch("../etc/passwd")
        assert r.status is FetchStatus.NOT_FOUND and not s.hits


def test_quorum_agreement():
    with ScriptedServer() as a, ScriptedServer() as b, ScriptedServer() as d:
        for srv in (a, b, d):
            srv.route(f"/raw/{TX}", Reply(200, b"same"))
        with client(a.url, b.url, d.url, quorum=2) as c:
            r = c.fetch(TX)
        assert r.status is FetchStatus.OK and r.data == b"same"
        assert r.origin == f"{a.url},{b.url}"
        assert not d.hits  # quorum reached after two


def test_quorum_disagreement():
    with ScriptedServer() as a, ScriptedServer() as b:
        a.route(f"/raw/{TX}", Reply(200, b"one"))
        b.route(f"/raw/{TX}", Reply(200, b"two"))
        with client(a.url, b.url, quorum=2) as c:
            r = c.fetch(TX)
    assert r.status is FetchStatus.DISAGREEMENT and r.data is None
    assert [o for _, o in r.per_gateway] == ["ok", "ok"]


def test_quorum_not_reached_is_unavailable():
    with ScriptedServer() as a:
        a.route(f"/raw/{TX}", Reply(200, b"one"))
        with client(a.url, dead_url(), quorum=2) as c:
            r = c.fetch(TX)
    assert r.status is FetchStatus.UNAVAILABLE and r.data is None


def test_quorum_bounds():
    with pytest.raises(ValueError):
        GatewayClient(["http://127.0.0.1:1"], quorum=2)
    with pytest.raises(ValueError):
        GatewayClient([])


def test_fetch_many_bounded_concurrency():
    with ScriptedServer() as s:
        ids = [f"{i:043d}" for i in range(12)]
        for tx in ids:
            s.route(f"/raw/{tx}", Reply(200, tx.encode(), delay=0.2))
        t0 = time.monotonic()
        with client(s.url, max_concurrency=4) as c:
            res = c.fetch_many(ids + ids[:3])
        elapsed = time.monotonic() - t0
    assert list(res) == ids
    assert all(r.data == tx.encode() for tx, r in res.items())
    assert 0.55 < elapsed < 2.0  # 12 x 0.2 s at 4 wide ~ 0.6 s, not 2.4 s serial


def test_offline_returns_offline():
    c = GatewayClient(["http://127.0.0.1:1"], offline=True)
    assert c._client is None
    assert c.fetch(TX).status is FetchStatus.OFFLINE
    assert c.fetch_data_item(TX).status is FetchStatus.OFFLINE
    assert {r.status for r in c.fetch_many([TX, TX2]).values()} == {FetchStatus.OFFLINE}
    assert GatewayClient([], offline=True).fetch(TX).status is FetchStatus.OFFLINE


_CHILD = textwrap.dedent("""
    import json, socket, sys
    attempts = []
    class NoSocket(socket.socket):
        def __init__(self, *a, **k):
            attempts.append(a)
            raise OSError(1, "socket creation forbidden in this test")
    socket.socket = NoSocket
    def _no_conn(*a, **k):
        attempts.append(a)
        raise OSError(1, "socket creation forbidden in this test")
    socket.create_connection = _no_conn
    socket.getaddrinfo = _no_conn
    from verifier.sources.gateway import GatewayClient
    offline = sys.argv[1] == "offline"
    c = GatewayClient(["http://127.0.0.1:9", "arweave.net"], offline=offline, retries=0)
    tx = "A" * 43
    out = [c.fetch(tx).status.value, c.fetch_data_item(tx).status.value]
    out += [r.status.value for r in c.fetch_many([tx, "B" * 43]).values()]
    c.close()
    print(json.dumps({"statuses": out, "attempts": len(attempts)}))
""")


@pytest.mark.parametrize("mode", ["offline", "online"])
def test_offline_opens_no_socket_in_child_process(mode):
    proc = subprocess.run([sys.executable, "-c", _CHILD, mode], capture_output=True,
                          text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    if mode == "offline":
        assert got == {"statuses": ["offline"] * 4, "attempts": 0}
    else:  # control: the guard really does catch socket creation
        assert got["attempts"] > 0
        assert "offline" not in got["statuses"]
