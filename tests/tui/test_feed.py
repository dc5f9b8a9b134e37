"""The audit child's protocol, driven in-process over real pipes: rows stream in batches
before the verdict, details and exports are answered, usage errors and a vanished app
are handled, and the results kept for details live in a temporary file."""

from __future__ import annotations

import argparse
import json
import threading
from multiprocessing import Pipe

from verifier.cli.browse_cmd import mode_of
from verifier.cli.main import build_parser
from verifier.core.reasons import Status
from verifier.tui import feed
from verifier.tui.feed import ResultStore, Spec, serve

ENV = {"spec_version": "ario.mlflow/v1", "event_type": "prediction", "event_id": "e",
       "subject": {}, "payload_hash": "00" * 32, "previous_hash": "GENESIS",
       "signed_at": "2026-01-01T00:00:00Z", "public_key": "00" * 32, "signature": "00" * 64}


def start(argv):
    args = build_parser().parse_args(["browse", *argv])
    ns = argparse.Namespace(**{k: v for k, v in vars(args).items() if k != "func"})
    inbox, out = Pipe(duplex=False)
    requests, outbox = Pipe(duplex=False)
    t = threading.Thread(target=serve, args=(Spec(mode_of(args), ns), out, requests), daemon=True)
    t.start()
    return inbox, outbox, t


def test_rows_stream_in_batches_before_the_verdict_then_requests_are_answered(tmp_path):
    path = tmp_path / "many.jsonl"
    n = feed.FLUSH_ROWS * 2 + 10
    path.write_text("".join(json.dumps({**ENV, "event_id": f"e{i}"}) + "\n" for i in range(n)))
    inbox, outbox, thread = start([str(path)])
    kinds, rows = [], 0
    while True:
        msg = inbox.recv()
        kinds.append(msg[0])
        if msg[0] == "rows":
            rows += len(msg[1])
        if msg[0] == "summary":
            summary = msg[1]
            break
    assert kinds[0] == "start" and kinds.count("rows") >= 3 and rows == n
    assert summary.status is Status.FAILED and summary.reason.value == "signature_invalid"
    outbox.send(("detail", 5))
    detail = inbox.recv()[1]
    assert detail.seq == 5 and detail.result.status is Status.FAILED
    assert '"event_id": "e5"' in detail.envelope
    report = tmp_path / "out.json"
    outbox.send(("export", "json", str(report)))
    assert inbox.recv() == ("exported", "json", str(report), None)
    doc = json.loads(report.read_text())
    assert doc["status"] == "failed" and len(doc["events"]) == n
    outbox.send(("export", "json", str(tmp_path / "no" / "such" / "dir.json")))
    assert inbox.recv()[3].startswith("cannot write")
    outbox.close()  # the app leaves: the child ends
    thread.join(10)
    assert not thread.is_alive()


def test_usage_error_is_a_message(tmp_path):
    """A quorum larger than the gateway list cannot work: the app hears "usage", no verdict."""
    args = build_parser().parse_args([
        "browse", "models:/m/1", "--tracking-uri", f"sqlite:///{tmp_path / 'none.db'}",
        "--gateway", "http://127.0.0.1:9", "--quorum", "5"])
    ns = argparse.Namespace(**{k: v for k, v in vars(args).items() if k != "func"})
    inbox, out = Pipe(duplex=False)
    requests, outbox = Pipe(duplex=False)
    outbox.close()
    serve(Spec("audit", ns), out, requests)
    kind, text = inbox.recv()
    assert kind == "usage" and "quorum" in text


def test_result_store_round_trips_out_of_order():
    store = ResultStore()
    store.put(3, {"c": 3})
    store.put(0, {"a": 0})
    assert store.get(3) == {"c": 3} and store.get(0) == {"a": 0} and store.get(1) is None
    assert store.seqs() == [0, 3]
    store.close()


def test_an_overlong_jsonl_line_is_input_too_large_and_never_read_whole(tmp_path):
    path = tmp_path / "long.jsonl"
    path.write_text(json.dumps(ENV) + "\n" + json.dumps({**ENV, "event_id": "x" * 5000}) + "\n\n"
                    + json.dumps({**ENV, "event_id": "last"}) + "\n")
    inbox, outbox, thread = start([str(path), "--max-bytes", "1024"])
    rows = []
    while (msg := inbox.recv())[0] != "summary":
        if msg[0] == "rows":
            rows += msg[1]
    assert [r[0] for r in rows] == [0, 1, 2]  # the blank line is no event
    assert "input_too_large" in rows[1][2] and "signature_invalid" in rows[2][2]
    outbox.send(("detail", 2))
    assert '"event_id": "last"' in inbox.recv()[1].envelope
    outbox.close()
    thread.join(10)


def test_pdf_export_is_the_report_command_and_refuses_to_overwrite(tmp_path):
    from browse_util import vector

    bundle = tmp_path / "b.zip"
    bundle.write_bytes(bytes.fromhex(vector("record-mismatch-metric")["input"]["document_hex"]))
    inbox, outbox, thread = start([str(bundle)])
    while inbox.recv()[0] != "summary":
        pass
    pdf = tmp_path / "r.pdf"
    outbox.send(("export", "pdf", str(pdf)))
    assert inbox.recv() == ("exported", "pdf", str(pdf), None)
    assert pdf.read_bytes().startswith(b"%PDF-")
    outbox.send(("export", "pdf", str(pdf)))
    assert "exists" in inbox.recv()[3]
    outbox.close()
    thread.join(10)


def test_pdf_export_of_documents_says_it_covers_audits(tmp_path):
    path = tmp_path / "one.json"
    path.write_text(json.dumps(ENV))
    inbox, outbox, thread = start([str(path)])
    while inbox.recv()[0] != "summary":
        pass
    outbox.send(("export", "pdf", str(tmp_path / "r.pdf")))
    assert "covers audits" in inbox.recv()[3]
    outbox.close()
    thread.join(10)
