"""Deterministic RSA for the generator: primes from a seeded PRNG and EMSA-PSS with a
salt derived from the message, so that vectors carrying RSA-PSS signatures regenerate
byte for byte. Test material only; never use this for real keys."""

from __future__ import annotations

import base64
import hashlib
import random

_SMALL_PRIMES = [p for p in range(3, 2000) if all(p % q for q in range(2, int(p ** 0.5) + 1))]


def _probable_prime(n: int) -> bool:
    if any(n % p == 0 for p in _SMALL_PRIMES):
        return n in _SMALL_PRIMES
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for a in (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41):
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def _prime(rng: random.Random, bits: int) -> int:
    while True:
        c = rng.getrandbits(bits) | (3 << (bits - 2)) | 1
        if _probable_prime(c) and (c - 1) % 65537:
            return c


#: Primes that `DetRSA.derive_primes("ario-verifier vectors: arweave wallet", 4096)` finds,
#: pinned so that regenerating the corpus does not spend seconds searching for them again.
PINNED_PRIMES = {
    ("ario-verifier vectors: arweave wallet", 4096): (
        0xeb763bdd7dfa3c609e662580ebb59aad43c0689e6a18605c6ce3257b892d2e1d8f5da5ac6927cedeb3d2613ceb29216ef610402ce61b5979d736131ed0a68a0fdbc5931cc2b8865a73267972e4bc871fa377c38c42776c152bb2d045128707619888cea54dfbd8732f6f037cbe2d0122f137c3e1a8801b633d08fa1e3ffe8322027b49bb70d2a00a52506611bec8823e33efe7c1697c62e13d86c24d11a083b84b3663564fafb353d0c5bc3b465a3ebf21732f066da1d3f3ea175aea04b11dcbef0c93ded94114e8937cdfc884b840e589103262b28f39921ccd9f7deb62d243c9a8f6a8b89d8f8351e9f20d066b448bd8bd185dd8fb0ad701ec605720d162e1,
        0xff3a7cda45dcc3072d585c5636ddf342bedc9220fc9f7ad2a4eeb516a4f462c2dcc11691d53916f75b45582f9a878574908ceaaa9c53cf60a527b7a923de2db1db94a6564a64e93f1c37f0c8dc952367f38d66992406395e6f0fd08c0971692b753d29a0adc203dc476fbfb22fcb22f7701375ef5b7254968b56a3ec6807fe526164f4526ae9eb5258a6588118680e9311479afce90f95b06085abefedb15d13c85073f051b95e128ed84419b48ad2dd73c2cfae388cee8aff9c73fcd7323488f9cd9fcea6c128815b404b9273c32597809d40dcda3a11122d9c599db374ae3343dc9da7c8dfcaa075ffc4cea2428300d7f35657f489908171a3323593c9e485,
    ),
}


class DetRSA:
    """An RSA key (e = 65537) derived from a text seed."""

    def __init__(self, seed: str, bits: int) -> None:
        p, q = PINNED_PRIMES.get((seed, bits)) or self.derive_primes(seed, bits)
        n = p * q
        self.n, self.e = n, 65537
        self.d = pow(self.e, -1, (p - 1) * (q - 1))
        self.bits = bits

    @staticmethod
    def derive_primes(seed: str, bits: int) -> tuple[int, int]:
        """Two primes of bits/2 from a PRNG seeded with SHA-256(seed); n has exactly `bits`."""
        rng = random.Random(hashlib.sha256(seed.encode()).digest())
        while True:
            p, q = _prime(rng, bits // 2), _prime(rng, bits // 2)
            if p != q and (p * q).bit_length() == bits:
                return p, q

    @property
    def n_bytes(self) -> bytes:
        return self.n.to_bytes((self.bits + 7) // 8, "big")

    def jwk(self) -> dict[str, str]:
        b64u = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()  # noqa: E731
        return {"kty": "RSA", "n": b64u(self.n_bytes), "e": "AQAB"}

    def address(self) -> str:
        return base64.urlsafe_b64encode(hashlib.sha256(self.n_bytes).digest()).rstrip(b"=").decode()

    def sign_pss(self, message: bytes, salt_len: int) -> bytes:
        """RSASSA-PSS (SHA-256, MGF1-SHA-256); the salt is SHA-256-derived from the message."""
        m_hash = hashlib.sha256(message).digest()
        salt = b""
        counter = 0
        while len(salt) < salt_len:
            salt += hashlib.sha256(b"salt" + counter.to_bytes(4, "big") + m_hash).digest()
            counter += 1
        salt = salt[:salt_len]
        em_bits = self.bits - 1
        em_len = (em_bits + 7) // 8
        h = hashlib.sha256(b"\x00" * 8 + m_hash + salt).digest()
        db = b"\x00" * (em_len - salt_len - 32 - 2) + b"\x01" + salt
        mask = _mgf1(h, em_len - 33)
        masked = bytes(a ^ b for a, b in zip(db, mask))
        masked = bytes([masked[0] & (0xFF >> (8 * em_len - em_bits))]) + masked[1:]
        em = masked + h + b"\xbc"
        sig = pow(int.from_bytes(em, "big"), self.d, self.n)
        return sig.to_bytes((self.bits + 7) // 8, "big")

    def max_salt(self) -> int:
        return (self.bits - 1 + 7) // 8 - 32 - 2


def _mgf1(seed: bytes, length: int) -> bytes:
    out = b""
    counter = 0
    while len(out) < length:
        out += hashlib.sha256(seed + counter.to_bytes(4, "big")).digest()
        counter += 1
    return out[:length]
