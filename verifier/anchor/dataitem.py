"""Build and sign ANS-104 data items; create, store and load upload wallets.

Producer side only. Two signers: `ArweaveSigner` (type 1, RSA-4096 JWK, RSA-PSS SHA-256
with maximum salt like turbo-sdk) and `Ed25519Signer` (type 2, a Solana-style Ed25519 key).
Items always carry a random 32-byte anchor and no target, like the Python turbo-sdk.
Layout, deep hash and tag encoding come from `verifier.core.ans104`.
"""

from __future__ import annotations

import base64
import json
import os
import struct
import tempfile
from pathlib import Path
from typing import Any, Callable, Sequence, Union

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519 as _ed, padding, rsa

from .. import __version__
from ..core.ans104 import encode_tags, signing_message_parts
from ..core.encoding import b64u_encode, sha256

APP_NAME = "ario-verifier"
RESERVED_TAGS = ("Content-Type", "App-Name", "App-Version", "Event-Type", "Event-Id", "Chain-Prev")
_JWK_FIELDS = ("n", "e", "d", "p", "q", "dp", "dq", "qi")

# -- base58 (Bitcoin alphabet, as Solana uses) -------------------------------------------

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {c: i for i, c in enumerate(_B58)}


def b58encode(data: bytes) -> str:
    """Base58 (Bitcoin alphabet); leading zero bytes become '1'."""
    n = int.from_bytes(data, "big")
    out = []
    while n:
        n, r = divmod(n, 58)
        out.append(_B58[r])
    pad = len(data) - len(data.lstrip(b"\0"))
    return "1" * pad + "".join(reversed(out))


def b58decode(text: str) -> bytes:
    """Inverse of `b58encode`; ValueError on a character outside the alphabet."""
    n = 0
    for c in text:
        if c not in _B58_INDEX:
            raise ValueError("not a base58 string")
        n = n * 58 + _B58_INDEX[c]
    body = n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b""
    return b"\0" * (len(text) - len(text.lstrip("1"))) + body


def _b64u_int(value: Any, field: str) -> int:
    if not isinstance(value, str) or not value:
        raise ValueError(f"JWK field {field} must be a base64url string")
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except ValueError:
        raise ValueError(f"JWK field {field} is not base64url") from None
    return int.from_bytes(raw, "big")


def _int_b64u(n: int) -> str:
    return b64u_encode(n.to_bytes((n.bit_length() + 7) // 8, "big"))


# -- signers ------------------------------------------------------------------------------


class ArweaveSigner:
    """Signature type 1: an Arweave RSA-4096 wallet (JWK with the private CRT fields)."""

    signature_type = 1
    token = "arweave"

    def __init__(self, jwk: dict[str, Any]) -> None:
        if not isinstance(jwk, dict):
            raise ValueError("an Arweave wallet is a JWK object")
        if jwk.get("kty", "RSA") != "RSA":
            raise ValueError("JWK kty must be RSA")
        missing = [f for f in _JWK_FIELDS if f not in jwk]
        if missing:
            raise ValueError("JWK lacks " + ", ".join(missing))
        v = {f: _b64u_int(jwk[f], f) for f in _JWK_FIELDS}
        if v["e"] != 65537:
            raise ValueError("Arweave keys use e = 65537")
        if v["n"].bit_length() != 4096:
            raise ValueError("type 1 data items need an RSA-4096 key (512-byte modulus)")
        self._key = rsa.RSAPrivateNumbers(
            p=v["p"], q=v["q"], d=v["d"], dmp1=v["dp"], dmq1=v["dq"], iqmp=v["qi"],
            public_numbers=rsa.RSAPublicNumbers(v["e"], v["n"]),
        ).private_key()
        self.owner = v["n"].to_bytes(512, "big")

    @property
    def address(self) -> str:
        """Arweave address ``b64u(SHA-256(n))``."""
        return b64u_encode(sha256(self.owner))

    def sign(self, message: bytes) -> bytes:
        """RSA-PSS / SHA-256 / MGF1-SHA-256 with maximum salt (478 bytes), like turbo-sdk."""
        return self._key.sign(message, padding.PSS(mgf=padding.MGF1(hashes.SHA256()),
                                                    salt_length=padding.PSS.MAX_LENGTH),
                              hashes.SHA256())


class Ed25519Signer:
    """Signature type 2: an Ed25519 key (Solana wallets); signs the raw 48-byte message."""

    signature_type = 2
    token = "solana"

    def __init__(self, seed: bytes) -> None:
        if not isinstance(seed, (bytes, bytearray)) or len(seed) != 32:
            raise ValueError("an Ed25519 seed is 32 bytes")
        self._key = _ed.Ed25519PrivateKey.from_private_bytes(bytes(seed))
        self.owner = self._key.public_key().public_bytes(serialization.Encoding.Raw,
                                                         serialization.PublicFormat.Raw)

    @classmethod
    def from_secret(cls, secret: bytes) -> "Ed25519Signer":
        """From a 32-byte seed or a 64-byte seed||public key (checked)."""
        secret = bytes(secret)
        if len(secret) == 32:
            return cls(secret)
        if len(secret) != 64:
            raise ValueError("a Solana secret key is 32 or 64 bytes")
        signer = cls(secret[:32])
        if signer.owner != secret[32:]:
            raise ValueError("the keypair's public half does not match its seed")
        return signer

    @classmethod
    def from_solana_keypair(cls, ints: Sequence[int]) -> "Ed25519Signer":
        """From a Solana CLI id.json array (64 integers 0..255: seed then public key)."""
        if (not isinstance(ints, (list, tuple)) or len(ints) != 64
                or not all(isinstance(i, int) and not isinstance(i, bool) and 0 <= i <= 255
                           for i in ints)):
            raise ValueError("a Solana keypair is a list of 64 integers 0..255")
        return cls.from_secret(bytes(ints))

    @classmethod
    def from_base58(cls, text: str) -> "Ed25519Signer":
        """From a base58 secret key string (Phantom-style export)."""
        return cls.from_secret(b58decode(text.strip()))

    @property
    def address(self) -> str:
        """Solana address: base58 of the public key."""
        return b58encode(self.owner)

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message)


Signer = Union[ArweaveSigner, Ed25519Signer]


# -- building items -----------------------------------------------------------------------

TagInput = Sequence[tuple[Union[str, bytes], Union[str, bytes]]]


def create_data_item(
    data: bytes,
    signer: Signer,
    tags: TagInput = (),
    *,
    anchor: bytes | None = None,
    target: bytes | None = None,
    random_bytes: Callable[[int], bytes] = os.urandom,
) -> bytes:
    """Lay out, sign and return a complete data item (raw bytes).

    `anchor` defaults to 32 fresh random bytes from `random_bytes`; `target` is absent
    unless 32 bytes are given. Tags are taken verbatim, in order.
    """
    if anchor is None:
        anchor = random_bytes(32)
    for name, value in (("anchor", anchor), ("target", target)):
        if value is not None and len(value) != 32:
            raise ValueError(f"{name} must be exactly 32 bytes")
    tags = list(tags)
    raw_tags = encode_tags(tags)
    sig_type = signer.signature_type
    msg = signing_message_parts(sig_type, signer.owner, target, anchor, raw_tags, bytes(data))
    signature = signer.sign(msg)
    parts = [
        struct.pack("<H", sig_type), signature, signer.owner,
        b"\x01" + target if target is not None else b"\x00",
        b"\x01" + anchor,
        struct.pack("<QQ", len(tags), len(raw_tags)), raw_tags, bytes(data),
    ]
    return b"".join(parts)


def event_tags(event_type: str, event_id: str, chain_prev: str, *,
               content_type: str = "application/json",
               app_version: str = __version__) -> list[tuple[str, str]]:
    """The six default tags, in the order ar-io-mlflow writes them."""
    return [("Content-Type", content_type), ("App-Name", APP_NAME), ("App-Version", app_version),
            ("Event-Type", event_type), ("Event-Id", event_id), ("Chain-Prev", chain_prev)]


def build_event_item(
    data: bytes,
    signer: Signer,
    *,
    event_type: str,
    event_id: str,
    chain_prev: str,
    extra_tags: TagInput = (),
    anchor: bytes | None = None,
    random_bytes: Callable[[int], bytes] = os.urandom,
) -> bytes:
    """A data item carrying an envelope: default tags first, caller tags appended.

    Raises ValueError if an extra tag would shadow a default tag (names compared
    case-insensitively).
    """
    reserved = {n.lower() for n in RESERVED_TAGS}
    for name, _ in extra_tags:
        text = name.decode("utf-8", "replace") if isinstance(name, bytes) else name
        if text.lower() in reserved:
            raise ValueError(f"extra tag {text!r} would shadow a default tag")
    tags = [*event_tags(event_type, event_id, chain_prev), *extra_tags]
    return create_data_item(data, signer, tags, anchor=anchor, random_bytes=random_bytes)


# -- wallets ------------------------------------------------------------------------------


def generate_arweave_jwk() -> dict[str, str]:
    """A fresh RSA-4096 Arweave JWK (takes a few seconds)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=4096)
    pn = key.private_numbers()
    return {"kty": "RSA", "n": _int_b64u(pn.public_numbers.n), "e": _int_b64u(pn.public_numbers.e),
            "d": _int_b64u(pn.d), "p": _int_b64u(pn.p), "q": _int_b64u(pn.q),
            "dp": _int_b64u(pn.dmp1), "dq": _int_b64u(pn.dmq1), "qi": _int_b64u(pn.iqmp)}


def generate_solana_keypair() -> list[int]:
    """A fresh Solana CLI keypair: 64 integers, the 32-byte seed then the public key."""
    seed = os.urandom(32)
    return list(seed + Ed25519Signer(seed).owner)


def write_wallet(path: str | os.PathLike[str], wallet: Any) -> Path:
    """Write a wallet as JSON atomically with mode 0600; never replaces an existing file."""
    target = Path(path)
    if target.exists():
        raise FileExistsError(f"refusing to overwrite existing wallet {target}")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".wallet-", dir=target.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(wallet, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.link(tmp, target)  # atomic, and fails if the name was taken meanwhile
    finally:
        os.unlink(tmp)
    return target


def create_arweave_wallet(path: str | os.PathLike[str]) -> ArweaveSigner:
    """Generate and store an Arweave JWK at `path`; return its signer."""
    jwk = generate_arweave_jwk()
    write_wallet(path, jwk)
    return ArweaveSigner(jwk)


def create_solana_wallet(path: str | os.PathLike[str]) -> Ed25519Signer:
    """Generate and store a Solana id.json keypair at `path`; return its signer."""
    ints = generate_solana_keypair()
    write_wallet(path, ints)
    return Ed25519Signer.from_solana_keypair(ints)


def signer_from(wallet: Any) -> Signer:
    """A signer from a parsed wallet: JWK dict, 64-int list, or base58 secret string."""
    if isinstance(wallet, dict):
        return ArweaveSigner(wallet)
    if isinstance(wallet, list):
        return Ed25519Signer.from_solana_keypair(wallet)
    if isinstance(wallet, str):
        return Ed25519Signer.from_base58(wallet)
    raise ValueError("unrecognised wallet: expected a JWK, a 64-int keypair or base58 text")


def load_wallet(path: str | os.PathLike[str]) -> Signer:
    """Load an Arweave JWK file, a Solana id.json, or a file holding a base58 secret."""
    text = Path(path).read_text(encoding="utf-8").strip()
    try:
        wallet: Any = json.loads(text)
    except (ValueError, RecursionError):  # huge integers and deep nesting included
        wallet = text
    return signer_from(wallet)


def wallet_address(signer: Signer) -> str:
    """The wallet's native address (Arweave b64u(SHA-256(n)) or Solana base58)."""
    return signer.address
