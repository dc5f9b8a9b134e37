"""ANS-104 data items: deep hash, Avro tags, strict parsing, signatures, ids, tampering,
and interoperability with the Python turbo-sdk (PyPI) as an independent producer."""

from __future__ import annotations

import importlib
import hashlib
import struct

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519 as _ed

from verifier.anchor.dataitem import (
    ArweaveSigner, Ed25519Signer, create_data_item, generate_arweave_jwk,
)
from verifier.core.ans104 import (
    data_item_id, decode_tags, deep_hash, encode_tags, parse_data_item, signing_message,
    signing_message_parts, verify_data_item, verify_signature,
)
from verifier.core.encoding import b64u_encode
from verifier.core.errors import Malformed
from verifier.core.reasons import ReasonCode as R
from verifier.core.reasons import Status

TAGS = [("Content-Type", "application/json"), ("App-Name", "ario-verifier"), ("Event-Id", "e-1")]
DATA = b'{"event":"x","n":1}'


@pytest.fixture(scope="module")
def jwk():
    return generate_arweave_jwk()


@pytest.fixture(scope="module")
def rsa_signer(jwk):
    return ArweaveSigner(jwk)


@pytest.fixture(scope="module")
def ed_signer():
    return Ed25519Signer(bytes(range(32)))


def _flip(raw: bytes, i: int) -> bytes:
    return raw[:i] + bytes([raw[i] ^ 0x01]) + raw[i + 1:]


# -- deep hash and tags ----------------------------------------------------------------


def test_deep_hash_vectors():
    assert deep_hash(b"abc").hex() == (
        "71115a30152ebcffb6defbb643abc8ef76f01fe323f1d62340646085960f6e34"
        "7cb2d8e9a46ddee655b3012c6131d4e0")
    assert deep_hash([b"a", [b"b", b"c"], b""]).hex() == (
        "041610a481af67a00b33e0e2197bf20e92747db97a47197e2181648ea1f571d7"
        "d11537859258d953eebf88a170abccb0")
    assert deep_hash([]).hex() == (
        "a69e7d37fdc7f040a9ec16aae84de24fab4a653dac4de0bd247e36bab9fe45d9"
        "289c5a04a893c95285812f5cefc9707a")
    assert deep_hash([]) == hashlib.sha384(b"list0").digest()


def test_encode_tags_worked_example():
    enc = encode_tags([("Content-Type", "application/json")])
    assert enc.hex() == ("02" + "18" + b"Content-Type".hex() + "20" + b"application/json".hex()
                         + "00")
    assert len(enc) == 32
    assert encode_tags([]) == b"\x00" and encode_tags([], empty=b"") == b""
    assert encode_tags([("a", "x" * 70)])[3:5] == b"\x8c\x01"
    assert encode_tags([("a", "x" * 200)])[3:5] == b"\x90\x03"


@pytest.mark.parametrize("bad", [
    [("", "v")], [("n", "")], [("n" * 1025, "v")], [("n", "v" * 3073)], [("n", "v")] * 129,
    [("n" * 1000, "v" * 3000), ("m" * 100, "w")],  # over 4096 bytes in total
])
def test_encode_tags_rejects_out_of_limit(bad):
    with pytest.raises(ValueError):
        encode_tags(bad)


def _long(n: int) -> bytes:
    z = (n << 1) if n >= 0 else ((-n << 1) - 1)
    out = bytearray()
    while z >= 0x80:
        out.append((z & 0x7F) | 0x80)
        z >>= 7
    out.append(z)
    return bytes(out)


def _item(name: bytes, value: bytes) -> bytes:
    return _long(len(name)) + name + _long(len(value)) + value


def test_decode_multiple_and_negative_blocks():
    a, b, c = _item(b"A", b"1"), _item(b"B", b"2"), _item(b"C", b"3")
    multi = _long(1) + a + _long(2) + b + c + b"\x00"
    negative = _long(-2) + _long(len(a + b)) + a + b + _long(1) + c + b"\x00"
    want = [(b"A", b"1"), (b"B", b"2"), (b"C", b"3")]
    assert decode_tags(multi) == want
    assert decode_tags(negative) == want
    assert decode_tags(b"") == [] and decode_tags(b"\x00") == []


@pytest.mark.parametrize("buf", [
    _long(1) + _item(b"A", b"1"),                                  # no terminator
    _long(1) + _item(b"A", b"1") + b"\x00\x00",                    # trailing byte
    _long(-1) + _long(99) + _item(b"A", b"1") + b"\x00",           # wrong block size
    _long(-1) + _long(-3) + _item(b"A", b"1") + b"\x00",           # negative block size
    _long(2) + _item(b"A", b"1") + b"\x00",                        # count exceeds items
    _long(1) + _long(-1) + b"A" + _item(b"", b"1") + b"\x00",      # negative length
    _long(1) + _item(b"", b"1") + b"\x00",                         # empty name
    _long(1) + _item(b"A", b"") + b"\x00",                         # empty value
    _long(1) + _item(b"A" * 1025, b"1") + b"\x00",                 # name too long
    _long(1) + _long(5) + b"AB",                                   # length past end
    b"\x80" * 11,                                                  # varint too long
    b"\xff" * 9 + b"\x7f",                                         # varint over 64 bits
    b"\x80",                                                       # truncated varint
    _long(129) + _item(b"A", b"1") * 129 + b"\x00",                # too many tags
])
def test_decode_rejects(buf):
    with pytest.raises(Malformed) as exc:
        decode_tags(buf)
    assert exc.value.reason is R.DATA_ITEM_MALFORMED


# -- round trips -----------------------------------------------------------------------


@pytest.mark.parametrize("which", ["ed", "rsa"])
def test_round_trip(which, ed_signer, rsa_signer):
    signer = ed_signer if which == "ed" else rsa_signer
    raw = create_data_item(DATA, signer, TAGS)
    item = parse_data_item(raw)
    assert item.signature_type == signer.signature_type
    assert item.owner == signer.owner
    assert item.target is None and item.anchor is not None and len(item.anchor) == 32
    assert [(n.decode(), v.decode()) for n, v in item.tags] == TAGS
    assert item.data == DATA and raw[item.data_offset:] == DATA
    assert item.id == b64u_encode(hashlib.sha256(item.signature).digest()) == data_item_id(raw)
    assert len(item.id) == 43
    assert item.owner_address == b64u_encode(hashlib.sha256(signer.owner).digest())
    res = verify_data_item(raw, expected_id=item.id, expected_data=DATA)
    assert res.ok, res.to_json()
    assert [c.id for c in res.checks] == ["parse", "id", "signature", "data"]
    s = res.subject
    assert s["id"] == item.id and s["signature_type"] == signer.signature_type
    assert s["owner_address"] == item.owner_address
    assert s["tags"] == [{"name": n, "value": v} for n, v in TAGS]
    assert s["data_size"] == len(DATA)


def test_offsets_match_turbo_layout(ed_signer, rsa_signer):
    tag_bytes = encode_tags(TAGS)
    for signer, tags_start in ((ed_signer, 148), (rsa_signer, 1076)):
        item = parse_data_item(create_data_item(DATA, signer, TAGS))
        assert item.data_offset == tags_start + len(tag_bytes)


def test_type1_verifies_with_any_salt(rsa_signer, jwk):
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    item = parse_data_item(create_data_item(DATA, rsa_signer, TAGS))
    msg = signing_message(item)
    key = rsa_signer._key
    for salt in (0, 32, 478):
        sig = key.sign(msg, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=salt),
                       hashes.SHA256())
        raw = struct.pack("<H", 1) + sig + create_data_item(DATA, rsa_signer, TAGS,
                                                            anchor=item.anchor)[514:]
        assert verify_data_item(raw).ok
    # pre-hashing the message is not the rule
    sig = key.sign(hashlib.sha256(msg).digest(),
                   padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256())
    rest = create_data_item(DATA, rsa_signer, TAGS, anchor=item.anchor)[514:]
    raw = struct.pack("<H", 1) + sig + rest
    assert verify_data_item(raw).reason is R.DATA_ITEM_SIGNATURE_INVALID


def _manual(sig_type: int, key: _ed.Ed25519PrivateKey, tags: bytes, n_tags: int, *,
            target: bytes | None = None, anchor: bytes | None = None,
            hexmsg: bool = False) -> bytes:
    owner = key.public_key().public_bytes_raw()
    msg = signing_message_parts(sig_type, owner, target, anchor, tags, DATA)
    sig = key.sign(msg.hex().encode() if hexmsg else msg)
    return (struct.pack("<H", sig_type) + sig + owner
            + (b"\x01" + target if target else b"\x00") + (b"\x01" + anchor if anchor else b"\x00")
            + struct.pack("<QQ", n_tags, len(tags)) + tags + DATA)


def test_variants_target_no_anchor_zero_tags_and_type4():
    key = _ed.Ed25519PrivateKey.from_private_bytes(b"\x07" * 32)
    for tags in (b"", b"\x00"):
        assert verify_data_item(_manual(2, key, tags, 0)).ok
    raw = _manual(2, key, encode_tags(TAGS), 3, target=b"\x11" * 32)
    res = verify_data_item(raw)
    assert res.ok and res.subject["target"] == b64u_encode(b"\x11" * 32)
    assert res.subject["anchor"] is None
    assert verify_data_item(_manual(4, key, b"", 0, hexmsg=True)).ok
    # type 4 message is hex(M): a type-2-style signature does not verify as type 4
    assert verify_data_item(_manual(4, key, b"", 0)).reason is R.DATA_ITEM_SIGNATURE_INVALID


def test_non_utf8_tag_shown_as_b64u():
    key = _ed.Ed25519PrivateKey.from_private_bytes(b"\x08" * 32)
    tags = encode_tags([(b"bin", b"\xff\xfe")])
    res = verify_data_item(_manual(2, key, tags, 1))
    assert res.ok
    assert res.subject["tags"] == [{"name": "bin", "value": {"b64u": b64u_encode(b"\xff\xfe")}}]


# -- binding checks --------------------------------------------------------------------


def test_id_and_data_mismatch(ed_signer):
    raw = create_data_item(DATA, ed_signer, TAGS)
    res = verify_data_item(raw, expected_id="A" * 43)
    assert res.status is Status.FAILED and res.reason is R.DATA_ITEM_ID_MISMATCH
    res = verify_data_item(raw, expected_data=DATA + b" ")
    assert res.status is Status.FAILED and res.reason is R.DATA_ITEM_DATA_MISMATCH
    res = verify_data_item(raw)
    assert res.ok and res.check("id").outcome.value == "skipped"


# -- tampering -------------------------------------------------------------------------


def test_every_single_byte_flip_fails_type2(ed_signer):
    raw = create_data_item(DATA, ed_signer, TAGS)
    item_id = data_item_id(raw)
    for i in range(len(raw)):
        res = verify_data_item(_flip(raw, i), expected_id=item_id, expected_data=DATA)
        assert not res.ok, f"flip at offset {i} still verifies"


def test_region_flips_fail_type1(rsa_signer):
    raw = create_data_item(DATA, rsa_signer, TAGS)
    item = parse_data_item(raw)
    regions = {
        "sig type": 0, "sig type hi": 1, "signature": 2, "signature end": 513, "owner": 514,
        "owner end": 1025, "target flag": 1026, "anchor flag": 1027, "anchor": 1028,
        "anchor end": 1059, "tag count": 1060, "tag length": 1068, "tag bytes": 1076,
        "tag bytes end": item.data_offset - 1, "data first": item.data_offset,
        "data last": len(raw) - 1,
    }
    for name, i in regions.items():
        res = verify_data_item(_flip(raw, i), expected_id=item.id, expected_data=DATA)
        assert not res.ok, name
    # a bad signature is reported as such, not as malformed
    assert verify_data_item(_flip(raw, 100)).reason is R.DATA_ITEM_SIGNATURE_INVALID
    assert verify_data_item(_flip(raw, len(raw) - 1)).reason is R.DATA_ITEM_SIGNATURE_INVALID


# -- malformed input -------------------------------------------------------------------


def test_malformed_inputs_never_raise(ed_signer):
    raw = create_data_item(DATA, ed_signer, TAGS)
    cases = [
        b"", b"\x02", raw[:60], raw[:98], raw[:120], raw[:140], raw[:147],
        struct.pack("<H", 3) + raw[2:],                       # unsupported type
        struct.pack("<H", 65535) + raw[2:],
        raw[:98] + b"\x02" + raw[99:],                        # target flag 2
        raw[:99] + b"\x02" + raw[100:],                       # anchor flag 2
        raw[:132] + struct.pack("<Q", 129) + raw[140:],       # too many tags in header
        raw[:140] + struct.pack("<Q", 4097) + raw[148:],      # too many tag bytes
        raw[:140] + struct.pack("<Q", 2 ** 63) + raw[148:],   # absurd tag length
        raw[:132] + struct.pack("<Q", 2) + raw[140:],         # header count != decoded
        "not bytes", None, 12,
    ]
    for case in cases:
        res = verify_data_item(case)  # type: ignore[arg-type]
        assert res.status is Status.MALFORMED and res.reason is R.DATA_ITEM_MALFORMED, case
    assert "unsupported signature type 3" in verify_data_item(cases[7]).checks[0].detail


def test_random_garbage_never_raises():
    import random

    rng = random.Random(1)
    for n in range(400):
        blob = bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 400)))
        if n % 2:
            blob = b"\x02\x00" + blob
        res = verify_data_item(blob)
        assert not res.ok


# -- interoperability with the Python turbo-sdk ----------------------------------------


def test_turbo_sdk_solana_items_verify():
    bundle = importlib.import_module("turbo_sdk.bundle")
    from turbo_sdk.signers import SolanaSigner

    keypair = list(b"\x05" * 32) + list(Ed25519Signer(b"\x05" * 32).owner)
    signer = SolanaSigner(keypair)
    tags = [{"name": n, "value": v} for n, v in TAGS]
    for t in (tags, []):
        di = bundle.create_data(bytearray(DATA), signer, t)
        bundle.sign(di, signer)
        raw = bytes(di.get_raw())
        expected = b64u_encode(hashlib.sha256(bytes(di.raw_signature)).digest())
        res = verify_data_item(raw, expected_id=expected, expected_data=DATA)
        assert res.ok, res.to_json()
        assert res.subject["signature_type"] == 2
        assert di.id != expected  # turbo-sdk's DataItem.id is base58, not the Arweave id
        item = parse_data_item(raw)
        assert item.anchor is not None
        assert item.raw_tags == encode_tags([(d["name"], d["value"]) for d in t])


def test_turbo_sdk_byte_identical_to_ours_for_ed25519():
    bundle = importlib.import_module("turbo_sdk.bundle")
    from turbo_sdk.signers import SolanaSigner

    seed, anchor = b"\x06" * 32, b"\xa5" * 32
    ours = create_data_item(DATA, Ed25519Signer(seed), TAGS, anchor=anchor)
    signer = SolanaSigner(seed)
    di = bundle.create_data(bytearray(DATA), signer, [{"name": n, "value": v} for n, v in TAGS],
                            anchor=anchor)
    bundle.sign(di, signer)
    assert bytes(di.get_raw()) == ours


def test_turbo_sdk_arweave_items_verify(jwk, rsa_signer):
    bundle = importlib.import_module("turbo_sdk.bundle")
    from turbo_sdk.signers import ArweaveSigner as TurboArweave

    signer = TurboArweave(jwk)
    di = bundle.create_data(bytearray(DATA), signer, [{"name": n, "value": v} for n, v in TAGS])
    bundle.sign(di, signer)
    raw = bytes(di.get_raw())
    expected = b64u_encode(hashlib.sha256(bytes(di.raw_signature)).digest())
    res = verify_data_item(raw, expected_id=expected, expected_data=DATA)
    assert res.ok, res.to_json()
    assert res.subject["owner_address"] == signer.get_wallet_address() == rsa_signer.address
    # and the other way: turbo-sdk's own verifier accepts our type-1 and type-2 items
    ours = parse_data_item(create_data_item(DATA, rsa_signer, TAGS))
    assert TurboArweave.verify(ours.owner, signing_message(ours), ours.signature)
    assert verify_signature(ours)


def test_expected_data_of_wrong_type_is_a_mismatch(ed_signer):
    raw = create_data_item(DATA, ed_signer, TAGS)
    res = verify_data_item(raw, expected_data=DATA.decode())  # type: ignore[arg-type]
    assert res.reason is R.DATA_ITEM_DATA_MISMATCH
