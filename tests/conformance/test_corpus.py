"""Corpus loading: our vectors (manifest, schema, fallback check) and the ar-io-proof format."""

from __future__ import annotations

import copy
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import rfc8785
from nacl.signing import SigningKey

from verifier.conformance.corpus import (
    CorpusError, default_vectors_dir, detect_format, load_corpus, load_vectors, structural_check,
)
from verifier.conformance.model import FAMILIES, OUTPUT_CAPABILITY, REJECTED

HERE = Path(__file__).resolve().parent
ROOT = Path(__file__).resolve().parents[2]
PEER = Path(__file__).resolve().parents[2].parent / "shared/peer-corpus/ar-io-proof"
VECTORS = default_vectors_dir()
SCHEMA = json.loads((ROOT / "spec/vector.schema.json").read_text())
SEED = bytes.fromhex("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")


def peer() -> Path:
    if not (PEER / "CORPUS-v1.md").is_file():
        raise AssertionError(f"peer corpus missing at {PEER} (needed, never skipped)")
    return PEER


def _write_corpus(root: Path, vectors: list[dict]) -> Path:
    """A small corpus of our format with a correct manifest."""
    files = {}
    for v in vectors:
        rel = f"{v['family']}/{v['id']}.json"
        text = json.dumps(v, indent=2, sort_keys=True) + "\n"
        (root / v["family"]).mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
        files[rel] = {"bytes": len(text.encode()), "sha256": hashlib.sha256(text.encode()).hexdigest()}
    manifest = {"corpus": "t", "corpus_version": "0", "count": len(files), "files": files,
                "format": "spec/vectors.md (vector_version 1)", "generator": "test"}
    (root / "MANIFEST.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return root


def _vector(**over) -> dict:
    v = {"vector_version": 1, "id": "t-jcs-empty-object", "family": "jcs",
         "description": "An empty object canonicalizes to {}.", "spec_refs": ["envelope.md#C1"],
         "input": {"document_hex": "7b207d"},
         "expected": {"status": "verified", "reason": None, "outputs": {"canonical_hex": "7b7d"}}}
    v.update(over)
    return v


# -- our format ----------------------------------------------------------------------------


def test_our_vectors_load_with_manifest_and_schema():
    c = load_vectors(VECTORS)
    assert c.kind == "ario-verifier" and len(c.cases) > 50
    assert len({case.id for case in c.cases}) == len(c.cases)
    assert {case.family for case in c.cases} <= set(FAMILIES)
    assert detect_format(VECTORS) == "ario-verifier"


def test_tampered_unlisted_and_missing_files_are_corpus_errors(tmp_path):
    root = _write_corpus(tmp_path / "c", [_vector()])
    load_vectors(root)
    f = root / "jcs/t-jcs-empty-object.json"
    f.write_text(f.read_text().replace("7b207d", "7b2020207d"))
    with pytest.raises(CorpusError, match="SHA-256 differs"):
        load_vectors(root)
    root = _write_corpus(tmp_path / "d", [_vector()])
    (root / "jcs/extra.json").write_text("{}")
    with pytest.raises(CorpusError, match="not listed"):
        load_vectors(root)
    root = _write_corpus(tmp_path / "e", [_vector()])
    (root / "jcs/t-jcs-empty-object.json").unlink()
    with pytest.raises(CorpusError, match="missing"):
        load_vectors(root)
    with pytest.raises(CorpusError, match="MANIFEST"):
        load_vectors(tmp_path / "nothing-here")


def test_cli_reports_a_broken_corpus_with_exit_2(tmp_path):
    root = _write_corpus(tmp_path / "c", [_vector()])
    (root / "jcs/t-jcs-empty-object.json").write_text("{}\n")
    proc = subprocess.run([sys.executable, "-m", "verifier", "conformance", "--vectors", str(root)],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 2 and "SHA-256 differs" in proc.stderr


MUTATIONS = [
    lambda v: v.pop("expected"),
    lambda v: v.update(extra=1),
    lambda v: v.update(id="Bad Id"),
    lambda v: v.update(family="nope"),
    lambda v: v.update(vector_version=2),
    lambda v: v.update(description="short"),
    lambda v: v.update(spec_refs=[]),
    lambda v: v.update(spec_refs=["envelope#E1"]),
    lambda v: v["input"].update(document_hex="7B7D"),
    lambda v: v["input"].update(document_hex="abc"),
    lambda v: v["input"].update(surprise="x"),
    lambda v: v["input"].update(leaf_index="1"),
    lambda v: v["input"].update(leaves_hex=["zz"]),
    lambda v: v["input"].update(events=[{"payload_hex": "00"}]),
    lambda v: v["input"].update(policy={"allow_legacy": "yes"}),
    lambda v: v["input"].update(policy={"trusted_keys": ["ab"]}),
    lambda v: v["expected"].update(status="ok"),
    lambda v: v["expected"].update(reason="duplicate_key"),
    lambda v: v["expected"].update(status="failed", reason=None),
    lambda v: v["expected"].update(status="failed", reason="Bad-Code"),
    lambda v: v["expected"].update(checks={"x": "great"}),
    lambda v: v["expected"]["outputs"].update(root_hex="00"),
    lambda v: v["expected"]["outputs"].update(signature_hex="00" * 32),
    lambda v: v["expected"]["outputs"].update(leaf_hashes_hex=["00"]),
    lambda v: v["expected"]["outputs"].update(unknown_hex="00"),
]


def test_fallback_check_agrees_with_the_schema():
    validator = jsonschema.Draft202012Validator(SCHEMA)
    for path in sorted(VECTORS.glob("*/*.json")):
        v = json.loads(path.read_text())
        assert structural_check(v) == [] and not list(validator.iter_errors(v)), path.name
    for i, mutate in enumerate(MUTATIONS):
        v = copy.deepcopy(_vector())
        mutate(v)
        schema_says = bool(list(validator.iter_errors(v)))
        fallback_says = bool(structural_check(v))
        assert schema_says and fallback_says, (i, v)


def test_without_jsonschema_the_fallback_still_rejects(tmp_path, monkeypatch):
    bad = _vector()
    bad["expected"]["status"] = "ok"
    root = _write_corpus(tmp_path / "c", [bad])
    monkeypatch.setitem(sys.modules, "jsonschema", None)  # import now raises ImportError
    with pytest.raises(CorpusError, match="expected.status"):
        load_vectors(root)
    good = _write_corpus(tmp_path / "g", [_vector()])
    assert len(load_vectors(good).cases) == 1


# -- the ar-io-proof format ----------------------------------------------------------------


@pytest.fixture(scope="module")
def peer_corpus():
    return load_corpus(peer())


def test_peer_corpus_converts_into_our_case_model(peer_corpus):
    c = peer_corpus
    assert c.kind == "ar-io-proof" and c.label == "ar-io-proof"
    assert c.version == "test-vectors-v1.3"
    fams = {case.family for case in c.cases}
    assert fams == {"jcs", "envelope", "merkle", "evidence", "chain"}
    # Every converted case is a valid vector of our format (input and expected).
    validator = jsonschema.Draft202012Validator(SCHEMA)
    for case in c.cases:
        exp = {"status": case.expected.status, "reason": case.expected.reason}
        if exp["status"] == REJECTED or not case.expected.reason_known:
            continue
        if case.expected.outputs:
            exp["outputs"] = case.expected.outputs
        v = {"vector_version": 1, "id": case.id.split(":", 1)[1].lower(), "family": case.family,
             "description": case.description, "spec_refs": ["conformance.md#J2"],
             "input": case.input, "expected": exp}
        errors = [e.message for e in validator.iter_errors(v)]
        assert not errors, (case.id, errors)
        assert set(case.expected.outputs) <= set(OUTPUT_CAPABILITY)
    # Withheld negatives are noted, the goldens are explained, nothing disappears silently.
    notes = "\n".join(c.notes)
    assert "negatives/negative-malformed-minor-00.json" in notes
    assert "rsa-pss-attestation.golden.json" in notes
    assert "evidence-export-bundle.golden.json" in notes


def test_peer_conversion_details(peer_corpus):
    by_id = {case.id: case for case in peer_corpus.cases}
    env = by_id["ar-io-proof:envelope-asset-registered-01"]
    assert env.expected.status == "verified"
    assert set(env.expected.outputs) == {"signed_scope_hex", "payload_hash_hex", "signature_hex"}
    assert by_id["ar-io-proof:events-event-01.without-record"].expected.describe() == \
        "incomplete/payload_unavailable"
    assert by_id["ar-io-proof:events-event-01.with-record"].expected.status == "verified"
    assert by_id["ar-io-proof:events-event-01.wrong-record"].expected.describe() == \
        "failed/payload_hash_mismatch"
    tree = by_id["ar-io-proof:merkle-tree-1024-leaves.root"]
    assert len(tree.input["leaves_hex"]) == 1024
    assert tree.expected.outputs["root_hex"].startswith("0dca94ee")
    assert by_id["ar-io-proof:merkle-tree-00-leaves.root"].expected.outputs["root_hex"] == \
        hashlib.sha256(b"").hexdigest()
    assert by_id["ar-io-proof:merkle-tree-07-leaves.inclusion-3-at-4"].expected.describe() == \
        "failed/inclusion_invalid"
    ev = {k.split(":")[1]: v.expected for k, v in by_id.items() if v.family == "evidence"}
    assert len(ev) == 14
    assert ev["evidence-export-source-bundle-ref"].status == "incomplete"  # partial
    assert ev["evidence-export-malformed-rsa-key"].status == "malformed"
    assert ev["evidence-export-positive-01"].outputs["verdict_jcs_sha256"].startswith("738663f3")
    assert all(e.reason_known for e in ev.values())
    chain = by_id["ar-io-proof:events-checkpoint-chain-01.chain"]
    assert len(chain.input["events"]) == 2 and chain.expected.status == "verified"
    assert by_id["ar-io-proof:events-checkpoint-chain-01.chain-window-2-alone"].expected.describe() == \
        "incomplete/chain_link_unresolved"


def test_peer_digest_mismatch_is_a_corpus_error(tmp_path):
    root = tmp_path / "peer"
    shutil.copytree(peer(), root)
    f = root / "merkle-tree-02-leaves.json"
    f.write_bytes(f.read_bytes().replace(b"Two", b"TWO", 1) + b" ")
    with pytest.raises(CorpusError, match="CORPUS-v1.md"):
        load_corpus(root)


def test_detect_format(tmp_path):
    assert detect_format(peer()) == "ar-io-proof"
    with pytest.raises(CorpusError):
        detect_format(tmp_path)
    with pytest.raises(CorpusError):
        detect_format(tmp_path / "absent")


# -- negatives in the real ar-io-proof shape (withheld from our copy: synthesized here) -----


def _sign_envelope(env: dict) -> dict:
    key = SigningKey(SEED)
    env = {k: v for k, v in env.items() if k != "signature"}
    env["public_key"] = key.verify_key.encode().hex()
    env["signature"] = key.sign(rfc8785.dumps(env)).signature.hex()
    return env


def _agent_envelope() -> dict:
    v = json.loads((peer() / "envelope-asset-registered-01.json").read_text())
    env = dict(v["inputs"]["envelope_pre_signature"])
    env["payload_hash"] = v["expected_outputs"]["payload_hash_hex"]
    return _sign_envelope(env)


def _negative(vid: str, category: str, data: bytes, reason: str) -> dict:
    return {"vector_id": vid, "category": category, "description": f"synthetic {category}",
            "envelope_bytes_hex": data.hex(), "expect": {"accepts": False, "reason": reason}}


def _resign_wrapper(bundle: dict) -> dict:
    bundle = copy.deepcopy(bundle)
    bundle["body_hash"] = hashlib.sha256(rfc8785.dumps(bundle["body"])).hexdigest()
    scope = {k: v for k, v in bundle.items() if k not in ("signature", "co_signatures")}
    bundle["signature"] = SigningKey(SEED).sign(rfc8785.dumps(scope)).signature.hex()
    return bundle


@pytest.fixture(scope="module")
def peer_with_negatives(tmp_path_factory):
    root = tmp_path_factory.mktemp("peer") / "ar-io-proof"
    shutil.copytree(peer(), root)
    neg = root / "negatives"
    neg.mkdir()
    env = _agent_envelope()
    minor = _sign_envelope({**env, "spec_version": "ario.agent/v1.x"})
    no_hash = _sign_envelope({k: v for k, v in env.items() if k != "payload_hash"})
    flipped = dict(env, signature=env["signature"][:-1] + ("0" if env["signature"][-1] != "0" else "1"))
    surrogate = ('{"spec_version":"ario.agent/v1","signed_at":"2026-01-01T00:00:00Z \\ud800",'
                 '"payload_hash":"' + "00" * 32 + '","public_key":"' + env["public_key"] +
                 '","signature":"' + "00" * 64 + '"}').encode()
    cases = [
        _negative("synthetic-malformed-minor-00", "malformed-minor", rfc8785.dumps(minor), "unsupported_spec_version"),
        _negative("synthetic-missing-payload-hash-00", "missing-payload-hash", rfc8785.dumps(no_hash), "missing_payload_hash"),
        _negative("synthetic-lone-surrogate-00", "lone-surrogate", surrogate, "lone_surrogate"),
        _negative("synthetic-future-reason-00", "future", rfc8785.dumps(flipped), "some_future_reason"),
    ]
    for c in cases:
        (neg / f"{c['vector_id']}.json").write_text(json.dumps(c, indent=2))
    raw = root / "evidence-export" / "negatives"
    raw.mkdir()
    positive = json.loads((root / "evidence-export/evidence-export-positive-01.json").read_text())["bundle"]
    deep: dict = {"end": 0}
    for _ in range(130):
        deep = {"d": deep}
    (raw / "deep-nesting.json").write_text(json.dumps({**positive, "body": {**positive["body"], "deep": deep}}))
    forged = copy.deepcopy(positive)
    forged["body"]["attestations"][0]["public_key"]["e"] = "AQ"  # e = 1
    (raw / "attestation-exponent-forgery.json").write_text(json.dumps(_resign_wrapper(forged)))
    (raw / "something-new.json").write_text(json.dumps(_resign_wrapper({**positive, "spec_version": "ario.evidence/v9"})))
    return root


def test_negatives_shape_loads(peer_with_negatives):
    c = load_corpus(peer_with_negatives)
    by_id = {case.id.split(":", 1)[1]: case for case in c.cases}
    assert by_id["synthetic-malformed-minor-00"].expected.describe() == "malformed/unsupported_spec_version"
    assert by_id["synthetic-missing-payload-hash-00"].expected.describe() == "malformed/missing_payload_hash"
    assert by_id["synthetic-lone-surrogate-00"].expected.describe() == "malformed/lone_surrogate"
    future = by_id["synthetic-future-reason-00"].expected
    assert future.status == REJECTED and not future.reason_known
    assert by_id["negatives.deep-nesting"].expected.describe() == "malformed/nesting_too_deep"
    assert by_id["negatives.attestation-exponent-forgery"].expected.describe() == \
        "failed/attestation_signature_invalid"
    assert by_id["negatives.something-new"].expected.status == REJECTED


def _run(impl: list[str], corpus: Path) -> tuple[int, dict]:
    proc = subprocess.run([sys.executable, "-m", "verifier", "conformance", "--no-vectors",
                           "--corpus", str(corpus), "--json", "--impl", " ".join(impl)],
                          capture_output=True, text=True, cwd=ROOT, timeout=600)
    return proc.returncode, json.loads(proc.stdout)


def test_builtin_passes_and_canary_fails_the_negatives(peer_with_negatives):
    rc, report = _run([sys.executable, "-m", "verifier.conformance.adapters.builtin"], peer_with_negatives)
    bad = [(c["id"], c.get("detail")) for c in report["cases"] if c["outcome"] != "passed"]
    assert rc == 0 and bad == []
    rc, report = _run([sys.executable, str(HERE / "canary_accept_all.py")], peer_with_negatives)
    failed = {c["id"] for c in report["cases"] if c["outcome"] == "failed"}
    negatives = {c["id"] for c in report["cases"] if "negatives" in c["source"]}
    assert rc == 1 and len(negatives) == 7 and negatives <= failed
