"""Turbo upload receipts: the published example, all three layouts, tampering, signer
pinning and hostile receipts."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from verifier.core.encoding import b64u_encode, sha256
from verifier.core.reasons import ReasonCode as R
from verifier.core.reasons import Status
from verifier.core.receipt import (
    LAYOUT_CURRENT, LAYOUT_LEGACY_010, LAYOUT_LEGACY_WINC, receipt_message, verify_receipt,
)

EXAMPLE_PATH = Path("/work/shared/reference/turbo-receipt-example.json")
EXAMPLE_ID = "QpmY8mZmFEC8RxNsgbxSV6e36OF6quIYaPRKzvUco0o"
EXAMPLE_SIGNER = "8wgRDgvYOrtSaWEIV21g0lTuWDUnTu4_iYj4hmA7PI0"
ITEM_ID = "JiF9zNEidMQk6k4l9cNUY5K7yRuEYbO4nrBfBrISwPI"

# The OpenAPI example receipt of ardriveapp/turbo-upload-service (test wallet, v0.1.0),
# inlined so the test does not depend on a file outside the repository.
EXAMPLE = {
    "id": EXAMPLE_ID, "owner": EXAMPLE_SIGNER, "dataCaches": ["arweave.net"],
    "fastFinalityIndexes": ["arweave.net"], "deadlineHeight": 1310000,
    "timestamp": 1700590909589, "version": "0.1.0",
    "signature": (
        "iU_S6uuG1OD8k0XqMGOmbcKfysDckEMUy4R9-ODPXiQjKXuT4lTngRFBFKO5NQT1iIfqSDKcbTRL6gJo"
        "wM_L7bBQZRGkojzXD0PNNU2F0bNNJ80VtUktHifGTXbCgz5kiFciL19n0P3nX6ZfXnOn-H8ALZzRJV69"
        "apdvwqitpNKxLMPyc-QA0QBxmC3CKPz_7fy2Qg0QHr5g_ZT2Of-YJ_RsZTEoc3g1fgzsEmMBPOsx4XtP"
        "rhV6llnA3pncngzHbPdFvypdWiO8Bvr0EWmazNsoanuwK5uKJ_ROIGXW_dBBGN8Vrfv5U6dJnhJVn5IE"
        "7JFlixpFTluF_ICRzbUq2pk_re6jEtW1H3ItH2iN0UeFUw1uDbq3HJW6lDc8aOwDwDspJI11KEI6uCz5"
        "QmQy2V8DvRknoqcxmuihF6XmmJIZgTVeo6LNufEis9kFxqtc3Dh_gn8z0cDXKEKFycudckmcHP7vkWD6"
        "8uSssMMJIdVgwvPZss06svfRnI-E33j3MrQI9FzMIv-7Df8iYATyeyldM1v3gexG0kQm0AMG1_8_SLqw"
        "u2QlqzM41mrK5vNmQxOVdIQSOPWPvzbF-YGRwpCjlveRBuARGC9JNC4UipvDYri2gRWuBx2uDL7dmVFv"
        "1gRll3dYNMYaMULHYngtrrCynB3Cyfhh7cyPlwuNlk0"
    ),
    "public": (
        "qREovbmD6oxgHYNCzOeTei07lSz0-YLcjnvgSDzqptsCiqNOtB3RKUToSX5hkPD45fJDY4057XkkcsQR"
        "uGsU8y9rgm37i-Kiyd5Z_iy6pJXrwi9XnAgGL118lIV790GZ7xe5o3DvPV3Px74C0ABsfL9lW86D4t_q"
        "ClJ6wSQksKNd7rnUImIvHW0vxLswST7dfUngevzKt4kv48VTub4951XdUHjb45Uurf7xFYSCizAGtGqr"
        "5GYDFrVk-mNrzFH5bXt06PJfxe9E5ujIE5Uq1Az6vqEOO0E1mWmXqdTPluAxcjmgktkoNLHZnnU-BsYu"
        "FaTWW5NU3aS-RgJKXYs9O6Dc1-2SITl-H_wtdGNSj31fj72UkaAbkpA1mionK-8bOIkSpYgKCyTC42oH"
        "h1Fw4SLXPyLxBj1w6F32LSLjpse5dmKymj4fJPezCMdi709uIiVT7XOm4LZBCzFOxS6-UNxgE57dBFpc"
        "WkcqNO3p00biYqH5d5bzvK3bwd-4j0KyKlqPYTProSnd3P6ROZuuJaLoLD_Or5-L_dUjawHz-DFlzmck"
        "Yaf8l3XdzPM4JSsE8CEDZl0NCN0AidXt_wjbr6k9JsO7cnLB226AjxhcyuxZOlhgkIn7EbxpVXx-O2mX"
        "kcXF8PixCP0k5brtriLeF1MAdspgd_S-LKQeGVr7-mk"
    ),
}


@pytest.fixture(scope="module")
def key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _sign(key, receipt: dict, layout: str = LAYOUT_CURRENT, salt: int = 0) -> dict:
    out = dict(receipt)
    n = key.public_key().public_numbers().n
    out["public"] = b64u_encode(n.to_bytes((n.bit_length() + 7) // 8, "big"))
    sig = key.sign(receipt_message(out, layout),
                   padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=salt),
                   hashes.SHA256())
    out["signature"] = b64u_encode(sig)
    return out


def _base() -> dict:
    return {"id": ITEM_ID, "timestamp": 1795682153885, "version": "0.2.0",
            "deadlineHeight": 1600200, "dataCaches": ["arweave.net"], "fastFinalityIndexes": [],
            "winc": "123", "owner": "ajgD1fBZkCocba-8m6RykhL3yqwIY0zDrnaydSnwOCc"}


def _address(receipt: dict) -> str:
    from verifier.core.encoding import b64u_decode
    return b64u_encode(sha256(b64u_decode(receipt["public"])))


# -- the published example -------------------------------------------------------------


def test_example_file_matches_inlined_copy():
    if not EXAMPLE_PATH.exists():
        pytest.skip("shared reference file not present")
    data = json.loads(EXAMPLE_PATH.read_text())
    assert {k: v for k, v in data.items() if not k.startswith("_")} == EXAMPLE


def test_example_verifies_under_legacy_010():
    res = verify_receipt(EXAMPLE, EXAMPLE_ID)
    assert res.ok, res.to_json()
    assert res.subject["layout"] == LAYOUT_LEGACY_010
    assert res.subject["signer_address"] == EXAMPLE_SIGNER
    assert res.subject["timestamp"] == 1700590909589
    assert res.subject["timestamp_iso"] == "2023-11-21T18:21:49.589Z"
    assert res.subject["deadlineHeight"] == 1310000
    signer = res.check("signer")
    assert signer.outcome.value == "skipped" and EXAMPLE_SIGNER in signer.detail


def test_example_pinning():
    res = verify_receipt(EXAMPLE, EXAMPLE_ID, {EXAMPLE_SIGNER})
    assert res.ok and res.check("signer").outcome.value == "passed"
    res = verify_receipt(EXAMPLE, EXAMPLE_ID, {"JNC6vBhjHY1EPwV3pEeNmrsgFMxH5d38_LHsZ7jful8"})
    assert res.status is Status.FAILED and res.reason is R.RECEIPT_UNTRUSTED
    res = verify_receipt(EXAMPLE, EXAMPLE_ID, set())
    assert res.reason is R.RECEIPT_UNTRUSTED


def test_example_id_mismatch():
    res = verify_receipt(EXAMPLE, ITEM_ID)
    assert res.status is Status.FAILED and res.reason is R.RECEIPT_INVALID
    assert res.check("id").reason is R.RECEIPT_INVALID
    assert res.check("signature").outcome.value == "passed"


@pytest.mark.parametrize("field,value", [
    ("id", ITEM_ID), ("timestamp", 1700590909590), ("deadlineHeight", 1310001),
    ("version", "0.2.0"), ("dataCaches", ["arweave.dev"]), ("fastFinalityIndexes", []),
])
def test_example_tampered(field, value):
    r = dict(EXAMPLE, **{field: value})
    res = verify_receipt(r)
    assert res.check("signature").reason is R.RECEIPT_INVALID, field


# -- layouts signed here ---------------------------------------------------------------


@pytest.mark.parametrize("layout", [LAYOUT_CURRENT, LAYOUT_LEGACY_WINC, LAYOUT_LEGACY_010])
def test_each_layout_is_recognised(key, layout):
    r = _sign(key, _base(), layout)
    res = verify_receipt(r, ITEM_ID, {_address(r)})
    assert res.ok, res.to_json()
    assert res.subject["layout"] == layout


@pytest.mark.parametrize("salt", [0, 32, 222])
def test_any_salt_accepted(key, salt):
    assert verify_receipt(_sign(key, _base(), salt=salt), ITEM_ID).ok


def test_current_layout_covers_only_signed_fields(key):
    r = _sign(key, _base())
    for field, value in (("owner", "x" * 43), ("winc", "999"), ("dataCaches", []),
                         ("fastFinalityIndexes", ["a"])):
        assert verify_receipt(dict(r, **{field: value}), ITEM_ID).ok, field
    for field, value in (("timestamp", r["timestamp"] + 1), ("deadlineHeight", 1),
                         ("version", "0.2.1")):
        res = verify_receipt(dict(r, **{field: value}), ITEM_ID)
        assert res.reason is R.RECEIPT_INVALID, field


def test_digit_string_numbers_are_signed_verbatim(key):
    r = _base()
    r["timestamp"], r["deadlineHeight"] = str(r["timestamp"]), str(r["deadlineHeight"])
    assert verify_receipt(_sign(key, r), ITEM_ID).ok


def test_signature_by_another_key_fails(key):
    r = _sign(key, _base())
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = _sign(other, _base())
    forged["public"] = r["public"]
    assert verify_receipt(forged, ITEM_ID).reason is R.RECEIPT_INVALID


# -- hostile receipts ------------------------------------------------------------------


def test_shape_errors():
    assert verify_receipt([]).reason is R.NOT_AN_OBJECT
    assert verify_receipt(None).reason is R.NOT_AN_OBJECT
    for f in ("id", "timestamp", "version", "deadlineHeight", "public", "signature"):
        r = dict(EXAMPLE)
        del r[f]
        res = verify_receipt(r)
        assert res.status is Status.MALFORMED and res.reason is R.MISSING_FIELD, f
    bad = [("timestamp", 1.5), ("timestamp", True), ("timestamp", -1), ("timestamp", "12a"),
           ("deadlineHeight", None), ("version", 2), ("id", "short"), ("id", 5),
           ("public", "not base64!"), ("signature", ["x"]), ("public", 7)]
    for field, value in bad:
        res = verify_receipt(dict(EXAMPLE, **{field: value}))
        assert res.status is Status.MALFORMED and res.reason is R.BAD_FIELD_TYPE, (field, value)


def test_weak_or_bogus_key(key):
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    res = verify_receipt(_sign(small, _base()), ITEM_ID)
    assert res.reason is R.BAD_RSA_KEY
    r = _sign(key, _base())
    r["public"] = b64u_encode(b"\xff" * 255 + b"\xfe")  # even modulus
    assert verify_receipt(r).reason is R.BAD_RSA_KEY
    r["public"] = b64u_encode(b"\xff" * 256)  # odd, not a real key: the signature just fails
    assert verify_receipt(r).reason is R.RECEIPT_INVALID
    r = _sign(key, _base())
    r["signature"] = b64u_encode(b"\x00" * 3)
    assert verify_receipt(r).reason is R.RECEIPT_INVALID


def test_legacy_layouts_tolerate_missing_unsigned_fields(key):
    r = _sign(key, _base())
    for f in ("dataCaches", "fastFinalityIndexes", "winc", "owner"):
        r2 = copy.deepcopy(r)
        del r2[f]
        assert verify_receipt(r2, ITEM_ID).ok, f
    r2 = dict(r, dataCaches=[1, 2], winc=5)
    assert verify_receipt(r2, ITEM_ID).ok


def test_huge_timestamp_does_not_raise(key):
    r = _sign(key, dict(_base(), timestamp=10 ** 30))
    res = verify_receipt(r, ITEM_ID)
    assert res.ok and res.subject["timestamp_iso"] is None


def test_fuzzed_receipts_never_raise():
    import random

    values = [None, True, 1.5, -1, 10 ** 40, "", "\ud800", [], {}, [1], ["a"], ["\udc00"],
              "A" * 43, "=", "AAAA", "0" * 25, 2 ** 64, "12", "A" * 43 + "\ud800"]
    rng = random.Random(0)
    for _ in range(3000):
        r = copy.deepcopy(EXAMPLE)
        for _ in range(rng.randrange(1, 4)):
            r[rng.choice([*r, "winc"])] = rng.choice(values)
        res = verify_receipt(r, rng.choice([None, "x", EXAMPLE_ID]),
                             rng.choice([None, set(), {EXAMPLE_SIGNER}]))
        assert res.kind == "receipt"
