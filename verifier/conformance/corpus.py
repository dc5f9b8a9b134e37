"""Loading conformance corpora into cases.

Two formats are understood and told apart automatically (`load_corpus`):

* ours (spec/vectors.md): `MANIFEST.json` plus `<family>/<id>.json` vectors. Every file's
  SHA-256 and size must match the manifest, every vector file must be listed, and every
  vector must validate against spec/vector.schema.json (with `jsonschema` when installed,
  else a built-in structural check of the same rules).
* the ar-io-proof corpus (`CORPUS-v1.md`, `envelope-*.json`, `merkle-tree-*.json`,
  `ario.events-v1/`, `evidence-export/`, `negatives/`), converted by `peer.py`.

A corpus that does not load is a `CorpusError` (exit 2 in the CLI): a broken corpus is not
a test failure of the implementation.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .model import FAMILIES, REASON_RE, STATUSES, Case, Expected

MANIFEST = "MANIFEST.json"
SCHEMA_RELATIVE = Path("spec") / "vector.schema.json"
_ID_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{2,95}$")
_HEX_RE = re.compile(r"^(?:[0-9a-f]{2})*$")
_REF_RE = re.compile(r"^[a-z0-9-]+\.md#[A-Za-z0-9.-]+$")


class CorpusError(Exception):
    """The corpus itself is broken or unreadable."""


@dataclass
class Corpus:
    """Cases loaded from one directory."""

    label: str  # prefix namespace of case ids ("" for our own vectors)
    kind: str  # "ario-verifier" or "ar-io-proof"
    root: Path
    cases: list[Case]
    version: str = ""
    notes: list[str] = field(default_factory=list)  # files not converted, withheld pins...

    def summary(self) -> dict[str, Any]:
        return {
            "label": self.label or self.kind,
            "kind": self.kind,
            "root": str(self.root),
            "version": self.version,
            "cases": len(self.cases),
            "notes": list(self.notes),
        }


def default_vectors_dir() -> Path:
    """Our test-vectors/ beside the package (the package is installed editable)."""
    import verifier

    return Path(verifier.__file__).resolve().parents[1] / "test-vectors"


def detect_format(root: Path) -> str:
    """'ario-verifier' or 'ar-io-proof'; raises CorpusError if neither."""
    if not root.is_dir():
        what = "not a directory" if root.exists() else "no such directory"
        raise CorpusError(f"{root}: {what} (--corpus takes a corpus checkout: a directory "
                          "with MANIFEST.json, or the ar-io-proof corpus with CORPUS-v1.md)")
    if (root / MANIFEST).is_file():
        return "ario-verifier"
    peer_markers = ("CORPUS-v1.md", "ario.events-v1", "evidence-export", "negatives")
    if any((root / m).exists() for m in peer_markers) or any(root.glob("envelope-*.json")) \
            or any(root.glob("merkle-tree-*.json")):
        return "ar-io-proof"
    raise CorpusError(
        f"{root}: neither an ario-verifier corpus ({MANIFEST}) nor an ar-io-proof corpus "
        "(CORPUS-v1.md, envelope-*.json, merkle-tree-*.json, ario.events-v1/, evidence-export/)"
    )


def load_corpus(root: Path, label: str | None = None) -> Corpus:
    """Load a corpus of either format."""
    root = Path(root)
    kind = detect_format(root)
    if kind == "ario-verifier":
        return load_vectors(root, label=label or "")
    from .peer import load_ario_proof

    return load_ario_proof(root, label=label or "ar-io-proof")


# -- our format ---------------------------------------------------------------------------


def load_vectors(root: Path, label: str = "", schema_path: Path | None = None) -> Corpus:
    """Load test-vectors/: manifest digests, schema validation, one case per vector."""
    root = Path(root)
    manifest_file = root / MANIFEST
    if not manifest_file.is_file():
        raise CorpusError(f"{root}: no {MANIFEST}; regenerate with python tools/gen_vectors.py")
    manifest = read_json(manifest_file)
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, dict):
        raise CorpusError(f"{manifest_file}: 'files' must map path -> {{sha256, bytes}}")

    on_disk = {p.relative_to(root).as_posix() for p in root.rglob("*.json")} - {MANIFEST}
    problems: list[str] = []
    for name in sorted(on_disk - set(files)):
        problems.append(f"{name}: vector file not listed in {MANIFEST}")
    for name in sorted(set(files) - on_disk):
        problems.append(f"{name}: listed in {MANIFEST} but missing")
    for name in sorted(set(files) & on_disk):
        entry = files[name]
        data = (root / name).read_bytes()
        if not isinstance(entry, dict):
            problems.append(f"{name}: manifest entry is not an object")
            continue
        if entry.get("sha256") != hashlib.sha256(data).hexdigest():
            problems.append(f"{name}: SHA-256 differs from {MANIFEST}")
        if entry.get("bytes") != len(data):
            problems.append(f"{name}: size {len(data)} differs from {MANIFEST} ({entry.get('bytes')})")
    count = manifest.get("count")
    if isinstance(count, int) and count != len(files):
        problems.append(f"{MANIFEST}: count {count} but {len(files)} files listed")
    if problems:
        raise CorpusError("broken corpus " + str(root) + ":\n  " + "\n  ".join(problems))

    validate = _validator(schema_path or _find_schema(root))
    cases: list[Case] = []
    seen: dict[str, str] = {}
    for name in sorted(files):
        vector = read_json(root / name)
        errors = validate(vector)
        family_dir, _, file_name = name.rpartition("/")
        if not errors:
            if vector["id"] != file_name[: -len(".json")]:
                errors.append(f"id {vector['id']!r} differs from the file name")
            if vector["family"] != family_dir:
                errors.append(f"family {vector['family']!r} differs from its directory")
        if errors:
            raise CorpusError(f"{root / name}: invalid vector:\n  " + "\n  ".join(errors))
        vid = (f"{label}:" if label else "") + vector["id"]
        if vid in seen:
            raise CorpusError(f"{root / name}: id {vid!r} already used by {seen[vid]}")
        seen[vid] = name
        exp = vector["expected"]
        cases.append(Case(
            id=vid,
            corpus=label or "ario-verifier",
            family=vector["family"],
            input=vector["input"],
            expected=Expected(exp["status"], exp["reason"], True, dict(exp.get("outputs", {}))),
            description=vector["description"],
            source=name,
        ))
    version = str(manifest.get("corpus_version", ""))
    return Corpus(label, "ario-verifier", root, cases, version)


def read_json(path: Path) -> Any:
    """A corpus file, read as its authors' tools read JSON (Python's json: negative vectors
    embed deep, duplicate-key or out-of-range documents on purpose). Whatever the file
    holds, the answer is a value or a CorpusError, never another exception."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CorpusError(f"{path}: unreadable: {exc.strerror or exc}") from None
    try:
        return json.loads(data)
    except RecursionError:
        raise CorpusError(f"{path}: unreadable JSON: nested too deeply to read") from None
    except ValueError as exc:  # JSONDecodeError, bad UTF-8, integer literals past 4,300 digits
        why = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc).split(";")[0]
        raise CorpusError(f"{path}: unreadable JSON: {why[:200]}") from None


def _find_schema(vectors_root: Path) -> Path | None:
    for base in (vectors_root.resolve().parent, default_vectors_dir().parent):
        candidate = base / SCHEMA_RELATIVE
        if candidate.is_file():
            return candidate
    return None


def _validator(schema_path: Path | None):
    """A function vector -> list of error strings."""
    schema = read_json(schema_path) if schema_path is not None else None
    if schema is not None:
        try:
            import jsonschema  # test extra; optional at run time
        except ImportError:
            jsonschema = None  # type: ignore[assignment]
        if jsonschema is not None:
            cls = jsonschema.validators.validator_for(schema)
            cls.check_schema(schema)
            checker = cls(schema)

            def validate_with_schema(vector: Any) -> list[str]:
                errs = sorted(checker.iter_errors(vector), key=lambda e: list(e.absolute_path))
                return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in errs]

            return validate_with_schema
    return structural_check


_INPUT_KEYS = {
    "document_hex", "payload_hex", "expected_id", "expected_data_hex", "leaves_hex",
    "leaf_index", "audit_path_hex", "root_hex", "tree_size", "events", "policy", "trusted_signers",
}
_B64U_ADDRESS_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")
#: policy keys: the kernel policy, plus the audit trust policy for `audit_bundle` vectors.
_POLICY_KEYS = {"allow_legacy", "trusted_keys", "require_binding", "trusted_receipt_signers"}
_OUTPUT_KEYS = {
    "canonical_hex", "signed_scope_hex", "payload_hash_hex", "signature_hex", "root_hex",
    "leaf_hashes_hex", "audit_path_hex", "verdict_jcs_sha256", "data_item_id",
}
_OUTPUT_LEN = {"payload_hash_hex": 64, "root_hex": 64, "verdict_jcs_sha256": 64, "signature_hex": 128}
_TOP_KEYS = {"vector_version", "id", "family", "description", "spec_refs", "input", "expected"}


def structural_check(v: Any) -> list[str]:
    """The rules of spec/vector.schema.json, checked without jsonschema."""
    if not isinstance(v, dict):
        return ["vector is not an object"]
    errs = [f"missing {k}" for k in sorted(_TOP_KEYS - set(v))]
    errs += [f"unknown key {k}" for k in sorted(set(v) - _TOP_KEYS)]
    if errs:
        return errs
    if v["vector_version"] != 1 or isinstance(v["vector_version"], bool):
        errs.append("vector_version must be 1")
    if not isinstance(v["id"], str) or not _ID_RE.match(v["id"]):
        errs.append("id does not match the id pattern")
    if v["family"] not in FAMILIES:
        errs.append(f"unknown family {v['family']!r}")
    if not isinstance(v["description"], str) or len(v["description"]) < 10:
        errs.append("description must be a string of at least 10 characters")
    refs = v["spec_refs"]
    if not isinstance(refs, list) or not refs or not all(isinstance(r, str) and _REF_RE.match(r) for r in refs):
        errs.append("spec_refs must be a non-empty list of file.md#STEP")
    errs += _check_input(v["input"])
    errs += _check_expected(v["expected"])
    return errs


def _is_hex(x: Any) -> bool:
    return isinstance(x, str) and bool(_HEX_RE.match(x))


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _check_input(inp: Any) -> list[str]:
    if not isinstance(inp, dict):
        return ["input must be an object"]
    errs = [f"input: unknown key {k}" for k in sorted(set(inp) - _INPUT_KEYS)]
    for k in ("document_hex", "payload_hex", "expected_data_hex", "root_hex"):
        if k in inp and not _is_hex(inp[k]):
            errs.append(f"input.{k} must be lowercase hex")
    if "leaves_hex" in inp and not (isinstance(inp["leaves_hex"], list) and all(_is_hex(x) for x in inp["leaves_hex"])):
        errs.append("input.leaves_hex must be a list of lowercase hex")
    # audit_path_hex may hold deliberately bad hex in must-reject cases: strings only.
    if "audit_path_hex" in inp and not (isinstance(inp["audit_path_hex"], list)
                                        and all(isinstance(x, str) for x in inp["audit_path_hex"])):
        errs.append("input.audit_path_hex must be a list of strings")
    if "trusted_signers" in inp and not (isinstance(inp["trusted_signers"], list) and all(
            isinstance(x, str) and _B64U_ADDRESS_RE.match(x) for x in inp["trusted_signers"])):
        errs.append("input.trusted_signers must be 43-character base64url addresses")
    for k in ("leaf_index", "tree_size"):
        if k in inp and not _is_int(inp[k]):
            errs.append(f"input.{k} must be an integer")
    if "expected_id" in inp and not isinstance(inp["expected_id"], str):
        errs.append("input.expected_id must be a string")
    if "events" in inp:
        events = inp["events"]
        if not isinstance(events, list):
            errs.append("input.events must be a list")
        else:
            for i, e in enumerate(events):
                if not isinstance(e, dict) or "document_hex" not in e \
                        or set(e) - {"tx_id", "document_hex", "payload_hex"} \
                        or not _is_hex(e["document_hex"]) \
                        or ("payload_hex" in e and not _is_hex(e["payload_hex"])) \
                        or ("tx_id" in e and not isinstance(e["tx_id"], str)):
                    errs.append(f"input.events[{i}] is not {{tx_id?, document_hex, payload_hex?}}")
    if "policy" in inp:
        p = inp["policy"]
        if not isinstance(p, dict) or set(p) - _POLICY_KEYS:
            errs.append("input.policy has unknown keys")
        else:
            for k in ("allow_legacy", "require_binding"):
                if k in p and not isinstance(p[k], bool):
                    errs.append(f"input.policy.{k} must be a boolean")
            keys = p.get("trusted_keys", [])
            if not isinstance(keys, list) or not all(_is_hex(k) and len(k) == 64 for k in keys):
                errs.append("input.policy.trusted_keys must be 64-hex strings")
            signers = p.get("trusted_receipt_signers", [])
            if not isinstance(signers, list) or not all(
                    isinstance(x, str) and _B64U_ADDRESS_RE.match(x) for x in signers):
                errs.append("input.policy.trusted_receipt_signers must be 43-character base64url "
                            "addresses")
    return errs


def _check_expected(exp: Any) -> list[str]:
    if not isinstance(exp, dict):
        return ["expected must be an object"]
    errs = [f"expected: unknown key {k}" for k in sorted(set(exp) - {"status", "reason", "checks", "outputs"})]
    if "status" not in exp or "reason" not in exp:
        return errs + ["expected needs status and reason"]
    status, reason = exp["status"], exp["reason"]
    if status not in STATUSES:
        errs.append(f"expected.status {status!r} is not a status")
    if status == "verified" and reason is not None:
        errs.append("expected.reason must be null when verified")
    if status != "verified" and not (isinstance(reason, str) and REASON_RE.fullmatch(reason)):
        errs.append("expected.reason must be a reason code unless verified")
    checks = exp.get("checks", {})
    if not isinstance(checks, dict) or not all(
            o in ("passed", "skipped", "incomplete", "failed", "malformed") for o in checks.values()):
        errs.append("expected.checks must map check ids to outcomes")
    outputs = exp.get("outputs", {})
    if not isinstance(outputs, dict):
        errs.append("expected.outputs must be an object")
    else:
        errs += [f"expected.outputs: unknown key {k}" for k in sorted(set(outputs) - _OUTPUT_KEYS)]
        for k, val in outputs.items():
            if k in ("leaf_hashes_hex", "audit_path_hex"):
                if not (isinstance(val, list) and all(_is_hex(x) and len(x) == 64 for x in val)):
                    errs.append(f"expected.outputs.{k} must be a list of 64-hex strings")
            elif k == "data_item_id":
                if not isinstance(val, str):
                    errs.append("expected.outputs.data_item_id must be a string")
            elif k in _OUTPUT_KEYS and not (_is_hex(val) and len(val) == _OUTPUT_LEN.get(k, len(val))):
                errs.append(f"expected.outputs.{k} must be lowercase hex of the right length")
    return errs
