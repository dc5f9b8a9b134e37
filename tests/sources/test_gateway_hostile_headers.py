"""A hostile gateway's headers never raise in the client (issue 8 defect 1: `str.isdigit`
admits "²", which float() and int() refuse)."""

from __future__ import annotations

import pytest
from sources_httpd import Reply, ScriptedServer

from verifier.sources.gateway import GatewayClient
from verifier.sources.model import FetchStatus

TX = "A" * 43


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.mark.parametrize("value", ["\u00b2", "1" * 5000, "x"])
def test_unusable_retry_after_is_ignored(value):
    with ScriptedServer() as s:
        s.route(f"/raw/{TX}", Reply(503, b"busy", {"Retry-After": value}), Reply(200, b"ok"))
        sleeps = Sleeps()
        with GatewayClient([s.url], timeout=2.0, sleep=sleeps, retry_after_cap=1.0) as c:
            r = c.fetch(TX)
    assert r.status is FetchStatus.OK and r.data == b"ok"
    assert len(sleeps) == 1 and 0 <= sleeps[0] <= 1.0
