"""Producer side: signers, wallets, event items, and uploads against the real local
gateway (success, 429 then success, 4xx, 5xx, unreachable, timeout)."""

from __future__ import annotations

import importlib
import hashlib
import json
import os
import stat

import httpx
import pytest

from verifier.anchor.dataitem import (
    APP_NAME, ArweaveSigner, Ed25519Signer, b58decode, b58encode, build_event_item,
    create_arweave_wallet, create_data_item, create_solana_wallet, event_tags,
    generate_arweave_jwk, generate_solana_keypair, load_wallet, signer_from, write_wallet,
)
from verifier.anchor.upload import ErrorKind, UploadStatus, upload_data_item
from verifier.core.ans104 import parse_data_item, signing_message, verify_data_item
from verifier.core.encoding import b64u_encode
from verifier.core.receipt import verify_receipt
from verifier.gateway.server import Fault, GatewayServer
from verifier.sources.gateway import GatewayClient

ENVELOPE = b'{"event_id":"e-1","event_type":"training_complete"}'
EVENT = {"event_type": "training_complete", "event_id": "e-1", "chain_prev": "GENESIS"}


@pytest.fixture(scope="module")
def jwk():
    return generate_arweave_jwk()


@pytest.fixture(scope="module")
def rsa_signer(jwk):
    return ArweaveSigner(jwk)


@pytest.fixture()
def ed_signer():
    return Ed25519Signer(b"\x09" * 32)


@pytest.fixture()
def gateway():
    gw = GatewayServer("127.0.0.1", 0, None).start()
    yield gw
    gw.stop()


def pss_salt_length(modulus: bytes, signature: bytes) -> int:
    """Recover the PSS salt length from a signature with the RSA public operation."""
    n, em_len = int.from_bytes(modulus, "big"), len(modulus)
    em = pow(int.from_bytes(signature, "big"), 65537, n).to_bytes(em_len, "big")
    assert em[-1] == 0xBC
    masked, h = em[:em_len - 33], em[em_len - 33:-1]
    mask, counter = b"", 0
    while len(mask) < len(masked):
        mask += hashlib.sha256(h + counter.to_bytes(4, "big")).digest()
        counter += 1
    db = bytearray(a ^ b for a, b in zip(masked, mask))
    db[0] &= 0x7F
    return len(db) - db.index(1) - 1


# -- signers and items -------------------------------------------------------------------


def test_event_item_tags_and_layout(ed_signer):
    raw = build_event_item(ENVELOPE, ed_signer, **EVENT, extra_tags=[("Run-Id", "r1")])
    res = verify_data_item(raw, expected_data=ENVELOPE)
    assert res.ok
    names = [(t["name"], t["value"]) for t in res.subject["tags"]]
    assert names == [*event_tags("training_complete", "e-1", "GENESIS"), ("Run-Id", "r1")]
    assert names[1] == ("App-Name", APP_NAME) and names[0] == ("Content-Type", "application/json")
    item = parse_data_item(raw)
    assert item.signature_type == 2 and item.target is None and len(item.anchor) == 32
    assert item.owner == ed_signer.owner


@pytest.mark.parametrize("name", ["Content-Type", "App-Name", "app-version", "EVENT-TYPE",
                                  "Event-Id", "Chain-Prev", b"Chain-Prev"])
def test_shadowing_rejected(ed_signer, name):
    with pytest.raises(ValueError, match="shadow"):
        build_event_item(ENVELOPE, ed_signer, **EVENT, extra_tags=[(name, "x")])


def test_anchor_random_and_injectable(ed_signer):
    a = parse_data_item(build_event_item(ENVELOPE, ed_signer, **EVENT))
    b = parse_data_item(build_event_item(ENVELOPE, ed_signer, **EVENT))
    assert a.anchor != b.anchor and a.id != b.id
    one = build_event_item(ENVELOPE, ed_signer, **EVENT, random_bytes=lambda n: b"\x01" * n)
    two = build_event_item(ENVELOPE, ed_signer, **EVENT, anchor=b"\x01" * 32)
    assert one == two  # Ed25519 is deterministic
    with pytest.raises(ValueError):
        create_data_item(ENVELOPE, ed_signer, anchor=b"short")


def test_type1_uses_maximum_salt(rsa_signer):
    raw = build_event_item(ENVELOPE, rsa_signer, **EVENT)
    assert verify_data_item(raw).ok
    item = parse_data_item(raw)
    assert pss_salt_length(item.owner, item.signature) == 478
    assert len(signing_message(item)) == 48


def test_arweave_signer_validation(jwk):
    with pytest.raises(ValueError, match="lacks"):
        ArweaveSigner({k: v for k, v in jwk.items() if k != "qi"})
    with pytest.raises(ValueError):
        ArweaveSigner(dict(jwk, e="Aw"))
    with pytest.raises(ValueError):
        ArweaveSigner(dict(jwk, kty="EC"))
    with pytest.raises(ValueError):
        ArweaveSigner(dict(jwk, d="!!"))
    with pytest.raises(ValueError):
        ArweaveSigner(dict(jwk, p=jwk["q"]))  # inconsistent private numbers
    from cryptography.hazmat.primitives.asymmetric import rsa
    small = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_numbers()
    enc = lambda n: b64u_encode(n.to_bytes((n.bit_length() + 7) // 8, "big"))  # noqa: E731
    with pytest.raises(ValueError, match="RSA-4096"):
        ArweaveSigner({"kty": "RSA", "n": enc(small.public_numbers.n), "e": "AQAB",
                       "d": enc(small.d), "p": enc(small.p), "q": enc(small.q),
                       "dp": enc(small.dmp1), "dq": enc(small.dmq1), "qi": enc(small.iqmp)})


def test_arweave_address(rsa_signer, jwk):
    n = parse_data_item(create_data_item(b"x", rsa_signer)).owner
    assert rsa_signer.address == b64u_encode(hashlib.sha256(n).digest())
    assert len(rsa_signer.address) == 43


def test_base58():
    assert b58encode(b"Hello World!") == "2NEpo7TZRRrLZSi2U"
    assert b58encode(b"\x00\x00\x01") == "112"
    assert b58encode(b"") == ""
    for data in (b"", b"\x00", b"\x00\x00abc", os.urandom(64), b"\xff" * 32):
        assert b58decode(b58encode(data)) == data
    with pytest.raises(ValueError):
        b58decode("0OIl")
    base58 = importlib.import_module("base58")
    for data in (os.urandom(32), b"\x00" + os.urandom(31)):
        assert b58encode(data) == base58.b58encode(data).decode()


def test_solana_keys():
    ints = generate_solana_keypair()
    assert len(ints) == 64 and all(0 <= i <= 255 for i in ints)
    s = Ed25519Signer.from_solana_keypair(ints)
    assert s.owner == bytes(ints[32:]) and s.address == b58encode(bytes(ints[32:]))
    assert Ed25519Signer.from_base58(b58encode(bytes(ints))).owner == s.owner
    assert Ed25519Signer.from_base58(b58encode(bytes(ints[:32]))).owner == s.owner
    bad = list(ints)
    bad[40] ^= 1
    with pytest.raises(ValueError, match="public half"):
        Ed25519Signer.from_solana_keypair(bad)
    for junk in ([1] * 63, [256] * 64, [True] * 64, "x"):
        with pytest.raises(ValueError):
            Ed25519Signer.from_solana_keypair(junk)  # type: ignore[arg-type]
    turbo = importlib.import_module("turbo_sdk.signers")
    assert turbo.SolanaSigner(ints).get_wallet_address() == s.address


# -- wallet files ------------------------------------------------------------------------


def test_wallet_files(tmp_path, jwk):
    sol = create_solana_wallet(tmp_path / "sol" / "id.json")
    path = tmp_path / "sol" / "id.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(json.loads(path.read_text())) == 64
    assert load_wallet(path).address == sol.address
    with pytest.raises(FileExistsError):
        create_solana_wallet(path)
    with pytest.raises(FileExistsError):
        write_wallet(path, [0] * 64)
    assert load_wallet(path).address == sol.address  # untouched
    assert [p.name for p in path.parent.iterdir()] == ["id.json"]  # no temp files left

    write_wallet(tmp_path / "ar.json", jwk)
    assert stat.S_IMODE((tmp_path / "ar.json").stat().st_mode) == 0o600
    assert isinstance(load_wallet(tmp_path / "ar.json"), ArweaveSigner)
    assert load_wallet(tmp_path / "ar.json").address == ArweaveSigner(jwk).address

    (tmp_path / "b58.txt").write_text(b58encode(bytes(json.loads(path.read_text()))) + "\n")
    assert load_wallet(tmp_path / "b58.txt").address == sol.address
    with pytest.raises(ValueError):
        signer_from(42)


def test_create_arweave_wallet(tmp_path):
    signer = create_arweave_wallet(tmp_path / "w.json")
    assert load_wallet(tmp_path / "w.json").address == signer.address
    with pytest.raises(FileExistsError):
        create_arweave_wallet(tmp_path / "w.json")


# -- uploads against the local gateway -----------------------------------------------------


def test_upload_success_and_receipt(gateway, ed_signer, rsa_signer):
    for signer in (ed_signer, rsa_signer):
        raw = build_event_item(ENVELOPE, signer, **EVENT)
        out = upload_data_item(raw, upload_url=gateway.url, token=signer.token)
        assert out.status is UploadStatus.UPLOADED and out.ok, out
        assert out.error_kind is ErrorKind.NONE and out.http_status == 200 and out.attempts == 1
        assert out.tx_id == parse_data_item(raw).id
        res = verify_receipt(out.receipt, out.tx_id, {gateway.signer_address})
        assert res.ok, res.to_json()
        assert out.receipt["owner"] == parse_data_item(raw).owner_address
        with GatewayClient([gateway.url]) as reader:  # as an auditor reads it back
            fetched = reader.fetch_data_item(out.tx_id).data
        assert verify_data_item(fetched, out.tx_id, ENVELOPE).ok


def test_upload_429_then_success_honours_retry_after(gateway, ed_signer):
    gateway.inject_faults(Fault(status=429, retry_after="0.25"), 503)
    waits: list[float] = []
    raw = build_event_item(ENVELOPE, ed_signer, **EVENT)
    out = upload_data_item(raw, upload_url=gateway.url, token="solana", backoff=0.01,
                           sleep=waits.append)
    assert out.ok and out.attempts == 3
    assert waits == [0.25, 0.02]  # Retry-After honoured, then exponential backoff


def test_retry_after_is_capped(gateway, ed_signer):
    gateway.inject_faults({"status": 429, "retry_after": "3600"})
    waits: list[float] = []
    out = upload_data_item(build_event_item(ENVELOPE, ed_signer, **EVENT), upload_url=gateway.url,
                           token="solana", max_retry_after=0.05, sleep=waits.append)
    assert out.ok and waits == [0.05]


def test_rate_limited_and_5xx_exhausted(gateway, ed_signer):
    raw = build_event_item(ENVELOPE, ed_signer, **EVENT)
    gateway.inject_faults(429, 429, 429)
    out = upload_data_item(raw, upload_url=gateway.url, token="solana", sleep=lambda s: None)
    assert out.status is UploadStatus.FAILED and out.error_kind is ErrorKind.RATE_LIMITED
    assert out.http_status == 429 and out.attempts == 3 and out.receipt is None
    gateway.inject_faults(500, 502, 504)
    out = upload_data_item(raw, upload_url=gateway.url, token="solana", sleep=lambda s: None)
    assert out.error_kind is ErrorKind.HTTP_5XX and out.http_status == 504 and out.attempts == 3
    gateway.inject_faults(501)  # not retried
    out = upload_data_item(raw, upload_url=gateway.url, token="solana", sleep=lambda s: None)
    assert out.error_kind is ErrorKind.HTTP_5XX and out.attempts == 1
    assert gateway.pending_faults() == 0


def test_bad_item_is_http_4xx_without_retry(gateway, ed_signer):
    raw = bytearray(build_event_item(ENVELOPE, ed_signer, **EVENT))
    raw[-1] ^= 1
    out = upload_data_item(bytes(raw), upload_url=gateway.url, token="solana")
    assert out.status is UploadStatus.FAILED and out.error_kind is ErrorKind.HTTP_4XX
    assert out.http_status == 400 and out.attempts == 1
    assert "data_item_signature_invalid" in out.message
    out = upload_data_item(b"garbage", upload_url=gateway.url, token="solana")
    assert out.error_kind is ErrorKind.HTTP_4XX and out.tx_id is None
    assert "data_item_malformed" in out.message
    # the token must match the signature type
    good = build_event_item(ENVELOPE, ed_signer, **EVENT)
    assert upload_data_item(good, upload_url=gateway.url, token="arweave").http_status == 400


def test_bad_response(gateway, ed_signer):
    gateway.inject_faults(200)  # answers JSON without a receipt id
    out = upload_data_item(build_event_item(ENVELOPE, ed_signer, **EVENT), upload_url=gateway.url,
                           token="solana")
    assert out.error_kind is ErrorKind.BAD_RESPONSE and out.http_status == 200


def test_unreachable_after_stop(ed_signer):
    gw = GatewayServer().start()
    url = gw.url
    gw.stop()
    waits: list[float] = []
    out = upload_data_item(build_event_item(ENVELOPE, ed_signer, **EVENT), upload_url=url,
                           token="solana", backoff=0.1, sleep=waits.append)
    assert out.status is UploadStatus.FAILED and out.error_kind is ErrorKind.UNREACHABLE
    assert out.http_status is None and out.attempts == 3 and waits == [0.1, 0.2]


def test_timeout(gateway, ed_signer):
    gateway.inject_faults({"delay": 5}, {"delay": 5})
    out = upload_data_item(build_event_item(ENVELOPE, ed_signer, **EVENT), upload_url=gateway.url,
                           token="solana", timeout=0.3, retries=1, sleep=lambda s: None)
    assert out.status is UploadStatus.FAILED and out.error_kind is ErrorKind.TIMEOUT
    assert out.attempts == 2


def test_timeout_then_success(gateway, ed_signer):
    gateway.inject_faults({"delay": 5})
    out = upload_data_item(build_event_item(ENVELOPE, ed_signer, **EVENT), upload_url=gateway.url,
                           token="solana", timeout=0.3, sleep=lambda s: None)
    assert out.ok and out.attempts == 2


def test_caller_client_is_left_open(gateway, ed_signer):
    with httpx.Client() as client:
        out = upload_data_item(build_event_item(ENVELOPE, ed_signer, **EVENT),
                               upload_url=gateway.url + "/", token="solana", client=client)
        assert out.ok and not client.is_closed


def test_unknown_token_is_a_programming_error(ed_signer):
    with pytest.raises(ValueError):
        upload_data_item(b"", upload_url="http://127.0.0.1:1", token="bitcoin")
