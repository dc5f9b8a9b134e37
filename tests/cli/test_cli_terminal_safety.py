"""Untrusted text never reaches the terminal raw (issue 8 defect 3): an envelope, a bundle
or a manifest cannot draw a fake "VERIFIED" line under a FAILED heading, move the cursor,
recolour the screen or reorder text with bidi overrides."""

from __future__ import annotations

import hashlib
import json

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st
from nacl.signing import SigningKey

from verifier.cli.main import main
from verifier.core.textsafe import shown
from verifier.sources.bundle import write_bundle
from verifier.sources.model import Collection, EventRecord

FAKE = "\r\nVERIFIED: every event verified\x1b[2K\x1b[1;32m\u202e\x9b31m\u2028"
RAW = ("\x1b", "\r", "\u202e", "\x9b", "\u2028")


def evil_envelope(event_id: str) -> bytes:
    """An ario.agent/v1 envelope signed over one payload and shipped with another."""
    key = SigningKey(b"\x07" * 32)
    env = {"spec_version": "ario.agent/v1", "event_id": event_id,
           "event_type": "agent_action" + FAKE, "payload": {"x": 1},
           "payload_hash": hashlib.sha256(rfc8785.dumps({"x": 1})).hexdigest(),
           "public_key": key.verify_key.encode().hex()}
    env["signature"] = key.sign(rfc8785.dumps(env)).signature.hex()
    env["payload"] = {"x": 2}
    return json.dumps(env).encode()


def assert_terminal_safe(text: str, status: str) -> None:
    for ch in RAW:
        assert ch not in text, repr(ch)
    lines = text.split("\n")
    assert not any(line.lstrip().startswith("VERIFIED") for line in lines)
    assert status in text


def test_envelope_event_id_cannot_fake_a_verdict(tmp_path, capsys):
    doc = tmp_path / "evil.json"
    doc.write_bytes(evil_envelope("e1" + FAKE))
    assert main(["verify", str(doc)]) == 1
    out = capsys.readouterr().out
    assert_terminal_safe(out, "FAILED")
    assert "event_id: e1\\r\\nVERIFIED: every event verified\\x1b[2K" in out


def test_bundle_labels_and_target_cannot_fake_a_verdict(tmp_path, capsys):
    col = Collection(target="models:/m/1" + FAKE)
    col.records.append(EventRecord(tx_id="T" * 43, envelope=evil_envelope("e1" + FAKE),
                                   hints={"event_type": "training_complete" + FAKE,
                                          "event_id": "e1" + FAKE}))
    path = write_bundle(col, tmp_path / "evil" / "b.zip").path
    for argv in (["audit", str(path), "-q"], ["verify", str(path)]):
        code = main(argv)
        out = capsys.readouterr().out
        assert code != 0
        assert_terminal_safe(out, "MALFORMED" if code == 2 else "FAILED")
        assert "claimed target" in out and "models:/m/1\\r\\nVERIFIED" in out


def test_json_output_is_ascii_and_carries_the_text_exactly(tmp_path, capsys):
    doc = tmp_path / "evil.json"
    doc.write_bytes(evil_envelope("e1" + FAKE))
    assert main(["verify", str(doc), "--json"]) == 1
    out = capsys.readouterr().out
    assert out.isascii() and out.count("\n") == 1
    assert json.loads(out)["subject"]["event_id"] == "e1" + FAKE


def test_file_name_from_the_command_line_is_escaped(tmp_path, capsys):
    doc = tmp_path / "x\x1b[2Ky.json"
    doc.write_text('{"spec_version":"ario.agent/v1"}')
    main(["verify", str(doc)])
    out = capsys.readouterr().out
    assert "\x1b" not in out and "x\\x1b[2Ky.json" in out


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8") | st.sampled_from(list(FAKE) + ["\ud800"])))
def test_shown_is_one_printable_line_and_idempotent(text):
    out = shown(text)
    assert out.isprintable() and "\n" not in out
    assert shown(out) == out
    if text.isprintable():
        assert out == text


@pytest.mark.parametrize("ch,esc", [("\x00", "\\x00"), ("\x7f", "\\x7f"), ("\x85", "\\x85"),
                                    ("\u200b", "\\u200b"), ("\u2066", "\\u2066"),
                                    ("\U000e0001", "\\U000e0001"), ("\t", "\\t")])
def test_shown_escapes_controls_and_format_characters(ch, esc):
    assert shown(f"a{ch}b") == f"a{esc}b"
