"""ANS-104 data items: strict parsing, deep hash, signature and id rules (spec/binding.md).

A data item is: signature type (u16 LE) | signature | owner | target flag [+32] |
anchor flag [+32] | tag count (u64 LE) | tag byte length (u64 LE) | Avro tags | data.
The signed message is the SHA-384 deep hash of the flat list
``["dataitem", "1", str(type), owner, target, anchor, raw_tags, data]`` and the item id is
``b64u(SHA-256(signature))``. Accepted types: 1 (RSA-4096 PSS), 2 (Ed25519 over the raw
48-byte message) and 4 (Ed25519 over its lowercase hex, what Solana keys in the Turbo JS
SDK write). `verify_data_item` never raises; `parse_data_item` raises `Malformed`.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from typing import Any, Sequence, Union

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from . import ed25519
from .encoding import b64u_encode, sha256
from .errors import Malformed
from .reasons import ReasonCode as R
from .result import Result, make_result, passed, problem, skipped

KIND = "data_item"

#: signature type -> (signature length, owner length). Only types we can verify.
SIG_CONFIG: dict[int, tuple[int, int]] = {1: (512, 512), 2: (64, 32), 4: (64, 32)}
SIG_NAMES = {1: "arweave", 2: "ed25519", 4: "solana-hex"}

MAX_TAGS = 128
MAX_TAG_NAME_BYTES = 1024
MAX_TAG_VALUE_BYTES = 3072
MAX_TAG_BYTES = 4096
RSA_EXPONENT = 65537
_MAX_VARINT_BYTES = 10

Chunk = Union[bytes, Sequence["Chunk"]]
Tag = tuple[bytes, bytes]


# -- deep hash --------------------------------------------------------------------------


def deep_hash(chunk: Chunk) -> bytes:
    """Arweave deep hash (SHA-384, "blob"/"list" + decimal length prefixes); 48 bytes."""
    if isinstance(chunk, (bytes, bytearray, memoryview)):
        b = bytes(chunk)
        tag = hashlib.sha384(b"blob" + str(len(b)).encode()).digest()
        return hashlib.sha384(tag + hashlib.sha384(b).digest()).digest()
    if isinstance(chunk, str):
        raise TypeError("deep_hash takes bytes or lists of bytes, not str")
    items = list(chunk)
    acc = hashlib.sha384(b"list" + str(len(items)).encode()).digest()
    for item in items:
        acc = hashlib.sha384(acc + deep_hash(item)).digest()
    return acc


# -- Avro tags --------------------------------------------------------------------------


def _zigzag_varint(n: int) -> bytes:
    z = (n << 1) if n >= 0 else ((-n << 1) - 1)
    out = bytearray()
    while z >= 0x80:
        out.append((z & 0x7F) | 0x80)
        z >>= 7
    out.append(z)
    return bytes(out)


def _as_bytes(v: bytes | str) -> bytes:
    return v.encode("utf-8") if isinstance(v, str) else bytes(v)


def encode_tags(tags: Sequence[tuple[bytes | str, bytes | str]], *,
                empty: bytes = b"\x00") -> bytes:
    """Avro-encode tags as producers do: one positive-count block then ``0x00``.

    Zero tags encode as `empty` (``b"\\x00"`` like the Python turbo-sdk, or ``b""`` like
    arbundles). Raises ValueError for tags outside the ANS-104 limits.
    """
    pairs = [(_as_bytes(n), _as_bytes(v)) for n, v in tags]
    if not pairs:
        return bytes(empty)
    _check_tag_limits(pairs, ValueError)
    out = bytearray(_zigzag_varint(len(pairs)))
    for name, value in pairs:
        out += _zigzag_varint(len(name)) + name + _zigzag_varint(len(value)) + value
    out.append(0)
    if len(out) > MAX_TAG_BYTES:
        raise ValueError(f"encoded tags take {len(out)} bytes, over {MAX_TAG_BYTES}")
    return bytes(out)


def _check_tag_limits(pairs: Sequence[Tag], exc: Any) -> None:
    if len(pairs) > MAX_TAGS:
        raise exc(f"more than {MAX_TAGS} tags")
    for name, value in pairs:
        if not name or len(name) > MAX_TAG_NAME_BYTES:
            raise exc(f"tag name must be 1..{MAX_TAG_NAME_BYTES} bytes")
        if not value or len(value) > MAX_TAG_VALUE_BYTES:
            raise exc(f"tag value must be 1..{MAX_TAG_VALUE_BYTES} bytes")


def _bad(detail: str) -> Malformed:
    return Malformed(R.DATA_ITEM_MALFORMED, detail)


def _read_long(buf: bytes, pos: int) -> tuple[int, int]:
    """One Avro long (zigzag varint) at `pos`; returns (value, new position)."""
    z, shift = 0, 0
    for i in range(_MAX_VARINT_BYTES):
        if pos >= len(buf):
            raise _bad("tag bytes end inside a varint")
        b = buf[pos]
        pos += 1
        z |= (b & 0x7F) << shift
        if not b & 0x80:
            if z >= 1 << 64:
                raise _bad("tag varint exceeds 64 bits")
            return (z >> 1) ^ -(z & 1), pos
        shift += 7
    raise _bad("tag varint longer than 10 bytes")


def _read_bytes(buf: bytes, pos: int, limit: int, what: str) -> tuple[bytes, int]:
    n, pos = _read_long(buf, pos)
    if n < 1 or n > limit:
        raise _bad(f"tag {what} length {n} is outside 1..{limit}")
    if pos + n > len(buf):
        raise _bad(f"tag {what} runs past the tag bytes")
    return buf[pos:pos + n], pos + n


def decode_tags(buf: bytes) -> list[Tag]:
    """Decode Avro tag bytes strictly (blocks, negative counts, no trailing bytes).

    Empty input means zero tags. Raises `Malformed(DATA_ITEM_MALFORMED)`.
    """
    if not buf:
        return []
    tags: list[Tag] = []
    pos = 0
    while True:
        count, pos = _read_long(buf, pos)
        if count == 0:
            break
        size_at = None
        if count < 0:
            count = -count
            size, pos = _read_long(buf, pos)
            if size < 0:
                raise _bad("negative Avro block size")
            size_at = (pos, size)
        if len(tags) + count > MAX_TAGS:
            raise _bad(f"more than {MAX_TAGS} tags")
        for _ in range(count):
            name, pos = _read_bytes(buf, pos, MAX_TAG_NAME_BYTES, "name")
            value, pos = _read_bytes(buf, pos, MAX_TAG_VALUE_BYTES, "value")
            tags.append((name, value))
        if size_at is not None and pos - size_at[0] != size_at[1]:
            raise _bad("Avro block size disagrees with its items")
    if pos != len(buf):
        raise _bad("bytes follow the end of the tag array")
    return tags


# -- parsing ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DataItem:
    """One parsed data item. `raw_tags` is the exact signed tag byte slice."""

    signature_type: int
    signature: bytes
    owner: bytes
    target: bytes | None
    anchor: bytes | None
    tags: tuple[Tag, ...]
    raw_tags: bytes
    data: bytes
    data_offset: int

    @property
    def id(self) -> str:
        """``b64u(SHA-256(signature))``: the Arweave tx id of the item."""
        return b64u_encode(sha256(self.signature))

    @property
    def owner_address(self) -> str:
        """``b64u(SHA-256(owner))`` (the Arweave wallet address for type 1)."""
        return b64u_encode(sha256(self.owner))

    def tag(self, name: str) -> str | None:
        """The first tag value with this (UTF-8) name, decoded; None if absent/undecodable."""
        key = name.encode("utf-8")
        for n, v in self.tags:
            if n == key:
                try:
                    return v.decode("utf-8")
                except UnicodeDecodeError:
                    return None
        return None


def _presence(raw: bytes, pos: int, what: str) -> tuple[bytes | None, int]:
    if pos >= len(raw):
        raise _bad(f"item ends before the {what} flag")
    flag = raw[pos]
    pos += 1
    if flag == 0:
        return None, pos
    if flag != 1:
        raise _bad(f"{what} flag is {flag}, not 0 or 1")
    if pos + 32 > len(raw):
        raise _bad(f"item ends inside the {what}")
    return raw[pos:pos + 32], pos + 32


def parse_data_item(raw: bytes) -> DataItem:
    """Parse `raw` strictly; raise `Malformed(DATA_ITEM_MALFORMED)` on any inconsistency."""
    if not isinstance(raw, (bytes, bytearray, memoryview)):
        raise _bad("data item must be bytes")
    raw = bytes(raw)
    if len(raw) < 2:
        raise _bad("item shorter than its signature type")
    (sig_type,) = struct.unpack_from("<H", raw, 0)
    if sig_type not in SIG_CONFIG:
        raise _bad(f"unsupported signature type {sig_type}")
    sig_len, owner_len = SIG_CONFIG[sig_type]
    pos = 2
    if len(raw) < pos + sig_len + owner_len:
        raise _bad("item ends inside the signature or owner")
    signature = raw[pos:pos + sig_len]
    pos += sig_len
    owner = raw[pos:pos + owner_len]
    pos += owner_len
    target, pos = _presence(raw, pos, "target")
    anchor, pos = _presence(raw, pos, "anchor")
    if pos + 16 > len(raw):
        raise _bad("item ends inside the tag header")
    n_tags, n_tag_bytes = struct.unpack_from("<QQ", raw, pos)
    pos += 16
    if n_tags > MAX_TAGS:
        raise _bad(f"header declares {n_tags} tags, over {MAX_TAGS}")
    if n_tag_bytes > MAX_TAG_BYTES:
        raise _bad(f"header declares {n_tag_bytes} tag bytes, over {MAX_TAG_BYTES}")
    if pos + n_tag_bytes > len(raw):
        raise _bad("tag bytes run past the end of the item")
    raw_tags = raw[pos:pos + n_tag_bytes]
    pos += n_tag_bytes
    tags = decode_tags(raw_tags)
    if len(tags) != n_tags:
        raise _bad(f"header declares {n_tags} tags but {len(tags)} are encoded")
    return DataItem(sig_type, signature, owner, target, anchor, tuple(tags), raw_tags,
                    raw[pos:], pos)


# -- signing message, signature, id -----------------------------------------------------


def signing_message(item: DataItem) -> bytes:
    """The 48-byte deep hash every signature type signs (in its own way)."""
    return signing_message_parts(item.signature_type, item.owner, item.target, item.anchor,
                                 item.raw_tags, item.data)


def signing_message_parts(sig_type: int, owner: bytes, target: bytes | None,
                          anchor: bytes | None, raw_tags: bytes, data: bytes) -> bytes:
    """Deep hash of ``["dataitem","1",type,owner,target,anchor,raw_tags,data]``."""
    return deep_hash([b"dataitem", b"1", str(sig_type).encode(), owner, target or b"",
                      anchor or b"", raw_tags, data])


def rsa_pss_verify(modulus: bytes, message: bytes, signature: bytes) -> bool:
    """RSASSA-PSS / SHA-256 / MGF1-SHA-256, e = 65537, any salt length. Never raises."""
    try:
        n = int.from_bytes(modulus, "big")
        if n.bit_length() < 2048 or len(signature) != len(modulus):
            return False
        key = rsa.RSAPublicNumbers(RSA_EXPONENT, n).public_key()
        key.verify(signature, message,
                   padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO),
                   hashes.SHA256())
    except InvalidSignature:
        return False
    except Exception:  # hostile key material (even modulus, ...) must not escape  # noqa: BLE001
        return False
    return True


def verify_signature(item: DataItem) -> bool:
    """True iff the item's signature verifies under its owner for its type."""
    msg = signing_message(item)
    if item.signature_type == 1:
        return rsa_pss_verify(item.owner, msg, item.signature)
    if item.signature_type == 2:
        return ed25519.verify(item.owner, msg, item.signature)
    if item.signature_type == 4:
        return ed25519.verify(item.owner, msg.hex().encode("ascii"), item.signature)
    return False


def data_item_id(raw: bytes) -> str:
    """The id of a raw item (parses it; raises `Malformed` if it cannot)."""
    return parse_data_item(raw).id


def _text(b: bytes) -> dict[str, str] | str:
    try:
        return b.decode("utf-8")
    except UnicodeDecodeError:
        return {"b64u": b64u_encode(b)}


def item_subject(item: DataItem) -> dict[str, Any]:
    """Display fields of a parsed item (tags as text where valid UTF-8)."""
    return {
        "id": item.id,
        "signature_type": item.signature_type,
        "signature_name": SIG_NAMES[item.signature_type],
        "owner_address": item.owner_address,
        "target": b64u_encode(item.target) if item.target is not None else None,
        "anchor": b64u_encode(item.anchor) if item.anchor is not None else None,
        "tags": [{"name": _text(n), "value": _text(v)} for n, v in item.tags],
        "data_size": len(item.data),
        "data_sha256": hashlib.sha256(item.data).hexdigest(),
    }


def verify_data_item(raw: bytes, expected_id: str | None = None,
                     expected_data: bytes | None = None) -> Result:
    """Parse and verify a data item; optionally bind it to a tx id and to payload bytes."""
    try:
        item = parse_data_item(raw)
    except Malformed as exc:
        return make_result(KIND, [problem("parse", exc.reason, exc.detail)])
    checks = [passed("parse")]
    if expected_id is None:
        checks.append(skipped("id", "no expected tx id given"))
    elif item.id == expected_id:
        checks.append(passed("id"))
    else:
        checks.append(problem("id", R.DATA_ITEM_ID_MISMATCH,
                              f"item id {item.id} is not {str(expected_id)[:64]}"))
    if verify_signature(item):
        checks.append(passed("signature"))
    else:
        checks.append(problem("signature", R.DATA_ITEM_SIGNATURE_INVALID,
                              f"type {item.signature_type} signature does not verify"))
    if expected_data is None:
        checks.append(skipped("data", "no expected bytes given"))
    elif not isinstance(expected_data, (bytes, bytearray, memoryview)):
        checks.append(problem("data", R.DATA_ITEM_DATA_MISMATCH, "expected data is not bytes"))
    elif bytes(expected_data) == item.data:
        checks.append(passed("data"))
    else:
        checks.append(problem("data", R.DATA_ITEM_DATA_MISMATCH,
                              f"item carries {len(item.data)} bytes that differ from the "
                              f"{len(expected_data)} expected"))
    return make_result(KIND, checks, item_subject(item))
