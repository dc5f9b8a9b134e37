"""The producer side reads what it did not write through the kernel's intake: a hostile
upload service's answer or a hostile key file is a typed error, never an exception."""

from __future__ import annotations

import pytest
from sources.sources_httpd import Reply, ScriptedServer

from verifier.anchor.dataitem import Ed25519Signer, build_event_item
from verifier.anchor.upload import ErrorKind, upload_data_item
from verifier.cli.main import main

ENVELOPE = b'{"event_id":"e-1","event_type":"training_complete"}'
EVENT = {"event_type": "training_complete", "event_id": "e-1", "chain_prev": "GENESIS"}


@pytest.mark.parametrize("body,why", [(b"[" * 60_000, "nesting_too_deep"),
                                      (b'{"id": 1' + b"0" * 5000 + b"}", "number_out_of_range")],
                         ids=["deep", "bignum"])
def test_hostile_upload_answer_is_a_bad_response(body, why):
    item = build_event_item(ENVELOPE, Ed25519Signer(b"\x09" * 32), **EVENT)
    with ScriptedServer() as s:
        s.route("POST /tx/solana", Reply(200, body))
        out = upload_data_item(item, upload_url=s.url, token="solana", retries=0)
    assert out.error_kind is ErrorKind.BAD_RESPONSE and why in out.message


@pytest.mark.parametrize("body,why", [(b"[" * 100_000, "nesting_too_deep"),
                                      (b'{"seed": 1' + b"0" * 5000 + b"}", "number_out_of_range")],
                         ids=["deep", "bignum"])
def test_hostile_key_file_is_a_clean_usage_error(tmp_path, capsys, body, why):
    path = tmp_path / "k.json"
    path.write_bytes(body)
    assert main(["keys", "show", str(path)]) == 2
    err = capsys.readouterr().err
    assert why in err and "Traceback" not in err
