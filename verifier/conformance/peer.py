"""Convert the ar-io-proof conformance corpus into our case model (docs/conformance.md §4).

The ar-io-proof corpus pins bytes (canonical forms, hashes, signatures, Merkle roots and
paths) and a few verdicts; our cases pin a status, a primary reason and byte outputs. The
conversion is mechanical and every expectation it derives is either stated by the peer
file or re-derived here and cross-checked against it:

* ``envelope-*.json`` (ario.agent/v1): the signed envelope is rebuilt from
  ``inputs.envelope_pre_signature`` + ``payload_hash_hex`` + the fixed public key +
  ``signature_hex``, serialized as JCS; the runner checks that stripping the signature
  gives exactly ``envelope_for_sig_jcs_bytes_hex``. One ``envelope`` case (verified, with
  ``signed_scope_hex``/``payload_hash_hex``/``signature_hex``) and one ``jcs`` case (the
  inline payload, pretty-printed, must canonicalize to ``payload_jcs_bytes_hex``).
* ``ario.events-v1/events-event-*.json``: ``envelope_jcs_bytes_hex`` with the record bytes
  (verified), without them (incomplete / payload_unavailable) and with one record byte
  flipped (failed / payload_hash_mismatch), plus a ``jcs`` case for the record.
* ``ario.events-v1/events-checkpoint-*.json``: the checkpoint envelope as above, every
  leaf envelope (with its record when the vector discloses it), and the leaf set as
  ``merkle`` generation / path / inclusion cases over the leaf-envelope JCS bytes. The
  two-window chain vector adds ``chain`` cases: both windows with their records
  (verified, in either order) and window 2 alone (incomplete / chain_link_unresolved).
* ``merkle-tree-*.json``: leaves are ``JCS(leaf_object)``; one generation case (leaf
  hashes + root), one path case per pinned proof, one inclusion case per proof, and one
  must-fail inclusion case per proof at a different index (the corpus README's "a path
  must not verify for a different index"; each is re-checked here to really fail).
* ``evidence-export/evidence-export-*.json``: the bundle as an ``evidence`` case. Status
  map verified->verified, failed->failed, malformed->malformed, partial->incomplete. The
  primary reason comes from `EVIDENCE_REASONS`, which applies our evidence check order to
  the flags the peer vector states; ``verdict_jcs_sha256`` is compared when pinned.
* ``negatives/*.json`` (``{vector_id, category, description, envelope_bytes_hex,
  expect{accepts:false, reason}}``): an ``envelope`` case that must be rejected with
  ``reason``; the status is that reason's bucket. A reason outside our vocabulary makes
  the case "must not verify" with the reason not compared.
* ``evidence-export/negatives/*.json`` (raw bundles): ``evidence`` cases that must not
  verify; known ones carry their status and reason.

Files that map to no family (the RSA-PSS primitive golden, the golden export that is
byte-identical to positive-01, README/markdown) are listed in the corpus notes, never
silently dropped. Pinned digests in ``CORPUS-v1.md`` are verified; pinned files absent
from the copy are noted (the real corpus's ``negatives/`` may be withheld).
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any, Callable

from verifier.core.errors import Malformed
from verifier.core.intake import load

from .corpus import Corpus, CorpusError, read_json
from .model import REJECTED, Case, Expected
from .rfc9162_ref import inclusion_ok, leaf_hash, mth

KIND = "ar-io-proof"
_PIN_RE = re.compile(r"^\|\s*`([^`]+)`\s*\|\s*`([0-9a-f]{64})`\s*\|", re.M)

#: ar-io-proof evidence status -> our status.
EVIDENCE_STATUS = {"verified": "verified", "failed": "failed", "malformed": "malformed",
                   "partial": "incomplete"}

#: evidence-export class -> primary reason under our check order (spec/evidence.md):
#: wrapper (signature_alg, fields, body_hash, signature) -> body shape -> source linkage ->
#: source bundle -> attestations (signature, operator, data_hash, checkpoint) -> verdict
#: agreement. The peer vector's flags say which checks fail; the first failing check in
#: our order gives the reason. None = not determinable from the peer vector.
EVIDENCE_REASONS: dict[str, str | None] = {
    "positive": None,
    "tamper-wrapper-signature": "signature_invalid",
    "tamper-body-hash": "body_hash_mismatch",
    "tamper-source-linkage": "source_linkage_mismatch",
    "tamper-verdict-disagreement": "verdict_disagreement",
    "tamper-attestation-signature": "attestation_signature_invalid",
    "tamper-mis-salt": "attestation_signature_invalid",
    "tamper-subject-ref": "attestation_signature_invalid",
    "tamper-operator-binding": "operator_not_bound",
    "tamper-data-hash-binding": "data_hash_not_bound",
    "tamper-disclosed-content": "source_bundle_failed",
    "malformed-rsa-key": "bad_rsa_key",
    "malformed-signature-alg": "unsupported_algorithm",
    "source-bundle-ref": "source_bundle_unavailable",
}

#: evidence-export/negatives/<name>.json raw bundles -> (status, reason or None).
RAW_EVIDENCE_NEGATIVES: dict[str, tuple[str, str | None]] = {
    "attestation-exponent-forgery": ("failed", "attestation_signature_invalid"),
    "deep-nesting": ("malformed", "nesting_too_deep"),
}


def load_ario_proof(root: Path, label: str = KIND) -> Corpus:
    """Load and convert an ar-io-proof corpus directory."""
    root = Path(root)
    conv = _Converter(root, label)
    conv.check_pins()
    for path in sorted(root.rglob("*.json")):
        rel = path.relative_to(root).as_posix()
        try:
            conv.convert(rel, _read(path))
        except CorpusError:
            raise
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
            raise CorpusError(f"{path}: unexpected ar-io-proof vector shape: {exc!r}") from None
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.suffix != ".json"):
        rel = path.relative_to(root).as_posix()
        if rel not in conv.pinned and rel not in ("CORPUS-v1.md", "VENDORING.md", "LICENSE"):
            conv.notes.append(f"{rel}: not a vector (ignored)")
    if not conv.cases:
        raise CorpusError(f"{root}: no ar-io-proof vectors found")
    version = conv.version
    return Corpus(label, KIND, root, conv.cases, version, conv.notes)


def _read(path: Path) -> Any:
    return read_json(path)


def _jcs(value: Any) -> bytes:
    import rfc8785

    return rfc8785.dumps(value)


def _h(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _pretty(value: Any) -> bytes:
    """A deliberately non-canonical rendering (source key order, indented, raw UTF-8)."""
    return json.dumps(value, indent=2, ensure_ascii=False).encode("utf-8")


def _flip_last_byte(data: bytes) -> bytes:
    return data[:-1] + bytes([data[-1] ^ 0x01]) if data else b"\x00"


class _Converter:
    def __init__(self, root: Path, label: str) -> None:
        self.root = root
        self.label = label
        self.cases: list[Case] = []
        self.notes: list[str] = []
        self.pinned: dict[str, str] = {}
        self.version = ""
        self._ids: set[str] = set()

    # -- bookkeeping -----------------------------------------------------------------

    def check_pins(self) -> None:
        corpus_md = self.root / "CORPUS-v1.md"
        if not corpus_md.is_file():
            self.notes.append("CORPUS-v1.md absent: file digests not verified")
            return
        text = corpus_md.read_text(encoding="utf-8", errors="replace")
        tags = re.findall(r"test-vectors-v1\.(\d+)", text)
        self.version = f"test-vectors-v1.{max(map(int, tags))}" if tags else "v1"
        self.pinned = dict(_PIN_RE.findall(text))
        bad, missing = [], []
        for rel, digest in sorted(self.pinned.items()):
            p = self.root / rel
            if not p.is_file():
                missing.append(rel)
            elif _h(p.read_bytes()) != digest:
                bad.append(rel)
        if bad:
            raise CorpusError(f"{self.root}: SHA-256 differs from CORPUS-v1.md for: " + ", ".join(bad))
        if missing:
            self.notes.append(f"{len(missing)} pinned file(s) absent from this copy: " + ", ".join(missing))

    def add(self, cid: str, family: str, inp: dict[str, Any], status: str, reason: str | None,
            source: str, description: str, outputs: dict[str, Any] | None = None,
            reason_known: bool = True) -> None:
        full = f"{self.label}:{cid}"
        if full in self._ids:
            raise CorpusError(f"{self.root / source}: duplicate case id {full}")
        self._ids.add(full)
        self.cases.append(Case(
            id=full, corpus=self.label, family=family, input=inp,
            expected=Expected(status, reason, reason_known, outputs or {}),
            description=description, source=source,
        ))

    def note(self, rel: str, why: str) -> None:
        self.notes.append(f"{rel}: {why}")

    # -- dispatch --------------------------------------------------------------------

    def convert(self, rel: str, doc: Any) -> None:
        name = rel.rsplit("/", 1)[-1]
        handlers: list[tuple[Callable[[str, str], bool], Callable[[str, Any], None]]] = [
            (lambda r, n: "/" not in r and n.startswith("envelope-"), self.agent_envelope),
            (lambda r, n: "/" not in r and n.startswith("merkle-tree-"), self.merkle_tree),
            (lambda r, n: r.startswith("negatives/"), self.envelope_negative),
            (lambda r, n: r.startswith("evidence-export/negatives/"), self.raw_evidence_negative),
            (lambda r, n: r.startswith("evidence-export/") and n.endswith(".golden.json"), self.golden),
            (lambda r, n: r.startswith("evidence-export/evidence-export-"), self.evidence_export),
            (lambda r, n: r.startswith("ario.events-v1/") and "windows" in doc, self.events_chain),
            (lambda r, n: r.startswith("ario.events-v1/") and "merkle" in doc, self.events_checkpoint),
            (lambda r, n: r.startswith("ario.events-v1/"), self.events_event),
        ]
        for match, handler in handlers:
            if match(rel, name):
                handler(rel, doc)
                return
        self.note(rel, "no conversion for this file (ignored)")

    # -- envelopes -------------------------------------------------------------------

    def agent_envelope(self, rel: str, v: dict[str, Any]) -> None:
        vid, out = v["vector_id"], v["expected_outputs"]
        pre = v["inputs"]["envelope_pre_signature"]
        env = dict(pre)
        env["payload_hash"] = out["payload_hash_hex"]
        env["public_key"] = v["fixed_keypair"]["ed25519_public_hex"]
        if _jcs(env).hex() != out["envelope_for_sig_jcs_bytes_hex"]:
            raise CorpusError(f"{rel}: rebuilt signed scope differs from envelope_for_sig_jcs_bytes_hex")
        if "payload" in pre:
            payload_jcs = _jcs(pre["payload"])
            if payload_jcs.hex() != out["payload_jcs_bytes_hex"] or _h(payload_jcs) != out["payload_hash_hex"]:
                raise CorpusError(f"{rel}: payload_jcs_bytes_hex / payload_hash_hex inconsistent")
        env["signature"] = out["signature_hex"]
        document = _jcs(env)
        outputs = {
            "signed_scope_hex": out["envelope_for_sig_jcs_bytes_hex"],
            "payload_hash_hex": out["payload_hash_hex"],
            "signature_hex": out["signature_hex"],
        }
        self.add(vid, "envelope", {"document_hex": document.hex()}, "verified", None, rel,
                 v["description"] + " (signed envelope rebuilt from the vector's outputs)", outputs)
        if "payload" in pre:
            self.add(f"{vid}.payload-jcs", "jcs", {"document_hex": _pretty(pre["payload"]).hex()},
                     "verified", None, rel, "Inline payload re-indented in source key order must "
                     "canonicalize to payload_jcs_bytes_hex.",
                     {"canonical_hex": out["payload_jcs_bytes_hex"]})

    def _external_envelope(self, rel: str, vid: str, description: str, envelope_hex: str,
                           out: dict[str, Any], record: Any | None, record_hex: str | None,
                           wrong_record: bool = True) -> None:
        """Cases for an external-commitment envelope, with/without/against wrong bytes."""
        sig_outputs = {"signed_scope_hex": out["envelope_for_sig_jcs_bytes_hex"],
                       "signature_hex": out["signature_hex"]} if "signature_hex" in out else {}
        doc = {"document_hex": envelope_hex}
        if record is not None and record_hex is None:
            record_hex = _jcs(record).hex()
        if record_hex is not None:
            record_bytes = bytes.fromhex(record_hex)
            if "payload_hash_hex" in out and _h(record_bytes) != out["payload_hash_hex"]:
                raise CorpusError(f"{rel}: record bytes do not hash to payload_hash_hex ({vid})")
            self.add(f"{vid}.with-record", "envelope", {**doc, "payload_hex": record_hex},
                     "verified", None, rel, description + " Verified against its committed record bytes.",
                     {**sig_outputs, "payload_hash_hex": _h(record_bytes)})
            if wrong_record:
                self.add(f"{vid}.wrong-record", "envelope",
                         {**doc, "payload_hex": _flip_last_byte(record_bytes).hex()},
                         "failed", "payload_hash_mismatch", rel,
                         description + " Record bytes with one bit flipped must not bind.", sig_outputs)
            if record is not None:
                self.add(f"{vid}.record-jcs", "jcs", {"document_hex": _pretty(record).hex()},
                         "verified", None, rel, "Committed record, re-indented, must canonicalize "
                         "to the committed record bytes.", {"canonical_hex": record_hex})
        self.add(f"{vid}.without-record", "envelope", doc, "incomplete", "payload_unavailable", rel,
                 description + " Record withheld: signature-valid, binding unchecked.", sig_outputs)

    def events_event(self, rel: str, v: dict[str, Any]) -> None:
        out = v["expected_outputs"]
        self._external_envelope(rel, v["vector_id"], v["description"] + ".",
                                out["envelope_jcs_bytes_hex"], out, v["inputs"]["event_record"],
                                out["payload_jcs_bytes_hex"])

    def events_checkpoint(self, rel: str, v: dict[str, Any]) -> None:
        self.events_event(rel, v)
        self._checkpoint_leaves(rel, v["vector_id"], v["merkle"])

    def events_chain(self, rel: str, v: dict[str, Any]) -> None:
        link = v["chain_link"]
        windows = v["windows"]
        w1_record = windows[0]["inputs"]["event_record"]
        w2_record = windows[1]["inputs"]["event_record"]
        if _h(_jcs(w1_record)) != link["window1_record_hash"] or \
                w2_record.get("previous_hash") != link["window2_previous_hash"]:
            raise CorpusError(f"{rel}: chain_link does not match the window records")
        for w in windows:
            self.events_event(rel, w)
            self._checkpoint_leaves(rel, w["vector_id"], w["merkle"])
        members = [{"document_hex": w["expected_outputs"]["envelope_jcs_bytes_hex"],
                    "payload_hex": w["expected_outputs"]["payload_jcs_bytes_hex"]} for w in windows]
        vid = v["vector_id"]
        self.add(f"{vid}.chain", "chain", {"events": members}, "verified", None, rel,
                 "Two checkpoint windows with their records: window 2's record previous_hash "
                 "names window 1's payload hash (linear checkpoint chain).")
        self.add(f"{vid}.chain-reversed", "chain", {"events": members[::-1]}, "verified", None, rel,
                 "The same two windows supplied in reverse order still link.")
        self.add(f"{vid}.chain-window-2-alone", "chain", {"events": members[1:]}, "incomplete",
                 "chain_link_unresolved", rel,
                 "Window 2 without window 1: its link names a predecessor not supplied.")

    def _checkpoint_leaves(self, rel: str, vid: str, merkle: dict[str, Any]) -> None:
        leaves = merkle["leaves"]
        leaf_bytes: list[bytes] = []
        for i, leaf in enumerate(leaves):
            env_hex = leaf["envelope_jcs_bytes_hex"]
            env_bytes = bytes.fromhex(env_hex)
            if leaf_hash(env_bytes).hex() != leaf["leaf_hash_hex"]:
                raise CorpusError(f"{rel}: leaf {i} of {vid} does not hash to leaf_hash_hex")
            leaf_bytes.append(env_bytes)
            record = leaf.get("event_record")
            try:
                env = load(env_bytes)
            except Malformed as exc:
                raise CorpusError(f"{rel}: leaf {i} of {vid} is not strict JSON "
                                  f"[{exc.reason.value}]") from None
            if record is not None and _h(_jcs(record)) != env.get("payload_hash"):
                raise CorpusError(f"{rel}: leaf {i} record does not hash to its payload_hash")
            desc = f"Leaf envelope {i} of checkpoint {vid}."
            if record is not None:
                self._external_envelope(rel, f"{vid}.leaf-{i}", desc, env_hex, {}, record, None,
                                        wrong_record=False)
            else:
                self.add(f"{vid}.leaf-{i}.without-record", "envelope", {"document_hex": env_hex},
                         "incomplete", "payload_unavailable", rel,
                         desc + " Record not disclosed: signature-valid, binding unchecked.")
        self._merkle_cases(rel, vid, leaf_bytes, merkle["expected_root_hex"],
                           [lf["leaf_hash_hex"] for lf in leaves], merkle["inclusion_proofs"],
                           "leaf-envelope JCS bytes")

    # -- Merkle ----------------------------------------------------------------------

    def merkle_tree(self, rel: str, v: dict[str, Any]) -> None:
        leaves = v["leaves"]
        if v["leaf_count"] != len(leaves):
            raise CorpusError(f"{rel}: leaf_count {v['leaf_count']} but {len(leaves)} leaves")
        leaf_bytes = [_jcs(lf["leaf_object"]) for lf in leaves]
        self._merkle_cases(rel, v["vector_id"], leaf_bytes, v["expected_root_hex"],
                           [lf["leaf_hash_hex"] for lf in leaves], v["inclusion_proofs"],
                           "JCS(leaf_object) bytes")

    def _merkle_cases(self, rel: str, vid: str, leaf_bytes: list[bytes], root_hex: str,
                      leaf_hashes_hex: list[str], proofs: list[dict[str, Any]], what: str) -> None:
        hashes = [leaf_hash(b) for b in leaf_bytes]
        if [x.hex() for x in hashes] != leaf_hashes_hex:
            raise CorpusError(f"{rel}: leaf hashes of {vid} differ from RFC 9162 over {what}")
        if mth(hashes).hex() != root_hex:
            raise CorpusError(f"{rel}: root of {vid} differs from RFC 9162")
        leaves_hex = [b.hex() for b in leaf_bytes]
        n = len(leaf_bytes)
        self.add(f"{vid}.root", "merkle", {"leaves_hex": leaves_hex}, "verified", None, rel,
                 f"RFC 9162 leaf hashes and root of {n} leaves ({what}).",
                 {"leaf_hashes_hex": leaf_hashes_hex, "root_hex": root_hex})
        root = bytes.fromhex(root_hex)
        for proof in proofs:
            i, path_hex = proof["leaf_index"], proof["audit_path_hex"]
            path = [bytes.fromhex(p) for p in path_hex]
            if not inclusion_ok(hashes[i], i, n, path, root):
                raise CorpusError(f"{rel}: pinned proof for leaf {i} of {vid} does not verify")
            self.add(f"{vid}.path-{i}", "merkle", {"leaves_hex": leaves_hex, "leaf_index": i},
                     "verified", None, rel, f"Audit path of leaf {i} of {n} must be byte-exact.",
                     {"leaf_hashes_hex": leaf_hashes_hex, "root_hex": root_hex, "audit_path_hex": path_hex})
            inclusion = {"leaves_hex": [leaves_hex[i]], "leaf_index": i, "tree_size": n,
                         "audit_path_hex": path_hex, "root_hex": root_hex}
            self.add(f"{vid}.inclusion-{i}", "merkle", inclusion, "verified", None, rel,
                     f"Pinned inclusion proof of leaf {i} of {n} verifies.")
            if n > 1:
                j = (i + 1) % n
                if inclusion_ok(hashes[i], j, n, path, root):
                    continue  # not a must-fail case for this tree shape
                self.add(f"{vid}.inclusion-{i}-at-{j}", "merkle", {**inclusion, "leaf_index": j},
                         "failed", "inclusion_invalid", rel,
                         f"The proof of leaf {i} must not verify at index {j}.")

    # -- evidence --------------------------------------------------------------------

    def evidence_export(self, rel: str, v: dict[str, Any]) -> None:
        vid, exp = v["vector_id"], v["expected"]
        status = EVIDENCE_STATUS.get(exp["status"])
        if status is None:
            raise CorpusError(f"{rel}: unknown evidence status {exp['status']!r}")
        cls = vid[len("evidence-export-"):] if vid.startswith("evidence-export-") else vid
        cls = re.sub(r"-\d+$", "", cls)
        reason = EVIDENCE_REASONS.get(cls)
        known = cls in EVIDENCE_REASONS and (status == "verified" or reason is not None)
        outputs = {}
        if isinstance(exp.get("verdict_jcs_sha256"), str):
            outputs["verdict_jcs_sha256"] = exp["verdict_jcs_sha256"]
        document = json.dumps(v["bundle"], ensure_ascii=True, separators=(",", ":")).encode()
        self.add(vid, "evidence", {"document_hex": document.hex()}, status,
                 None if status == "verified" else reason, rel, v["description"], outputs,
                 reason_known=known)

    def raw_evidence_negative(self, rel: str, bundle: Any) -> None:
        name = rel.rsplit("/", 1)[-1][: -len(".json")]
        status, reason = RAW_EVIDENCE_NEGATIVES.get(name, (REJECTED, None))
        document = json.dumps(bundle, ensure_ascii=True, separators=(",", ":")).encode()
        self.add(f"negatives.{name}", "evidence", {"document_hex": document.hex()}, status, reason,
                 rel, f"Raw must-reject evidence bundle {name}.", reason_known=reason is not None)

    def golden(self, rel: str, g: dict[str, Any]) -> None:
        if "export" in g:
            self.note(rel, "golden export (the source of the export vectors; its export is "
                      "evidence-export-positive-01's bundle) - no separate case")
        else:
            self.note(rel, "RSA-PSS attestation primitive golden - no case family for a bare "
                      "attestation signature (covered through the export vectors)")

    # -- negatives -------------------------------------------------------------------

    def envelope_negative(self, rel: str, v: dict[str, Any]) -> None:
        from verifier.core.reasons import REASONS, ReasonCode

        expect = v["expect"]
        if expect.get("accepts") is not False:
            raise CorpusError(f"{rel}: negative with expect.accepts != false")
        reason = expect.get("reason")
        try:
            code = ReasonCode(reason)
        except ValueError:
            code = None
        status = REASONS[code][0].value if code is not None else REJECTED
        desc = f"{v.get('category', 'negative')}: {v.get('description', '')}".strip()
        self.add(v["vector_id"], "envelope", {"document_hex": v["envelope_bytes_hex"]}, status,
                 reason if code is not None else None, rel, desc, reason_known=code is not None)
