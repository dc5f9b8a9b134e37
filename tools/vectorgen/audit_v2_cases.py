"""Audit bundle v2 vectors (family `audit_bundle`, ids `audit-bundle-v2-*`): the lineage of
`audit_cases` as `ario-verifier.audit-bundle/v2` ZIPs (spec/audit-bundle.md §7).

Evidence lies in JSON-Lines shards (``events/NNNNNN.jsonl``, one event per line; bytes as
their text when UTF-8, else standard base64), each digested in a small manifest written last; model file hashes and
gaps have their own members. The clean bundle verifies (also with its events out of lineage
order, and with stored members); every must-reject case changes exactly one thing, keeping
every digest consistent unless the digest is what is wrong. Written byte by byte with the
same deterministic ZIP and deflate code as the v1 vectors; never imports `verifier`.
"""

from __future__ import annotations

import base64
import copy
from typing import Any

from .audit_cases import (
    _policy, _vec, bundle_members, deflate, event, json_member, lineage, zip_archive,
)
from .common import Vector, h

FORMAT_V2 = "ario-verifier.audit-bundle/v2"
CREATED_AT = "2026-06-16T08:00:00Z"
SHARD_EVENTS = 3  # the five events fill two shards


def _bytes(data: bytes | None) -> str | dict[str, str] | None:
    """V5: the text when the bytes are UTF-8, else {"base64": standard base64}."""
    if data is None:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(data).decode("ascii")}


def line(ev: dict[str, Any]) -> dict[str, Any]:
    """One shard line (V5) for a lineage event."""
    return {"tx_id": ev["tx"], "envelope": _bytes(ev["envelope_bytes"]), "payload": _bytes(ev["payload"]),
            "data_item": _bytes(ev["data_item"]), "receipt": ev["receipt"], "surface": ev["surface"],
            "hints": dict(sorted(ev["hints"].items())), "origins": dict(ev["origins"]),
            "fetch": ev["fetch"]}


def encode(lines: list[dict[str, Any]]) -> bytes:
    return b"".join(json_member(x) + b"\n" for x in lines)


def _ref(name: str, data: bytes) -> dict[str, Any]:
    return {"name": name, "size": len(data), "sha256": h(data)}


def v2_parts(lin: dict[str, Any], order: list[int] | None = None
             ) -> tuple[dict[str, Any], list[tuple[str, bytes]]]:
    """(manifest, [(member, bytes)] in archive order: shards, model-files.json, gaps.json)."""
    events = lin["events"] if order is None else [lin["events"][i] for i in order]
    lines = [line(ev) for ev in events]
    members = [(f"events/{i // SHARD_EVENTS:06d}.jsonl", encode(lines[i:i + SHARD_EVENTS]))
               for i in range(0, len(lines), SHARD_EVENTS)]
    shards = [dict(_ref(n, d), events=d.count(b"\n")) for n, d in members]
    model_files = json_member({run: dict(sorted(f.items()))
                               for run, f in sorted(lin["model_files"].items())})
    gaps = json_member([list(g) for g in lin["gaps"]])
    members += [("model-files.json", model_files), ("gaps.json", gaps)]
    manifest = {"format": FORMAT_V2, "target": lin.get("target", bundle_members(lin)[0]["target"]),
                "created_at": CREATED_AT,
                "tool": {"name": "ario-verifier tools/gen_vectors.py", "version": "1"},
                "events": len(lines), "shards": shards,
                "model_files": _ref("model-files.json", model_files), "gaps": _ref("gaps.json", gaps)}
    return manifest, members


def archive(manifest: dict[str, Any], members: list[tuple[str, bytes]], method: str = "deflate",
            extra: list[dict[str, Any]] | None = None) -> bytes:
    entries = [{"name": n, "data": d, "method": method} for n, d in members] + list(extra or [])
    entries.append({"name": "manifest.json", "data": json_member(manifest), "method": method})
    return zip_archive(entries)


def bundle_v2(lin: dict[str, Any], method: str = "deflate", order: list[int] | None = None) -> bytes:
    return archive(*v2_parts(lin, order), method=method)


def _redigest(manifest: dict[str, Any], members: list[tuple[str, bytes]]) -> None:
    """Make the manifest agree with the members again (a consistent forger)."""
    by_name = dict(members)
    for s in manifest["shards"]:
        data = by_name[s["name"]]
        s.update(size=len(data), sha256=h(data), events=data.count(b"\n"))
    manifest["events"] = sum(s["events"] for s in manifest["shards"])


def all_vectors() -> list[Vector]:
    base = lineage()
    P = _policy()
    manifest, members = v2_parts(base)
    prediction_tx = event(base, "prediction")["tx"]
    last_shard = members[1][0]
    assert last_shard == "events/000001.jsonl" and prediction_tx.encode() in members[1][1]

    def edited(edit, redigest: bool = True) -> bytes:
        m, mem = copy.deepcopy(manifest), [list(x) for x in members]
        extra = edit(m, mem)
        mem = [(n, d) for n, d in mem]
        if redigest:
            _redigest(m, mem)
        return archive(m, mem, extra=extra)

    def shard_lines(mem) -> list[bytes]:
        return mem[1][1].split(b"\n")[:-1]

    def set_shard_lines(mem, lines: list[bytes]) -> None:
        mem[1][1] = b"".join(x + b"\n" for x in lines)

    def tamper_surface(m, mem):  # after digesting: the shard no longer matches
        mem[1][1] = mem[1][1].replace(b"3.14", b"3.15", 1)
        assert b"3.15" in mem[1][1]

    def drop_shard(m, mem):
        del mem[1]

    def unlisted(m, mem):
        return [{"name": "events/000002.jsonl", "data": encode([line(base["events"][0])]),
                 "method": "deflate"}]

    def count_lies(m, mem):
        m["shards"][1]["events"] = 1  # the shard holds two lines

    def total_lies(m, mem):
        m["events"] = 4

    def bad_line(m, mem):
        lines = shard_lines(mem)
        set_shard_lines(mem, [lines[0], lines[1][:-1]])  # the last line cut short

    def extra_key(m, mem):
        lines = shard_lines(mem)
        set_shard_lines(mem, [lines[0], lines[1][:-1] + b',"zz_note":"x"}'])

    def bad_base64(m, mem):
        lines = shard_lines(mem)
        assert b'"data_item":{"base64":"' in lines[1]
        set_shard_lines(mem, [lines[0], lines[1].replace(b'"data_item":{"base64":"',
                                                         b'"data_item":{"base64":"*', 1)])

    def big_number(m, mem):
        lines = shard_lines(mem)
        set_shard_lines(mem, [lines[0], lines[1].replace(b'"surface":{', b'"surface":{"n":9007199254740992,', 1)])

    def duplicate_key(m, mem):
        lines = shard_lines(mem)
        set_shard_lines(mem, [lines[0], lines[1][:-1] + b',"tx_id":null}'])

    def shard_renamed(m, mem):
        mem[1][0] = "events/1.jsonl"
        m["shards"][1]["name"] = "events/1.jsonl"

    def unknown_key(m, mem):
        m["limits"] = {"shard_events": 3}

    def with_member(name: str, mode: int | None = None):
        def edit(m, mem):
            e = {"name": name, "data": b"{}", "method": "deflate"}
            if mode is not None:
                e["mode"] = mode
            return [e]
        return edit

    bomb = json_member({"x": "A" * (1024 * 1024)}) + b"\n"
    assert len(bomb) / len(deflate(bomb)) > 100

    def zip_bomb(m, mem):
        mem[1][1] = bomb  # the second shard is one padding line, far beyond the ratio limit

    def too_many_events(m, mem):
        m["shards"][1]["events"] = 65_537
        m["events"] = 3 + 65_537

    def declared(size_of):
        """The second shard's headers (and the manifest) declare `size_of(real size)`."""
        def edit(m, mem):
            name, data = mem.pop(1)
            m["shards"][1]["size"] = size_of(len(data))
            return [{"name": name, "data": data, "method": "deflate",
                     "declared_size": size_of(len(data))}]
        return edit

    def metric_changed(m, mem):  # consistent: re-digested, so the audit must catch it
        first = mem[0][1]
        mem[0][1] = first.replace(b'"accuracy":0.91234612', b'"accuracy":0.95', 1)
        assert mem[0][1] != first

    V = "audit-bundle.md#"
    return [
        _vec("v2-clean", "The lineage as an audit bundle v2: two JSON-Lines shards (3 + 2 events), "
             "model files and gaps in their own members, the manifest last.",
             [V + "V1", V + "V2", V + "V3", V + "V5"], bundle_v2(base), "verified", None, P),
        _vec("v2-clean-stored", "The clean v2 bundle with every member stored (method 0).",
             [V + "V1"], bundle_v2(base, method="stored"), "verified", None, P),
        _vec("v2-out-of-order", "The clean v2 bundle with the events in reverse order "
             "(prediction first, dataset last): readers never rely on order.",
             [V + "V9"], bundle_v2(base, order=[4, 3, 2, 1, 0]), "verified", None, P),
        _vec("v2-metric-changed", "A training metric in the surface is changed and every digest "
             "recomputed: the archive is consistent, the audit re-derives the record and fails.",
             [V + "V5", "audit.md#A3"], edited(metric_changed), "failed", "record_mismatch", P),
        _vec("v2-shard-digest-mismatch", "The second shard was edited after the manifest was "
             "written: its bytes no longer have the listed SHA-256.", [V + "V6"],
             edited(tamper_surface, redigest=False), "malformed", "bundle_malformed", P),
        _vec("v2-shard-missing", "The manifest lists events/000001.jsonl; the archive lacks it.",
             [V + "V4"], edited(drop_shard, redigest=False), "malformed", "bundle_malformed", P),
        _vec("v2-unlisted-member", "The archive holds a third shard the manifest does not list.",
             [V + "V4"], edited(unlisted), "malformed", "bundle_malformed", P),
        _vec("v2-shard-count-mismatch", "The manifest says the second shard holds 1 event; it "
             "holds 2 lines.", [V + "V3", V + "V5"], edited(count_lies, redigest=False),
             "malformed", "bundle_malformed", P),
        _vec("v2-total-mismatch", "manifest.events is 4; the shards hold 5 events.", [V + "V3"],
             edited(total_lies, redigest=False), "malformed", "bundle_malformed", P),
        _vec("v2-malformed-line", "The last line of a shard is cut short (not JSON); digests agree.",
             [V + "V5"], edited(bad_line), "malformed", "bundle_malformed", P),
        _vec("v2-line-extra-key", "A shard line carries a key outside the v2 line set.",
             [V + "V5"], edited(extra_key), "malformed", "bundle_malformed", P),
        _vec("v2-line-duplicate-key", "A shard line repeats the key tx_id.", [V + "V5"],
             edited(duplicate_key), "malformed", "bundle_malformed", P),
        _vec("v2-bad-base64", "A data item's base64 holds a character outside the alphabet.",
             [V + "V5"], edited(bad_base64), "malformed", "bundle_malformed", P),
        _vec("v2-number-out-of-range", "A surface on a shard line holds the integer 2^53 "
             "(number_out_of_range under the kernel's intake).", [V + "V5", "envelope.md#I1"],
             edited(big_number), "malformed", "bundle_malformed", P),
        _vec("v2-shard-misnamed", "The second shard is named events/1.jsonl (in the archive and "
             "the manifest) instead of events/000001.jsonl.", [V + "V3"],
             edited(shard_renamed), "malformed", "bundle_malformed", P),
        _vec("v2-manifest-unknown-key", "The manifest carries a key outside the v2 set.",
             [V + "V2"], edited(unknown_key), "malformed", "bundle_malformed", P),
        _vec("v2-shard-event-limit", "The manifest declares 65,537 events in one shard, over the "
             "65,536-event shard limit: refused before the shard is inflated.", [V + "V8"],
             edited(too_many_events, redigest=False), "malformed", "bundle_limit_exceeded", P),
        _vec("v2-zip-bomb", "A shard carries a 1 MiB line of one repeated character, deflated "
             "beyond the 100:1 ratio limit.", [V + "V8", V + "B4"], edited(zip_bomb),
             "malformed", "bundle_limit_exceeded", P),
        _vec("v2-declared-size-over-limit", "The second shard's central directory entry (and the "
             "manifest) declare 300 MiB, over the 256 MiB member limit: refused before inflating.",
             [V + "V8", V + "B4"], edited(declared(lambda n: 300 * 1024 * 1024), redigest=False),
             "malformed", "bundle_limit_exceeded", P),
        _vec("v2-inflates-past-declared", "The second shard declares one byte less than it "
             "inflates to (headers and manifest agree): inflation stops at the declared size + 1.",
             [V + "V6", V + "B3"], edited(declared(lambda n: n - 1), redigest=False),
             "malformed", "bundle_malformed", P),
        _vec("v2-dotdot-path", "A member named ../escape.json next to the shards.", [V + "B1"],
             edited(with_member("../escape.json")), "malformed", "bundle_unsafe_path", P),
        _vec("v2-backslash-path", "A member named events\\000002.jsonl.", [V + "B1"],
             edited(with_member("events\\000002.jsonl")), "malformed", "bundle_unsafe_path", P),
        _vec("v2-duplicate-member", "Two members named events/000001.jsonl.", [V + "B1"],
             edited(with_member(last_shard)), "malformed", "bundle_malformed", P),
        _vec("v2-symlink-member", "An extra member stored as a symlink entry (mode 0120777).",
             [V + "B1"], edited(with_member("link.json", 0o120777)), "malformed",
             "bundle_unsafe_path", P),
    ]
