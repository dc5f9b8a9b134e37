"""Audit bundle vectors (family `audit_bundle`): whole `ario-verifier.audit-bundle/v1` ZIPs
(spec/audit-bundle.md) audited offline under a trust policy (spec/audit.md).

One small lineage -- dataset -> training -> registration -> promotion, prediction -- with
envelopes signed by the `family` key, each carried by a signed ANS-104 data item (type 2,
its own upload key) whose id is the tx id, a Turbo receipt for every tx id, MLflow surfaces
that re-derive every record exactly, and the training run's model files. The clean bundle
verifies; every must-reject case changes exactly one thing.

The archive is written here byte by byte (not with `zipfile`, and never with `verifier`):
entries dated 1980-01-01 00:00:00, Unix mode 0100644, `manifest.json` first, then members
sorted by name (spec/audit-bundle.md §2). Deflated members use the small fixed-Huffman LZ77
encoder below instead of zlib's, so the corpus regenerates byte for byte on any zlib
build; zlib only checks, by inflating, that every stream is right. One clean vector stores
its members (method 0) so both member methods are exercised.
"""

from __future__ import annotations

import base64
import calendar
import copy
import functools
import hashlib
import json
import struct
import zlib
from typing import Any

from nacl.signing import SigningKey

from . import mlflow_samples as ms
from .common import FAMILY_KEY, GENESIS, Vector, h, jcs, pub, sign
from .dataitem_cases import build_item, deep_hash, item_id
from .rsa_det import DetRSA

FORMAT = "ario-verifier.audit-bundle/v1"
TARGET = f"models:/{ms.MODEL}/1"
CREATED_AT = "2026-06-16T08:00:00Z"
GATEWAY = "https://arweave.net"
GATEWAY_2 = "https://ardrive.net"
UPLOAD_KEY = SigningKey(hashlib.sha256(b"ario-verifier vectors: upload wallet").digest())
RECEIPT_SEED = "ario-verifier vectors: receipt signer"  # the receipt family's signer
SLOTS = {  # slot -> (directory, suffix), spec/audit-bundle.md §3
    "envelope": ("envelopes", ".json"),
    "payload": ("payloads", ".bin"),
    "data_item": ("dataitems", ".bin"),
    "receipt": ("receipts", ".json"),
    "surface": ("surfaces", ".json"),
}
MODEL_FILES = {"MLmodel": h(b"mlmodel"), "conda.yaml": h(b"conda"), "model.pkl": h(b"weights")}
RAW_METRICS = {"accuracy": 0.91234612, "auc": 0.95}  # as MLflow holds them (latest values)
DECISION = ms.SUBJECTS["prediction"]["decision_id"]
TRACE_ID = "tr-7d3f1e2a4b5c4d6e8f701a2b3c4d5e6f"
RECEIPT_TIME_MS = calendar.timegm((2026, 6, 15, 12, 0, 1)) * 1000 + 250

# -- deflate (RFC 1951): one final fixed-Huffman block, greedy LZ77 -------------------------

_LEN_BASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83,
             99, 115, 131, 163, 195, 227, 258]
_LEN_EXTRA = [0] * 8 + [1] * 4 + [2] * 4 + [3] * 4 + [4] * 4 + [5] * 4 + [0]
_DIST_BASE = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769,
              1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577]
_DIST_EXTRA = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11,
               12, 12, 13, 13]


class _Bits:
    def __init__(self) -> None:
        self.acc = self.n = 0
        self.out = bytearray()

    def put(self, value: int, nbits: int) -> None:
        """Bits LSB-first (header fields, extra bits)."""
        self.acc |= value << self.n
        self.n += nbits
        while self.n >= 8:
            self.out.append(self.acc & 0xFF)
            self.acc >>= 8
            self.n -= 8

    def code(self, code: int, nbits: int) -> None:
        """A Huffman code, sent most significant bit first."""
        self.put(int(format(code, f"0{nbits}b")[::-1], 2), nbits)

    def done(self) -> bytes:
        if self.n:
            self.out.append(self.acc & 0xFF)
        return bytes(self.out)


def _litlen(bits: _Bits, v: int) -> None:
    if v < 144:
        bits.code(0x30 + v, 8)
    elif v < 256:
        bits.code(0x190 + v - 144, 9)
    elif v < 280:
        bits.code(v - 256, 7)
    else:
        bits.code(0xC0 + v - 280, 8)


def _match(bits: _Bits, length: int, dist: int) -> None:
    i = max(k for k, base in enumerate(_LEN_BASE) if base <= length)
    _litlen(bits, 257 + i)
    bits.put(length - _LEN_BASE[i], _LEN_EXTRA[i])
    j = max(k for k, base in enumerate(_DIST_BASE) if base <= dist)
    bits.code(j, 5)
    bits.put(dist - _DIST_BASE[j], _DIST_EXTRA[j])


@functools.lru_cache(maxsize=None)  # most members recur unchanged across the vectors
def deflate(data: bytes) -> bytes:
    """Raw deflate of `data`, a pure function of the bytes (no zlib involved)."""
    bits = _Bits()
    bits.put(1, 1)  # BFINAL
    bits.put(1, 2)  # BTYPE 01: fixed Huffman codes
    chains: dict[bytes, list[int]] = {}
    i, n = 0, len(data)

    def remember(pos: int) -> None:
        chain = chains.setdefault(data[pos:pos + 3], [])
        chain.append(pos)
        if len(chain) > 16:
            del chain[0]

    while i < n:
        best_len, best_dist = 0, 0
        if i + 3 <= n:
            limit = min(258, n - i)
            for p in reversed(chains.get(data[i:i + 3], ())):
                if i - p > 32768:
                    break
                k = 3
                while k < limit and data[p + k] == data[i + k]:
                    k += 1
                if k > best_len:
                    best_len, best_dist = k, i - p
                    if k == limit:
                        break
        if best_len >= 3:
            _match(bits, best_len, best_dist)
            for pos in (range(i, i + best_len) if best_len <= 32 else range(i + best_len - 3, i + best_len)):
                if pos + 3 <= n:
                    remember(pos)
            i += best_len
        else:
            _litlen(bits, data[i])
            if i + 3 <= n:
                remember(i)
            i += 1
    _litlen(bits, 256)  # end of block
    out = bits.done()
    assert zlib.decompress(out, -15) == data  # the stream is right (inflating is standard)
    return out


# -- ZIP writing (PKWARE APPNOTE, spec/audit-bundle.md §2) ----------------------------------

_DOS_DATE = (0 << 9) | (1 << 5) | 1  # 1980-01-01
_DOS_TIME = 0
REGULAR = 0o100644
SYMLINK = 0o120777


def zip_archive(entries: list[dict[str, Any]]) -> bytes:
    """A ZIP of `entries`, in order. Entry keys: name (str), data (bytes), method
    ("deflate" | "stored"), optional mode (Unix, default 0100644), optional declared_size
    (the uncompressed size the headers claim, to build lying headers)."""
    out = bytearray()
    central = bytearray()
    for e in entries:
        name = e["name"].encode("ascii")
        data = e["data"]
        method = 8 if e.get("method", "deflate") == "deflate" else 0
        packed = deflate(data) if method == 8 else data
        size = e.get("declared_size", len(data))
        crc = zlib.crc32(data)
        offset = len(out)
        out += struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, method, _DOS_TIME, _DOS_DATE,
                           crc, len(packed), size, len(name), 0) + name + packed
        central += struct.pack("<4s6H3L5H2L", b"PK\x01\x02", (3 << 8) | 20, 20, 0, method,
                               _DOS_TIME, _DOS_DATE, crc, len(packed), size, len(name), 0, 0, 0,
                               0, e.get("mode", REGULAR) << 16, offset) + name
    cd_offset = len(out)
    out += central
    out += struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(entries), len(entries), len(central),
                       cd_offset, 0)
    return bytes(out)


def json_member(value: Any) -> bytes:
    """A JSON member as the reference writer serialises it (any strict JSON is accepted)."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, allow_nan=False,
                      separators=(",", ":")).encode("utf-8")


# -- the lineage --------------------------------------------------------------------------


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


_RECEIPT_KEY: DetRSA | None = None


def receipt_key() -> DetRSA:
    global _RECEIPT_KEY
    if _RECEIPT_KEY is None:
        _RECEIPT_KEY = DetRSA(RECEIPT_SEED, 2048)
    return _RECEIPT_KEY


def receipt(tx: str, n: int) -> dict[str, Any]:
    """A Turbo receipt (current "Bundlr" layout, salt 0) for the data item `tx`."""
    key = receipt_key()
    r = {"id": tx, "timestamp": RECEIPT_TIME_MS + 1000 * n, "version": "0.2.0",
         "deadlineHeight": 1512545 + n, "dataCaches": ["arweave.net"], "fastFinalityIndexes": [],
         "winc": "0", "owner": b64u(hashlib.sha256(UPLOAD_KEY.verify_key.encode()).digest()),
         "public": b64u(key.n_bytes)}
    msg = deep_hash([b"Bundlr", r["version"].encode(), tx.encode(), str(r["deadlineHeight"]).encode(),
                     str(r["timestamp"]).encode()])
    r["signature"] = b64u(key.sign_pss(msg, 0))
    return r


def data_item(envelope: dict[str, Any], n: int) -> bytes:
    """The signed ANS-104 item carrying JCS(envelope), tagged as ar-io-mlflow tags it."""
    tags = [("Content-Type", "application/json"), ("App-Name", "ar-io-mlflow"),
            ("App-Version", "0.3.0"), ("Event-Type", envelope["event_type"]),
            ("Event-Id", envelope["event_id"]), ("Chain-Prev", envelope["previous_hash"])]
    anchor = hashlib.sha256(b"audit bundle anchor %d" % n).digest()
    return build_item(2, UPLOAD_KEY.verify_key.encode(), lambda m: UPLOAD_KEY.sign(m).signature,
                      jcs(envelope), tags, anchor)


def _dataset_surface() -> dict[str, Any]:
    return {"name": ms.DATASET["name"], "digest": ms.DATASET["digest"], "source": ms.DATASET["source"],
            "source_type": ms.DATASET["source_type"], "schema": json.dumps(ms.SCHEMA), "run_id": ms.RUN_ID}


def payloads() -> dict[str, dict[str, Any]]:
    """The committed payload of every event (spec/mlflow-profile.md §3)."""
    surface = _dataset_surface()
    schema_hash = h(jcs(json.loads(surface["schema"])))
    assert schema_hash == ms.DATASET["schema_hash"]
    identity = {k: surface[k] for k in ("name", "source", "source_type", "digest")}
    metrics = {k: round(v, 6) for k, v in RAW_METRICS.items()}  # normalize_floats(·, 6)
    assert metrics["accuracy"] == 0.912346
    return {
        "dataset": {"event_type": "dataset", **identity, "schema_hash": schema_hash},
        "training_complete": {
            "event_type": "training_complete", "run_id": ms.RUN_ID,
            "params": {"learning_rate": "0.1", "max_depth": "6"}, "metrics": metrics,
            "artifact_checksums": dict(MODEL_FILES), "source_name": "train.py",
            "git_commit": "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432",
            "dataset_inputs": [{**identity, "schema_hash": schema_hash, "context": "training"}],
        },
        "model_registered": {
            "event_type": "model_registered", "model_name": ms.MODEL, "model_version": "1",
            "source_run_id": ms.RUN_ID, "source": f"runs:/{ms.RUN_ID}/model",
            "artifact_verified": True, "artifact_hash": h(jcs(MODEL_FILES)),
        },
        "stage_transition": {
            "event_type": "stage_transition", "model_name": ms.MODEL, "model_version": "1",
            "from_stage": "None", "to_stage": "Production",
        },
        "prediction": {
            "event_type": "prediction", "decision_id": DECISION, "model_name": ms.MODEL,
            "model_version": "1", "run_id": ms.RUN_ID, "model_uri": f"models:/{ms.MODEL}/1",
            "input_hash": h(jcs({"features": [52000.0, 41]})), "output_hash": h(jcs({"prediction": [1]})),
            "latency_ms": 3.14, "artifact_verified": True, "mlflow_trace_id": TRACE_ID,
        },
    }


ORDER = ["dataset", "training_complete", "model_registered", "stage_transition", "prediction"]
PAYLOAD_PATHS = {
    "training_complete": "ario/payload.json",
    "model_registered": "ario/registration_payload.json",
    "stage_transition": f"ario/promotions/{ms.EVENT_IDS['stage_transition']}/payload.json",
    "prediction": f"ario/predictions/{DECISION}/payload.json",
}
PROOF_PATHS = {
    "training_complete": "ario/proof.json",
    "model_registered": "ario/registration_proof.json",
    "stage_transition": f"ario/promotions/{ms.EVENT_IDS['stage_transition']}/proof.json",
    "prediction": f"ario/predictions/{DECISION}/proof.json",
}
TX_SOURCE = {
    "dataset": f"tag:ario.dataset_anchor_tx.{ms.DATASET['name']}",
    "training_complete": "tag:ario.training_tx",
    "model_registered": "tag:ario.registration_tx",
    "stage_transition": "tag:ario.promotion_tx",
    "prediction": "trace-tag:ario.prediction_tx",
}


def lineage() -> dict[str, Any]:
    """The clean evidence: {"events": [event...], "model_files": {...}, "gaps": []}.

    An event is {event_type, tx, envelope (dict), envelope_bytes, payload, data_item,
    receipt, surface, hints, origins, fetch}; bytes are what goes into the bundle.
    """
    pls = payloads()
    tx: dict[str, str] = {}
    envs: dict[str, dict[str, Any]] = {}
    events = []
    for n, etype in enumerate(ORDER):
        payload_bytes = jcs(pls[etype])
        previous = {"dataset": GENESIS, "training_complete": GENESIS,
                    "model_registered": tx.get("training_complete")}.get(etype, tx.get("model_registered"))
        env = sign(ms.envelope_fields(etype, payload_bytes, previous=previous))
        item = data_item(env, n)
        tx[etype] = item_id(item)
        envs[etype] = env
        hints = {"event_type": etype, "tx_source": TX_SOURCE[etype], "run_id": ms.RUN_ID,
                 "event_id": env["event_id"], "data_item_origin": f"gateway:{GATEWAY}"}
        origins = {"envelope": f"gateway:{GATEWAY}"}
        if etype in PAYLOAD_PATHS:
            origins["payload"] = f"mlflow-artifact:{ms.RUN_ID}/{PAYLOAD_PATHS[etype]}"
        if etype in ("model_registered", "stage_transition", "prediction"):
            hints.update(model_name=ms.MODEL, model_version="1")
        if etype == "prediction":
            hints.update(decision_id=DECISION, trace_id=TRACE_ID)
        if etype == "dataset":
            hints["dataset_name"] = ms.DATASET["name"]
        events.append({
            "event_type": etype, "tx": tx[etype], "envelope": env, "envelope_bytes": jcs(env),
            "payload": None if etype == "dataset" else payload_bytes,  # never stored (A5.3)
            "data_item": item, "receipt": receipt(tx[etype], n), "surface": None,
            "hints": hints, "origins": origins,
            "fetch": {"status": "ok", "origin": GATEWAY, "per_gateway": [[GATEWAY, "ok"]]},
        })
    ahash = h(jcs(MODEL_FILES))
    run_tags = {
        "mlflow.source.name": "train.py",
        "mlflow.source.git.commit": "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432",
        "mlflow.source.type": "LOCAL", "ario.enabled": "true", "ario.version": "0.3.0",
        "ario.public_key": pub(FAMILY_KEY), "ario.verify_status": "anchored",
        "ario.payload_hash": envs["training_complete"]["payload_hash"],
        "ario.artifact_hash": ahash, "ario.training_tx": tx["training_complete"],
        f"ario.dataset_anchor_tx.{ms.DATASET['name']}": tx["dataset"],
    }
    ds = _dataset_surface()
    mv_tags = {
        "ario.verify_status": "anchored", "ario.public_key": pub(FAMILY_KEY),
        "ario.payload_hash": envs["model_registered"]["payload_hash"], "ario.artifact_verified": "true",
        "ario.registration_tx": tx["model_registered"],
        "ario.promotion_payload_hash": envs["stage_transition"]["payload_hash"],
        "ario.promotion_tx": tx["stage_transition"],
    }
    prediction_text = jcs(pls["prediction"]).decode("utf-8")
    surfaces = {
        "dataset": ds,
        "training_complete": {
            "run_id": ms.RUN_ID, "experiment_id": "1",
            "params": {"learning_rate": "0.1", "max_depth": "6"}, "metrics": dict(RAW_METRICS),
            "tags": run_tags,
            "dataset_inputs": [{k: ds[k] for k in ("name", "digest", "source", "source_type", "schema")}
                               | {"context": "training"}],
            "artifact_path": "model", "logged_model_paths": [], "artifact_checksums": dict(MODEL_FILES),
        },
        "model_registered": {
            "model_name": ms.MODEL, "model_version": "1", "current_stage": "Production",
            "tags": mv_tags, "source": f"runs:/{ms.RUN_ID}/model", "run_id": ms.RUN_ID,
            "run_tags": run_tags, "artifact_path": "model", "artifact_checksums": dict(MODEL_FILES),
        },
        "stage_transition": {"model_name": ms.MODEL, "model_version": "1",
                             "current_stage": "Production", "tags": mv_tags},
        "prediction": {"trace_id": TRACE_ID, "trace_tags": {
            "ario.payload_json": prediction_text, "ario.decision_id": DECISION,
            "ario.model_name": ms.MODEL, "ario.model_version": "1",
            "ario.input_hash": pls["prediction"]["input_hash"],
            "ario.output_hash": pls["prediction"]["output_hash"],
            "ario.payload_hash": envs["prediction"]["payload_hash"], "ario.proof_status": "anchored",
            "ario.artifact_verified": "true", "ario.prediction_tx": tx["prediction"]}},
    }
    for ev in events:
        ev["surface"] = surfaces[ev["event_type"]]
    return {"events": events, "model_files": {ms.RUN_ID: dict(MODEL_FILES)}, "gaps": []}


def event(lin: dict[str, Any], event_type: str) -> dict[str, Any]:
    return next(e for e in lin["events"] if e["event_type"] == event_type)


def local_key(ev: dict[str, Any]) -> str:
    """The `local-<32 hex>` key of an event without a tx id (any stable digest will do)."""
    return "local-" + hashlib.sha256(ev["envelope_bytes"]).hexdigest()[:32]


def bundle_members(lin: dict[str, Any]) -> tuple[dict[str, Any], dict[str, bytes]]:
    """(manifest, {member name: bytes}) for a lineage (spec/audit-bundle.md §3)."""
    members: dict[str, bytes] = {}
    entries = []
    for ev in lin["events"]:
        key = ev["tx"] if ev["tx"] is not None else local_key(ev)
        values = {"envelope": ev["envelope_bytes"], "payload": ev["payload"], "data_item": ev["data_item"],
                  "receipt": None if ev["receipt"] is None else json_member(ev["receipt"]),
                  "surface": None if ev["surface"] is None else json_member(ev["surface"])}
        entry: dict[str, Any] = {"key": key, "tx_id": ev["tx"], "event_type": ev["event_type"]}
        for slot, data in values.items():
            folder, suffix = SLOTS[slot]
            name = f"{folder}/{key}{suffix}"
            entry[slot] = None if data is None else name
            if data is not None:
                assert name not in members
                members[name] = data
        entry["hints"] = dict(sorted(ev["hints"].items()))
        entry["origins"] = dict(ev["origins"])
        if ev["fetch"] is not None:
            entry["fetch"] = ev["fetch"]
        entries.append(entry)
    model_files = {}
    for run_id, files in sorted(lin["model_files"].items()):
        name = f"model-files/{run_id}.json"
        members[name] = json_member(dict(sorted(files.items())))
        model_files[run_id] = name
    manifest = {
        "format": FORMAT, "target": lin.get("target", TARGET), "created_at": CREATED_AT,
        "tool": {"name": "ario-verifier tools/gen_vectors.py", "version": "1"},
        "members": [{"path": n, "sha256": h(d), "size": len(d)} for n, d in sorted(members.items())],
        "events": entries, "model_files": model_files, "gaps": [list(g) for g in lin["gaps"]],
    }
    return manifest, members


def archive_entries(manifest: dict[str, Any], members: dict[str, bytes],
                    method: str = "deflate") -> list[dict[str, Any]]:
    """The deterministic entry list: manifest.json first, then members sorted by name."""
    out = [{"name": "manifest.json", "data": json_member(manifest), "method": method}]
    out += [{"name": n, "data": d, "method": method} for n, d in sorted(members.items())]
    return out


def bundle(lin: dict[str, Any], method: str = "deflate") -> bytes:
    return zip_archive(archive_entries(*bundle_members(lin), method=method))


# -- vectors ------------------------------------------------------------------------------


def _policy(*, pinned: bool = True, require_binding: bool = False) -> dict[str, Any]:
    p: dict[str, Any] = {}
    if pinned:
        p["trusted_keys"] = [pub(FAMILY_KEY)]
        p["trusted_receipt_signers"] = [receipt_key().address()]
    if require_binding:
        p["require_binding"] = True
    return p


def _vec(vid: str, desc: str, refs: list[str], data: bytes, status: str, reason: str | None,
         policy: dict[str, Any] | None = None) -> Vector:
    inp: dict[str, Any] = {"document_hex": data.hex()}
    if policy:
        inp["policy"] = policy
    return Vector(f"audit-bundle-{vid}", "audit_bundle", desc, refs, inp, status, reason)


def content_vectors(base: dict[str, Any]) -> list[Vector]:
    """Well-formed bundles whose evidence is audited (spec/audit.md A1-A11)."""
    P = _policy()

    def lin(edit) -> dict[str, Any]:
        copy_ = copy.deepcopy(base)
        edit(copy_)
        return copy_

    def drop_item(ev: dict[str, Any]) -> None:
        ev["data_item"] = None
        ev["hints"].pop("data_item_origin", None)

    def no_binding_promotion(lin_: dict[str, Any]) -> None:
        drop_item(event(lin_, "stage_transition"))

    def no_envelope(lin_: dict[str, Any]) -> None:
        ev = event(lin_, "prediction")
        ev["envelope_bytes"] = None
        drop_item(ev)
        ev["origins"].pop("envelope")
        ev["fetch"] = {"status": "not_found", "origin": None,
                       "per_gateway": [[GATEWAY, "not_found"], [GATEWAY_2, "not_found"]]}

    def never_anchored(lin_: dict[str, Any]) -> None:
        ev = event(lin_, "prediction")
        ev["tx"] = None
        ev["envelope_bytes"] = json.dumps(ev["envelope"], indent=2).encode()  # the local proof.json
        ev["origins"]["envelope"] = f"mlflow-artifact:{ms.RUN_ID}/{PROOF_PATHS['prediction']}"
        drop_item(ev)
        ev["receipt"] = None
        ev["fetch"] = None
        ev["hints"].pop("tx_source")
        del ev["surface"]["trace_tags"]["ario.prediction_tx"]

    def disagreement(lin_: dict[str, Any]) -> None:
        event(lin_, "stage_transition")["fetch"] = {
            "status": "disagreement", "origin": None,
            "per_gateway": [[GATEWAY, "ok"], [GATEWAY_2, "ok"]]}

    def local_copy_unavailable(lin_: dict[str, Any]) -> None:
        ev = event(lin_, "stage_transition")
        ev["envelope_bytes"] = json.dumps(ev["envelope"], indent=2).encode()
        ev["origins"]["envelope"] = f"mlflow-artifact:{ms.RUN_ID}/{PROOF_PATHS['stage_transition']}"
        drop_item(ev)
        ev["fetch"] = {"status": "unavailable", "origin": None,
                       "per_gateway": [[GATEWAY, "unavailable"], [GATEWAY_2, "unavailable"]]}

    def metric_changed(lin_: dict[str, Any]) -> None:
        event(lin_, "training_complete")["surface"]["metrics"]["accuracy"] = 0.93

    def trace_tag_changed(lin_: dict[str, Any]) -> None:
        tags = event(lin_, "prediction")["surface"]["trace_tags"]
        edited = tags["ario.payload_json"].replace('"latency_ms":3.14', '"latency_ms":2.71')
        assert edited != tags["ario.payload_json"]
        tags["ario.payload_json"] = edited

    def registration_surface_missing(lin_: dict[str, Any]) -> None:
        event(lin_, "model_registered")["surface"] = None

    def model_files_missing(lin_: dict[str, Any]) -> None:
        lin_["model_files"] = {}

    def exporter_gap(lin_: dict[str, Any]) -> None:
        lin_["gaps"] = [[f"model version {ms.MODEL}/1: earlier promotions",
                         "ario/promotions could not be listed: permission denied"]]

    def model_file_changed(lin_: dict[str, Any]) -> None:
        lin_["model_files"][ms.RUN_ID]["model.pkl"] = h(b"weights, retrained")

    def registered_model_meta(lin_: dict[str, Any]) -> None:
        lin_["model_files"][ms.RUN_ID]["registered_model_meta"] = h(b"model_name: credit-scorer\n")

    def dataset_missing(lin_: dict[str, Any]) -> None:
        lin_["events"] = [e for e in lin_["events"] if e["event_type"] != "dataset"]

    def claim_other_target(lin_: dict[str, Any]) -> None:
        lin_["target"] = "models:/fraud-prod/42"

    def promotion_omitted(lin_: dict[str, Any]) -> None:
        lin_["events"] = [e for e in lin_["events"] if e["event_type"] != "stage_transition"]

    def unconfirmed_trace(lin_: dict[str, Any]) -> None:
        lin_["target"] = "traces:/tr-not-in-the-bundle"
        lin_["events"] = [e for e in lin_["events"] if e["event_type"] != "prediction"]

    stored = bundle(base, method="stored")
    return [
        _vec("ok-pinned", "The whole lineage (dataset, training, registration, promotion, prediction), "
             "every envelope bound to its tx id by a data item, every receipt signed by the pinned "
             "receipt signer, every record re-derived from its MLflow surface, model files unchanged.",
             ["audit.md#A1", "audit.md#A2", "audit.md#A3", "audit.md#A4", "audit.md#A5", "audit.md#A6",
              "audit.md#A7", "audit.md#A8", "audit.md#A9", "audit-bundle.md#B3"],
             bundle(base), "verified", None, _policy(require_binding=True)),
        _vec("ok-stored-unpinned", "The same evidence with every member stored (method 0) and no trust "
             "policy: signers are reported as not pinned, which is not a failure.",
             ["audit.md#A3", "audit-bundle.md#B1"], stored, "verified", None),
        _vec("registered-model-meta-ignored", "The exported model files also list registered_model_meta, "
             "which artifact_checksums never hashes: it is ignored on both sides.",
             ["audit.md#A9"], bundle(lin(registered_model_meta)), "verified", None, P),
        _vec("binding-unchecked", "The promotion's data item is not in the bundle and the policy requires "
             "the binding: the tx id is not bound to the envelope bytes.",
             ["audit.md#A2"], bundle(lin(no_binding_promotion)), "incomplete", "binding_unchecked",
             _policy(require_binding=True)),
        _vec("envelope-not-found", "The prediction's index entry has no envelope member; the exporter "
             "records that every gateway answered 404.", ["audit.md#A1"],
             bundle(lin(no_envelope)), "incomplete", "envelope_not_found", P),
        _vec("never-anchored", "A prediction with no tx id (never uploaded): only the producer's local "
             "proof.json exists.", ["audit.md#A1"],
             bundle(lin(never_anchored)), "incomplete", "envelope_not_found", P),
        _vec("gateway-disagreement", "The exporter recorded that two gateways returned different bytes for "
             "the promotion's tx id: the claim lowers the verdict even though the bundled bytes verify.",
             ["audit.md#A1", "audit-bundle.md#B5"], bundle(lin(disagreement)), "failed",
             "gateway_disagreement", P),
        _vec("gateway-unavailable", "Only the producer's local proof.json of the promotion is bundled "
             "(origin mlflow-artifact:) and no gateway answered the exporter.", ["audit.md#A1"],
             bundle(lin(local_copy_unavailable)), "incomplete", "gateway_unavailable", P),
        _vec("record-mismatch-metric", "The training run's surface now says accuracy 0.93; the anchored "
             "record says 0.912346.", ["audit.md#A6"], bundle(lin(metric_changed)), "failed",
             "record_mismatch", P),
        _vec("record-mismatch-trace-tag", "The prediction's trace tag ario.payload_json differs from the "
             "committed payload in latency_ms.", ["audit.md#A6"], bundle(lin(trace_tag_changed)),
             "failed", "record_mismatch", P),
        _vec("surface-unavailable", "The registration's MLflow surface is not in the bundle: its record "
             "cannot be re-derived.", ["audit.md#A6"], bundle(lin(registration_surface_missing)),
             "incomplete", "surface_unavailable", P),
        _vec("model-files-unavailable", "The bundle carries no model-files map: the anchored "
             "artifact_checksums cannot be re-hashed.", ["audit.md#A9"], bundle(lin(model_files_missing)),
             "incomplete", "surface_unavailable", P),
        _vec("exporter-gap", "Every event verifies, but the exporter recorded a collection gap: the "
             "audit cannot be complete.", ["audit.md#A11", "audit-bundle.md#B5"],
             bundle(lin(exporter_gap)), "incomplete", "surface_unavailable", P),
        _vec("artifact-hash-mismatch", "model.pkl hashes differently from the anchored "
             "artifact_checksums (and so from the registered artifact_hash).", ["audit.md#A9"],
             bundle(lin(model_file_changed)), "failed", "artifact_hash_mismatch", P),
        _vec("dataset-unresolved", "The training's dataset input has no dataset event in the bundle.",
             ["audit.md#A8"], bundle(lin(dataset_missing)), "incomplete", "dataset_unresolved", P),
        _vec("target-mismatch", "Only the manifest's target is changed, to models:/fraud-prod/42: every "
             "event verifies, but the signed registration names another model version.",
             ["audit.md#A12"], bundle(lin(claim_other_target)), "failed", "target_mismatch", P),
        _vec("promotion-omitted", "The stage_transition event is dropped consistently (members and "
             "index entry), but the registry surface records the version in Production and its "
             "ario.promotion_tx tag names the dropped tx: missing evidence.",
             ["audit.md#A13"], bundle(lin(promotion_omitted)), "incomplete", "event_omitted", P),
        _vec("target-unconfirmed", "The manifest claims a trace as its target, but the bundle holds no "
             "prediction event: every event verifies, yet none confirms the claimed target.",
             ["audit.md#A12"], bundle(lin(unconfirmed_trace)), "incomplete", "target_unconfirmed", P),
    ]


def archive_vectors(base: dict[str, Any]) -> list[Vector]:
    """Archives the reader must refuse before any evidence is audited (B1-B4)."""
    P = _policy()
    manifest, members = bundle_members(base)
    good = zip_archive(archive_entries(manifest, members))
    prediction = event(base, "prediction")
    surface_name = f"surfaces/{prediction['tx']}.json"
    payload_name = f"payloads/{prediction['tx']}.bin"

    def entries_with(edit) -> bytes:
        m, mem = copy.deepcopy(manifest), dict(members)
        entries = edit(m, mem)
        return zip_archive(entries if entries is not None else archive_entries(m, mem))

    def member_missing(m, mem):
        del mem[surface_name]  # the index entry still names it
        m["members"] = [x for x in m["members"] if x["path"] != surface_name]

    def digest_mismatch(m, mem):
        edited = mem[surface_name].replace(TRACE_ID.encode(), b"tr-" + b"0" * 32)
        assert edited != mem[surface_name] and len(edited) == len(mem[surface_name])
        mem[surface_name] = edited

    def unlisted(m, mem):
        mem["surfaces/notes.json"] = b"{}"

    bomb = bytes(1024 * 1024)

    def zip_bomb(m, mem):
        mem[payload_name] = bomb  # listed and referenced like any member
        for x in m["members"]:
            if x["path"] == payload_name:
                x.update(sha256=h(bomb), size=len(bomb))

    def declared_too_large(m, mem):
        entries = archive_entries(m, mem)
        for e in entries:
            if e["name"] == payload_name:
                e["declared_size"] = 300 * 1024 * 1024
        return entries

    def with_extra(name: str, mode: int = REGULAR):
        def edit(m, mem):
            data = b'{"escape":true}'
            m["members"].append({"path": name, "sha256": h(data), "size": len(data)})
            m["members"].sort(key=lambda x: x["path"])
            entries = archive_entries(m, mem)
            entries.append({"name": name, "data": data, "method": "deflate", "mode": mode})
            return entries
        return edit

    def nested(depth: int):
        """The manifest nested to exactly `depth` (the root object is depth 1, "tool" 2)."""
        def edit(m, mem):
            value: Any = []
            for _ in range(depth - 3):
                value = [value]
            m["tool"]["build"] = value
        return edit

    def big_integer(m, mem):
        m["tool"]["build"] = 2**53  # one past the I-JSON safe range

    def lone_surrogate(m, mem):
        entries = archive_entries(m, mem)
        raw = entries[0]["data"]
        entries[0]["data"] = raw.replace(b'"created_at":"', b'"created_at":"\\ud800', 1)
        assert entries[0]["data"] != raw
        return entries

    def surface_duplicate_key(m, mem):
        raw = mem[surface_name]
        assert raw.startswith(b'{"trace_id":')
        mem[surface_name] = b'{"trace_id":"tr-other",' + raw[1:]  # the same key twice
        for x in m["members"]:
            if x["path"] == surface_name:
                x.update(sha256=h(mem[surface_name]), size=len(mem[surface_name]))

    def dot_segment(m, mem):
        mem[".meta/notes.json"] = b"{}"  # a legal name (B1) that the manifest does not list

    def no_events(m, mem):
        mem.clear()
        m.update(members=[], events=[], model_files={})

    def symlink(m, mem):
        entries = archive_entries(m, mem)
        for e in entries:
            if e["name"] == surface_name:
                e["mode"] = SYMLINK
        return entries

    return [
        _vec("not-a-zip", "A JSON document offered as an audit bundle.", ["audit-bundle.md#B1"],
             json_member(manifest)[:512], "malformed", "bundle_malformed", P),
        _vec("truncated", "The clean bundle cut in half: no end of central directory record.",
             ["audit-bundle.md#B1"], good[: len(good) // 2], "malformed", "bundle_malformed", P),
        _vec("member-missing", "The prediction's index entry names a surface member the archive "
             "does not hold.", ["audit-bundle.md#B3"], entries_with(member_missing), "malformed",
             "bundle_malformed", P),
        _vec("digest-mismatch", "A surface member was edited after the manifest was written: its "
             "bytes no longer have the listed SHA-256.", ["audit-bundle.md#B3"],
             entries_with(digest_mismatch), "malformed", "bundle_malformed", P),
        _vec("unlisted-member", "The archive holds a member the manifest does not list.",
             ["audit-bundle.md#B3"], entries_with(unlisted), "malformed", "bundle_malformed", P),
        _vec("manifest-depth-128", "The manifest nests exactly 128 containers deep (an extra "
             "field under tool): still strict JSON, so the bundle is read and verifies.",
             ["audit-bundle.md#B3", "envelope.md#I1"], entries_with(nested(128)), "verified", None, P),
        _vec("manifest-too-deep", "The manifest nests 129 containers deep: not strict JSON under "
             "the kernel's intake rules (depth 128).", ["audit-bundle.md#B3", "envelope.md#I1"],
             entries_with(nested(129)), "malformed", "bundle_malformed", P),
        _vec("manifest-number-out-of-range", "The manifest holds the integer 2^53: outside the "
             "I-JSON safe range of the kernel's intake rules.", ["audit-bundle.md#B3", "envelope.md#I1"],
             entries_with(big_integer), "malformed", "bundle_malformed", P),
        _vec("manifest-lone-surrogate", "The manifest's created_at holds an unpaired \\ud800 escape.",
             ["audit-bundle.md#B3", "envelope.md#I1"], entries_with(lone_surrogate), "malformed",
             "bundle_malformed", P),
        _vec("surface-duplicate-key", "The prediction's surface member repeats the key trace_id "
             "(the manifest lists its bytes correctly): a surface must be strict JSON.",
             ["audit-bundle.md#B3"], entries_with(surface_duplicate_key), "malformed",
             "bundle_malformed", P),
        _vec("dot-segment-unlisted", "A member named .meta/notes.json: a safe name under B1 "
             "(segments of [A-Za-z0-9._-], none empty, . or ..), but the manifest does not list it.",
             ["audit-bundle.md#B1", "audit-bundle.md#B3"], entries_with(dot_segment), "malformed",
             "bundle_malformed", P),
        _vec("no-events", "A well-formed bundle whose manifest indexes no events at all: nothing "
             "was found to audit.", ["audit.md#A11"], entries_with(no_events), "incomplete",
             "envelope_not_found", P),
        _vec("zip-bomb", "A listed 1 MiB payload member of zeros deflated about 159:1, beyond the "
             "100:1 ratio limit for members of 64 KiB or more.", ["audit-bundle.md#B4"],
             entries_with(zip_bomb), "malformed", "bundle_limit_exceeded", P),
        _vec("declared-size-over-limit", "A member whose central directory entry declares 300 MiB, "
             "over the 256 MiB member limit; declared sizes are what is checked.",
             ["audit-bundle.md#B4"], entries_with(declared_too_large), "malformed",
             "bundle_limit_exceeded", P),
        _vec("dotdot-path", "A member named ../escape.json (zip slip).", ["audit-bundle.md#B1"],
             entries_with(with_extra("../escape.json")), "malformed", "bundle_unsafe_path", P),
        _vec("absolute-path", "A member named /etc/escape.json.", ["audit-bundle.md#B1"],
             entries_with(with_extra("/etc/escape.json")), "malformed", "bundle_unsafe_path", P),
        _vec("symlink-entry", "The prediction's surface member is stored as a symlink entry "
             "(Unix mode 0120777).", ["audit-bundle.md#B1"], entries_with(symlink), "malformed",
             "bundle_unsafe_path", P),
    ]


def all_vectors() -> list[Vector]:
    base = lineage()
    return content_vectors(base) + archive_vectors(base)
