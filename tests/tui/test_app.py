"""Pilot-driven tests of `ario-verifier browse` on real bundles (the audit runs in its real
child process): verdict, failures first, detail, diff, chain walk, copy, filter, search,
export, hostile input and markup injection, quit with the verdict's exit code."""

from __future__ import annotations

import json

import pytest

from browse_util import drive, until

from verifier.core.reasons import Status
from verifier.tui.detail import DetailScreen
from verifier.tui.dialogs import CopyScreen, FilterScreen, HelpScreen
from verifier.tui.widgets import EventTable



def _plain(app) -> str:
    lines = []
    for strip in app.screen._compositor.render_strips():
        lines.append("".join(seg.text for seg in strip))
    return "\n".join(lines)


def test_failed_bundle_shows_the_failure_first_and_its_diff(bundle):
    seen = {}

    async def script(pilot, app):
        seen["main"] = _plain(app)
        table = app.query_one("#events", EventTable)
        seen["first"] = app.index.rows[table.current]
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.detail is not None)
        await pilot.pause(0.1)
        seen["detail"] = _plain(app)
        seen["diff"] = app.screen.detail.diff
        await pilot.press("q")

    app = drive(bundle("record-mismatch-metric"), script)
    assert app.return_value == 1
    assert "✗ FAILED" in seen["main"] and "record_mismatch" in seen["main"]
    assert "signer pinned · receipt signer pinned" in seen["main"]
    assert seen["first"].status is Status.FAILED and seen["first"].reason == "record_mismatch"
    assert seen["diff"] and seen["diff"][0][0].startswith("metrics.")
    assert "anchored (signed)" in seen["detail"] and "current (MLflow)" in seen["detail"]
    assert "record_mismatch" in seen["detail"]


def test_walk_the_chain_and_copy_the_tx_id(bundle):
    seen = {}

    async def script(pilot, app):
        training = next(r.seq for r in app.index.rows.values() if r.event_type == "training_complete")
        app.open_event(training)
        await pilot.pause(0.2)
        await pilot.press("right_square_bracket")
        await pilot.pause(0.1)
        seen["after_next"] = app.screen.seq
        await pilot.press("left_square_bracket")
        await pilot.pause(0.1)
        seen["after_prev"] = app.screen.seq
        await pilot.press("left_square_bracket")  # GENESIS: stays, says so
        await pilot.pause(0.1)
        seen["at_root"] = app.screen.seq
        seen["training"] = training
        await pilot.press("y")
        await pilot.pause(0.1)
        seen["copy_screen"] = isinstance(app.screen, CopyScreen)
        seen["copy_text"] = _plain(app)
        seen["clipboard"] = app.clipboard
        await pilot.press("escape")
        await pilot.pause(0.05)
        await pilot.press("right_square_bracket")  # walk on, then back to the table
        await pilot.pause(0.1)
        seen["walked_to"] = app.screen.seq
        await pilot.press("escape")
        await pilot.pause(0.05)
        seen["back"] = isinstance(app.screen, DetailScreen)
        seen["selected"] = app.query_one("#events", EventTable).current

    app = drive(bundle("ok-stored-unpinned"), script)
    rows = app.index.rows
    nxt = rows[seen["after_next"]]
    assert nxt.previous_hash == rows[seen["training"]].tx_id
    assert seen["after_prev"] == seen["training"] == seen["at_root"]
    tx = rows[seen["training"]].tx_id
    assert seen["copy_screen"] and seen["clipboard"] == tx and tx in seen["copy_text"]
    assert "OSC 52" in seen["copy_text"]
    assert seen["back"] is False and seen["selected"] == seen["walked_to"]


def test_filter_search_sort_and_clear(bundle):
    seen = {}

    async def script(pilot, app):
        n = len(app.index)
        await pilot.press("f")
        await pilot.pause(0.1)
        assert isinstance(app.screen, FilterScreen)
        lists = app.screen.query("SelectionList")
        lists[1].select("prediction")
        await pilot.press("enter")
        await pilot.pause(0.1)
        seen["types"] = {app.index.rows[s].event_type for s in app.index.view}
        seen["line"] = _plain(app)
        await pilot.press("escape")
        await pilot.pause(0.1)
        seen["cleared"] = len(app.index.view) == n
        tx = app.index.rows[app.index.view[-1]].tx_id
        await pilot.press("slash")
        await pilot.press(*tx[:6])
        await pilot.press("enter")
        await pilot.pause(0.1)
        seen["search"] = [app.index.rows[s].tx_id for s in app.index.view]
        seen["tx"] = tx
        await pilot.press("escape", "s")
        await pilot.pause(0.1)
        seen["sort"] = app.index.query.sort

    drive(bundle("ok-stored-unpinned"), script)
    assert seen["types"] == {"prediction"}
    assert "type: prediction" in seen["line"]
    assert seen["cleared"]
    assert seen["tx"] in seen["search"] and all(t.lower().startswith(seen["tx"][:6].lower())
                                                for t in seen["search"])
    assert seen["sort"] == "type"


def test_hostile_bundle_is_a_malformed_verdict_inside_the_app(bundle):
    seen = {}

    async def script(pilot, app):
        seen["text"] = _plain(app)
        await pilot.press("a")
        await pilot.pause(0.1)
        seen["checks"] = _plain(app)
        await pilot.press("escape")
        await pilot.press("q")

    app = drive(bundle("not-a-zip"), script)
    assert app.return_value == 2
    assert "! MALFORMED" in seen["text"] and "bundle_malformed" in seen["text"]
    assert "no events" in seen["text"]
    assert "bundle_malformed" in seen["checks"]


def test_missing_file_is_incomplete_not_a_traceback(tmp_path):
    seen = {}

    async def script(pilot, app):
        seen["text"] = _plain(app)
        await pilot.press("q")

    app = drive([str(tmp_path / "gone.zip")], script)
    assert app.return_value == 2  # input_unreadable is malformed, as in `audit`
    assert "input_unreadable" in seen["text"]


def test_untrusted_strings_are_shown_literally(tmp_path):
    """`[bold]` markup, a bidi override and an escape byte in an envelope are shown as text."""
    env = {"spec_version": "ario.mlflow/v1", "event_type": "[bold red]pwn[/]\u202e\x1b[2J",
           "event_id": "e1", "subject": {}, "payload_hash": "00" * 32,
           "previous_hash": "GENESIS", "signed_at": "2026", "public_key": "00" * 32,
           "signature": "00" * 64}
    path = tmp_path / "envs.jsonl"
    path.write_text(json.dumps(env) + "\n" + "not json\n")
    seen = {}

    async def script(pilot, app):
        seen["main"] = _plain(app)
        await pilot.press("down", "enter")  # the malformed line 2 comes first
        await pilot.pause(0.5)
        seen["detail"] = _plain(app)

    app = drive([str(path)], script, size=(120, 30))
    assert app.verdict_code() == 2  # the unparseable line is malformed
    assert "[bold red]pwn[/]\\u202e\\u001b[2J" in seen["main"]
    assert "\x1b" not in seen["main"] and "\u202e" not in seen["main"]
    assert "[bold red]pwn[/]" in seen["detail"]


def test_help_lists_keys_statuses_and_every_reason(bundle):
    from verifier.core.reasons import ReasonCode

    seen = {}

    async def script(pilot, app):
        await pilot.press("question_mark")
        await pilot.pause(0.1)
        seen["help"] = isinstance(app.screen, HelpScreen)
        import io

        from rich.console import Console

        console = Console(width=200, file=io.StringIO())
        console.print(app.screen.query_one("Static").content)
        seen["body"] = console.file.getvalue()

    drive(bundle("ok-stored-unpinned"), script)
    assert seen["help"]
    for code in ReasonCode:
        assert code.value in seen["body"]


def test_export_json_matches_audit_json(bundle, tmp_path, capsys):
    from verifier.cli.main import main

    argv = bundle("record-mismatch-metric")
    out = tmp_path / "report.json"

    async def script(pilot, app):
        app.feed.request("export", "json", str(out))
        await until(pilot, lambda: out.exists() and out.stat().st_size)
        await pilot.pause(0.2)

    drive(argv, script)
    main(["audit", *argv, "--json", "-q"])
    expected = json.loads(capsys.readouterr().out)
    got = json.loads(out.read_text())
    assert got == expected


def test_rerun_with_another_policy_changes_the_verdict(bundle, tmp_path):
    seen = {}
    argv = bundle("ok-pinned")
    plain = [argv[0]]  # the same bundle without its policy

    async def script(pilot, app):
        seen["before"] = app.summary.status
        keys = argv[argv.index("--trusted-keys") + 1]
        await pilot.press("p")
        await pilot.pause(0.1)
        app.screen.query_one("#policy-keys").value = keys
        app.screen.query_one("#policy-binding").value = True
        await pilot.click("#rerun")
        await pilot.pause(0.1)
        while app.summary is None:
            await pilot.pause(0.05)
        await pilot.pause(0.2)
        seen["after"] = app.summary.status
        seen["text"] = _plain(app)
        other = tmp_path / "other-keys.txt"
        other.write_text("ab" * 32 + "\n")
        app._rerun({"trusted_keys": str(other)})
        while app.summary is None:
            await pilot.pause(0.05)
        await pilot.pause(0.2)
        seen["untrusted"] = (app.summary.status, app.summary.reason.value)

    drive(plain, script)
    assert seen["before"] is Status.VERIFIED and seen["after"] is Status.VERIFIED
    assert "signer pinned" in seen["text"]
    assert seen["untrusted"] == (Status.FAILED, "untrusted_signer")


def test_no_color_keeps_the_status_symbols_and_t_switches_theme(bundle, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    seen = {}

    async def script(pilot, app):
        seen["no_color"] = app.no_color
        seen["text"] = _plain(app)
        seen["dark"] = app.current_theme.dark
        await pilot.press("t")
        await pilot.pause(0.1)
        seen["light"] = not app.current_theme.dark
        seen["text_light"] = _plain(app)

    drive(bundle("record-mismatch-metric"), script)
    assert seen["no_color"] and seen["dark"] and seen["light"]
    for text in (seen["text"], seen["text_light"]):
        assert "✗ FAILED" in text and "✗ failed" in text and "✓ verified" in text


def test_every_action_is_in_the_command_palette(bundle):
    seen = {}

    async def script(pilot, app):
        seen["titles"] = {c.title for c in app.get_system_commands(app.screen)}

    drive(bundle("ok-stored-unpinned"), script)
    assert {"Filter events", "Search events", "Sort events", "Toggle lineage tree",
            "Audit-level checks", "Copy tx id", "Re-run with another policy",
            "Export JSON report", "Export PDF report", "Help"} <= seen["titles"]


def test_lineage_tree_groups_stages_and_opens_an_event(bundle):
    seen = {}

    async def script(pilot, app):
        tree = app.query_one("#lineage")
        seen["shown_wide"] = tree.display
        seen["stages"] = [str(n.label) for n in tree.root.children]
        leaf = tree.root.children[-1].children[0]
        tree.move_cursor(leaf)
        tree.action_select_cursor()
        await pilot.pause(0.2)
        seen["opened"] = getattr(app.screen, "seq", None) == leaf.data

    drive(bundle("ok-stored-unpinned"), script, size=(140, 40))
    assert seen["shown_wide"]
    assert [s.split(" (")[0][2:] for s in seen["stages"]] == [
        "dataset proofs", "training runs", "registrations", "promotions", "predictions"]
    assert seen["opened"]


@pytest.mark.parametrize("name", ["gateway-disagreement", "envelope-not-found", "binding-unchecked",
                                  "record-mismatch-trace-tag", "artifact-hash-mismatch",
                                  "never-anchored", "target-mismatch"])
def test_every_event_detail_opens_on_odd_bundles(bundle, name):
    """Each event's detail renders (checks and evidence or a note) whatever the bundle holds."""
    seen = {"opened": 0}

    async def script(pilot, app):
        seen["status"] = app.summary.status
        for seq in list(app.index.view):
            app.open_event(seq)
            await until(pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.detail is not None)
            assert app.screen.detail is not None and app.screen.detail.seq == seq
            await pilot.pause(0.05)  # the frame that shows it
            seen["opened"] += 1
            seen.setdefault("text", []).append(_plain(app))
            app.pop_screen()
            await pilot.pause(0.02)

    drive(bundle(name), script)
    from browse_util import vector

    assert seen["status"].value == vector(name)["expected"]["status"]
    assert seen["opened"] >= 1 and all("outcome" in t for t in seen["text"])


def test_cursor_stays_on_its_event_when_worse_rows_arrive_above(bundle):
    """As with the streaming pipeline: rows that arrive later and sort above the cursor do
    not move the selection off the event the user chose (before any move, the top stays)."""
    from verifier.core.reasons import ReasonCode
    from verifier.core.result import make_result, problem
    from verifier.tui.rows import pack, row_of

    seen = {}

    def late(seq):
        return pack(row_of(seq, make_result("event", [problem("x", ReasonCode.RECORD_MISMATCH)],
                                            {"event_type": "prediction", "tx_id": f"late{seq}"})))

    async def script(pilot, app):
        table = app.query_one("#events", EventTable)
        app.index.add_packed([late(100)])
        app._dirty = True
        app._tick()
        seen["top_untouched"] = table.current == 100
        await pilot.press("down", "down")
        chosen = table.current
        app.index.add_packed([late(101), late(102)])
        app._dirty = True
        app._tick()
        await pilot.pause(0.05)
        seen["kept"] = (chosen, table.current, app.index.view[:3])

    drive(bundle("ok-stored-unpinned"), script)
    chosen, current, top = seen["kept"]
    assert seen["top_untouched"]
    assert current == chosen and set(top) == {100, 101, 102}


def test_one_proof_json_with_its_payload(tmp_path):
    """`browse proof.json --payload FILE`: the verify path's verdict, as one event row."""
    from pathlib import Path

    v = json.loads((Path(__file__).resolve().parents[2] / "test-vectors" / "envelope"
                    / "mlflow-training-complete-ok.json").read_text())
    proof, payload = tmp_path / "proof.json", tmp_path / "payload.json"
    proof.write_bytes(bytes.fromhex(v["input"]["document_hex"]))
    payload.write_bytes(bytes.fromhex(v["input"]["payload_hex"]))
    seen = {}

    async def script(pilot, app):
        seen["main"] = _plain(app)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.detail is not None)
        seen["detail"] = app.screen.detail
        await pilot.press("escape")
        await pilot.pause(0.05)
        await pilot.press("q")

    app = drive([str(proof), "--payload", str(payload)], script)
    assert app.return_value == 0 and "✓ VERIFIED" in seen["main"] and "proof.json" in seen["main"]
    d = seen["detail"]
    assert d.result.status is Status.VERIFIED and d.envelope and d.payload
    assert json.loads(d.payload) == json.loads(payload.read_bytes())


def test_click_selects_and_double_click_opens(bundle):
    seen = {}

    async def script(pilot, app):
        table = app.query_one("#events", EventTable)
        await pilot.click("#events", offset=(3, 3))  # header line 0, rows from line 1
        await pilot.pause(0.05)
        seen["selected"] = table.cursor
        seen["still_main"] = not isinstance(app.screen, DetailScreen)
        await pilot.click("#events", offset=(3, 3), times=2)
        await pilot.pause(0.1)
        seen["opened"] = getattr(app.screen, "seq", None) == app.index.view[2]

    drive(bundle("ok-stored-unpinned"), script)
    assert seen == {"selected": 2, "still_main": True, "opened": True}


def test_an_evidence_bundle_shows_its_parts(tmp_path):
    """`browse bundle.json` on an ario.evidence/v1 document: its own checks and each part's."""
    from pathlib import Path

    v = json.loads((Path(__file__).resolve().parents[2] / "test-vectors" / "evidence"
                    / "evidence-export-attestation-forged.json").read_text())
    doc = tmp_path / "evidence.json"
    doc.write_bytes(bytes.fromhex(v["input"]["document_hex"]))
    seen = {}

    async def script(pilot, app):
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.detail is not None)
        await pilot.pause(0.1)
        seen["text"] = _plain(app)
        seen["children"] = len(app.screen.detail.result.children)

    app = drive([str(doc)], script, size=(100, 80))
    assert app.verdict_code() == 1
    assert seen["children"] >= 1 and "Part 1:" in seen["text"]


def test_copy_hash_and_event_json_from_the_detail(bundle):
    seen = {}

    async def script(pilot, app):
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.detail is not None)
        seq = app.screen.seq
        await pilot.press("h")
        await pilot.pause(0.05)
        seen["hash"] = (app.clipboard, app.index.rows[seq].payload_hash)
        await pilot.press("escape")
        await pilot.pause(0.05)
        await pilot.press("J")
        await pilot.pause(0.05)
        seen["json"] = json.loads(app.clipboard)
        seen["shown"] = isinstance(app.screen, CopyScreen)

    drive(bundle("record-mismatch-metric"), script)
    copied, expected = seen["hash"]
    assert copied == expected and len(copied) == 64
    assert seen["json"]["status"] == "failed" and seen["json"]["reason"] == "record_mismatch"
    assert any(c["id"] == "record" for c in seen["json"]["checks"]) and seen["shown"]
