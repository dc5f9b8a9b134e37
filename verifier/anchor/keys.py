"""Ed25519 envelope-signing keys: generate, save, load, resolve — without surprises.

Rules (spec/anchoring.md §2):

* Nothing here writes a key unless a function whose name says so is called
  (`save_signing_key`, or `resolve_signing_key(..., create=True)` from an anchoring entry
  point). Importing, loading and verifying never write.
* Key files are written atomically with mode 0600 and an existing file is never replaced.
* The environment is read only through the mapping a caller passes in.

Formats read:

* ours: ``{"format": "ario-verifier.ed25519/v1", "seed": <64 hex>, "public_key": <64 hex>}``
  (the public key is checked against the seed on load);
* ar-io-mlflow's private key file ``{"seed": <base64 of the 32-byte seed>}`` (its default
  place is ``~/.ario-mlflow/keys/ed25519_private.json``);
* ar-io-mlflow's ``ARIO_MLFLOW_SIGNING_KEY`` value: base64 of the 32-byte seed.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from nacl.signing import SigningKey

from verifier.core.errors import Malformed
from verifier.core.intake import load

from . import config

KEY_FORMAT = "ario-verifier.ed25519/v1"
PLUGIN_FORMAT = "ario-mlflow"


class KeyFileError(ValueError):
    """A key file or key value could not be used; the message says why and where."""


class KeyExistsError(KeyFileError, FileExistsError):
    """Refused to overwrite an existing key or wallet file."""


def generate_signing_key() -> SigningKey:
    """A fresh Ed25519 key from the OS CSPRNG (nothing is written)."""
    return SigningKey(secrets.token_bytes(32))


def signing_key_from_seed(seed: bytes) -> SigningKey:
    if not isinstance(seed, (bytes, bytearray)) or len(seed) != 32:
        raise KeyFileError("an Ed25519 seed must be exactly 32 bytes")
    return SigningKey(bytes(seed))


def public_key_hex(key: SigningKey) -> str:
    """The 64-hex public key that goes into envelopes (`public_key`)."""
    return bytes(key.verify_key).hex()


def key_file_json(key: SigningKey, fmt: str = KEY_FORMAT) -> bytes:
    """The bytes `save_signing_key` writes, in our format or ar-io-mlflow's."""
    if fmt == KEY_FORMAT:
        doc = {"format": KEY_FORMAT, "seed": bytes(key).hex(), "public_key": public_key_hex(key)}
    elif fmt == PLUGIN_FORMAT:
        doc = {"seed": base64.b64encode(bytes(key)).decode("ascii")}
    else:
        raise ValueError(f"unknown key format {fmt!r}")
    return (json.dumps(doc, indent=2) + "\n").encode("ascii")


def synced_temp_file(target: Path, data: bytes) -> Path:
    """Write `data` to a fresh 0600 temporary file beside `target`, fsynced; return its path.

    The caller moves it into place (link for no-clobber, replace for update) and removes it
    on failure.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def write_private_file(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write `data` to `path` atomically, mode 0600, refusing to replace an existing file.

    The bytes go to a temporary file in the same directory (created 0600 with O_EXCL),
    are fsynced, then hard-linked into place: `link` fails if the target exists, so a
    concurrent writer or an existing key is never clobbered and no reader ever sees a
    half-written file.
    """
    target = Path(path)
    if target.exists() or target.is_symlink():
        raise KeyExistsError(f"{target} already exists; refusing to overwrite it")
    tmp = synced_temp_file(target, data)
    try:
        try:
            os.link(tmp, target)
        except FileExistsError:
            raise KeyExistsError(f"{target} already exists; refusing to overwrite it") from None
        except OSError:
            # File systems without hard links: exclusive create is still no-clobber.
            _write_exclusive(target, data)
    finally:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
    return target


def _write_exclusive(target: Path, data: bytes) -> None:
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise KeyExistsError(f"{target} already exists; refusing to overwrite it") from None
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def save_signing_key(key: SigningKey, path: str | os.PathLike[str], fmt: str = KEY_FORMAT) -> Path:
    """Save `key` to a new file (0600, atomic); raises `KeyExistsError` if it exists."""
    return write_private_file(path, key_file_json(key, fmt))


def parse_key_document(doc: object, where: str = "key file") -> SigningKey:
    """A signing key from a parsed key file in our format or ar-io-mlflow's."""
    if not isinstance(doc, dict) or not isinstance(doc.get("seed"), str):
        raise KeyFileError(f"{where}: expected a JSON object with a \"seed\" string")
    seed_text = doc["seed"]
    fmt = doc.get("format")
    if fmt is not None and fmt != KEY_FORMAT:
        raise KeyFileError(f"{where}: unknown key format {fmt!r}")
    if fmt == KEY_FORMAT:
        try:
            seed = bytes.fromhex(seed_text) if len(seed_text) == 64 else b""
        except ValueError:
            seed = b""
        if len(seed) != 32 or seed_text != seed.hex():
            raise KeyFileError(f"{where}: seed must be 64 lowercase hex characters")
    else:
        seed = _b64_seed(seed_text, where)
    key = SigningKey(seed)
    stated = doc.get("public_key")
    if stated is not None and stated != public_key_hex(key):
        raise KeyFileError(f"{where}: public_key does not belong to the seed")
    return key


def load_signing_key(path: str | os.PathLike[str]) -> SigningKey:
    """Load a key file (ours or ar-io-mlflow's). Never creates anything."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise KeyFileError(f"key file {p} does not exist") from None
    except OSError as exc:
        raise KeyFileError(f"cannot read key file {p}: {exc.strerror or exc}") from None
    try:  # the kernel's strict intake: deep nesting or huge numbers never raise here
        doc = load(raw)
    except Malformed as exc:
        raise KeyFileError(f"key file {p} is not JSON [{exc.reason.value}]") from None
    return parse_key_document(doc, f"key file {p}")


def signing_key_from_env(
    environ: Mapping[str, str], var: str = config.PLUGIN_KEY_ENV
) -> SigningKey | None:
    """The key in ``$ARIO_MLFLOW_SIGNING_KEY`` (base64 seed) or None if unset/empty.

    Called only by CLI/integration entry points, with the mapping they choose.
    """
    value = environ.get(var)
    if not value:
        return None
    return SigningKey(_b64_seed(value.strip(), f"${var}"))


def _b64_seed(text: str, where: str) -> bytes:
    try:
        seed = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise KeyFileError(f"{where}: seed is not base64") from None
    if len(seed) != 32:
        raise KeyFileError(f"{where}: seed must decode to 32 bytes, got {len(seed)}")
    return seed


@dataclass(frozen=True)
class ResolvedKey:
    """A signing key and where it came from (shown to the user, never parsed)."""

    key: SigningKey
    source: str  # "file" | "env" | "home" | "plugin-home" | "created"
    path: Path | None = None

    @property
    def public_key(self) -> str:
        return public_key_hex(self.key)


def resolve_signing_key(
    path: str | os.PathLike[str] | None = None,
    *,
    environ: Mapping[str, str],
    create: bool = False,
) -> ResolvedKey:
    """Pick the envelope-signing key for an anchoring run.

    Order: explicit `path`; ``$ARIO_MLFLOW_SIGNING_KEY``; our home key file; the plugin's
    ``~/.ario-mlflow/keys/ed25519_private.json`` (only when ``$ARIO_VERIFIER_HOME`` is not
    set, so tests never see the real home); else, only if `create`, a new key saved in our
    home. Without `create` and with no key found, raises `KeyFileError`.
    """
    if path is not None:
        return ResolvedKey(load_signing_key(path), "file", Path(path))
    env_key = signing_key_from_env(environ)
    if env_key is not None:
        return ResolvedKey(env_key, "env")
    home_path = config.default_key_path(config.verifier_home(environ))
    if home_path.exists():
        return ResolvedKey(load_signing_key(home_path), "home", home_path)
    if not config.home_is_overridden(environ):
        plugin_path = config.plugin_key_path(environ)
        if plugin_path.exists():
            return ResolvedKey(load_signing_key(plugin_path), "plugin-home", plugin_path)
    if not create:
        raise KeyFileError(
            f"no signing key: pass --key FILE, set ${config.PLUGIN_KEY_ENV}, or create one "
            f"with `ario-verifier keys generate --out {home_path}`"
        )
    key = generate_signing_key()
    try:
        save_signing_key(key, home_path)
    except KeyExistsError:  # another process created it first: use theirs
        return ResolvedKey(load_signing_key(home_path), "home", home_path)
    return ResolvedKey(key, "created", home_path)
