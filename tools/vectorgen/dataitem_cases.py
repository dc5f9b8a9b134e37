"""ANS-104 data item vectors: Ed25519 (type 2) and Arweave RSA-4096 (type 1) items carrying
an envelope, as Turbo stores them, and the tx-id / bytes binding must-rejects."""

from __future__ import annotations

import base64
import hashlib
import struct
from typing import Any

from . import mlflow_samples as ms
from .common import FAMILY_KEY, Vector, jcs
from .rsa_det import DetRSA


def deep_hash(chunk) -> bytes:
    if isinstance(chunk, bytes):
        tag = hashlib.sha384(b"blob" + str(len(chunk)).encode()).digest()
        return hashlib.sha384(tag + hashlib.sha384(chunk).digest()).digest()
    acc = hashlib.sha384(b"list" + str(len(chunk)).encode()).digest()
    for item in chunk:
        acc = hashlib.sha384(acc + deep_hash(item)).digest()
    return acc


def _zigzag(n: int) -> bytes:
    z = (n << 1) ^ (n >> 63)
    out = b""
    while True:
        b = z & 0x7F
        z >>= 7
        if z:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def avro_tags(tags: list[tuple[str, str]]) -> bytes:
    if not tags:
        return b"\x00"
    out = _zigzag(len(tags))
    for name, value in tags:
        for part in (name.encode(), value.encode()):
            out += _zigzag(len(part)) + part
    return out + b"\x00"


def build_item(sig_type: int, owner: bytes, signer, data: bytes, tags: list[tuple[str, str]],
               anchor: bytes) -> bytes:
    tag_bytes = avro_tags(tags)
    message = deep_hash([b"dataitem", b"1", str(sig_type).encode(), owner, b"", anchor, tag_bytes, data])
    signature = signer(message)
    return (struct.pack("<H", sig_type) + signature + owner + b"\x00" + b"\x01" + anchor
            + struct.pack("<Q", len(tags)) + struct.pack("<Q", len(tag_bytes)) + tag_bytes + data)


def item_id(item: bytes) -> str:
    sig_len = {1: 512, 2: 64}[struct.unpack("<H", item[:2])[0]]
    return base64.urlsafe_b64encode(hashlib.sha256(item[2:2 + sig_len]).digest()).rstrip(b"=").decode()


def all_vectors() -> list[Vector]:
    tx, env, _ = ms.lineage()[1]
    data = jcs(env)
    tags = [("Content-Type", "application/json"), ("App-Name", "ario-verifier"),
            ("App-Version", "0.1.0"), ("Event-Type", env["event_type"]),
            ("Event-Id", env["event_id"]), ("Chain-Prev", env["previous_hash"])]
    anchor = hashlib.sha256(b"vector anchor").digest()
    ed = build_item(2, FAMILY_KEY.verify_key.encode(), lambda m: FAMILY_KEY.sign(m).signature,
                    data, tags, anchor)
    rsa = DetRSA("ario-verifier vectors: arweave wallet", 4096)
    ar = build_item(1, rsa.n_bytes, lambda m: rsa.sign_pss(m, rsa.max_salt()), data, tags, anchor)

    def di(vid, desc, refs, item, status, reason, expected_id=None, expected_data=None, outputs=None):
        inp: dict[str, Any] = {"document_hex": item.hex()}
        if expected_id is not None:
            inp["expected_id"] = expected_id
        if expected_data is not None:
            inp["expected_data_hex"] = expected_data.hex()
        return Vector(f"data-item-{vid}", "data_item", desc, refs, inp, status, reason,
                      outputs=outputs or {})

    flip = lambda b, i: b[:i] + bytes([b[i] ^ 1]) + b[i + 1:]  # noqa: E731
    header_ed = 2 + 64 + 32 + 1 + 33
    return [
        di("ed25519-ok", "Type 2 (Ed25519) item carrying a training envelope, bound to its tx id "
           "and to the envelope bytes.", ["binding.md#B1", "binding.md#B2", "binding.md#B3", "binding.md#B4"],
           ed, "verified", None, item_id(ed), data, outputs={"data_item_id": item_id(ed)}),
        di("arweave-ok", "Type 1 (RSA-4096 PSS, maximum salt as turbo-sdk signs) item.",
           ["binding.md#B3"], ar, "verified", None, item_id(ar), data,
           outputs={"data_item_id": item_id(ar)}),
        di("id-mismatch", "A genuine item presented under another tx id.", ["binding.md#B2"],
           ed, "failed", "data_item_id_mismatch", item_id(ar), data),
        di("data-mismatch", "A genuine item whose data is not the envelope being audited.",
           ["binding.md#B4"], ed, "failed", "data_item_data_mismatch", item_id(ed), data + b" "),
        di("data-flipped", "One byte of the data changed: the signature fails.", ["binding.md#B3"],
           flip(ed, len(ed) - 2), "failed", "data_item_signature_invalid", item_id(ed)),
        di("tag-flipped", "One byte of a tag value changed.", ["binding.md#B3"],
           flip(ed, header_ed + 16 + 20), "failed", "data_item_signature_invalid"),
        di("anchor-flipped", "One byte of the anchor changed.", ["binding.md#B3"],
           flip(ed, 2 + 64 + 32 + 2 + 5), "failed", "data_item_signature_invalid"),
        di("rsa-flipped", "One byte of the RSA owner changed: another key, another signature.",
           ["binding.md#B3"], flip(ar, 2 + 512 + 100), "failed", "data_item_signature_invalid"),
        di("truncated", "The item cut inside its tag block.", ["binding.md#B1"], ed[: header_ed + 20],
           "malformed", "data_item_malformed"),
        di("tag-count-mismatch", "The header claims 7 tags but the block holds 6.", ["binding.md#B1"],
           ed[:header_ed] + struct.pack("<Q", 7) + ed[header_ed + 8:], "malformed", "data_item_malformed"),
        di("unsupported-type", "Signature type 3 (Ethereum) is not verifiable here.", ["binding.md#B1"],
           struct.pack("<H", 3) + ed[2:], "malformed", "data_item_malformed"),
    ]
