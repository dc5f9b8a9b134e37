"""Which upload wallet signs the ANS-104 data items (spec/anchoring.md §5).

Resolution, as ar-io-mlflow does it but with our own home directory:

1. an explicit path (``--wallet FILE``) or ``$ARIO_MLFLOW_ARWEAVE_WALLET``: must load, else
   `WalletError` — an operator's named wallet is never silently replaced
   (mode ``user-configured``);
2. ``<home>/wallet.json`` if present (mode ``persistent``);
3. ar-io-mlflow's ``~/.ario-mlflow/wallet.json`` if present and ``$ARIO_VERIFIER_HOME`` is
   not set (mode ``persistent``; read, never modified);
4. with ``create=True`` only: a new Solana (Ed25519, type 2) wallet written to
   ``<home>/wallet.json`` (0600, never over an existing file); its address is returned so
   the caller can print it. If the home is not writable the wallet lives in memory only
   (mode ``ephemeral``).

The wallet type (``arweave`` for an RSA JWK, ``solana`` for an id.json or base58 secret) is
detected from the file's shape, never configured.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from . import config
from .dataitem import Ed25519Signer, Signer, generate_solana_keypair, signer_from, write_wallet

MODE_USER = "user-configured"
MODE_PERSISTENT = "persistent"
MODE_EPHEMERAL = "ephemeral"
TYPE_ARWEAVE = "arweave"
TYPE_SOLANA = "solana"


class WalletError(ValueError):
    """A named wallet could not be used, or none was found and creation was not allowed."""


@dataclass(frozen=True)
class ResolvedWallet:
    signer: Signer
    mode: str
    path: Path | None
    created: bool = False

    @property
    def wallet_type(self) -> str:
        return TYPE_ARWEAVE if self.signer.signature_type == 1 else TYPE_SOLANA

    @property
    def address(self) -> str:
        return self.signer.address

    @property
    def token(self) -> str:
        return self.signer.token


def load_wallet_file(path: str | os.PathLike[str]) -> Signer:
    """A signer from an Arweave JWK, a Solana id.json or a base58-secret file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise WalletError(f"wallet file {p} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise WalletError(f"cannot read wallet file {p}: {exc}") from None
    try:
        doc: Any = json.loads(text)
    except (ValueError, RecursionError):
        doc = text  # a bare base58 secret
    try:
        return signer_from(doc)
    except (ValueError, TypeError) as exc:
        raise WalletError(f"wallet file {p} is not a usable wallet: {exc}") from None


def resolve_wallet(
    path: str | os.PathLike[str] | None = None,
    *,
    environ: Mapping[str, str],
    create: bool = True,
) -> ResolvedWallet:
    """Pick (or, if allowed, create) the upload wallet; see the module docstring."""
    named = path or environ.get(config.PLUGIN_WALLET_ENV) or None
    if named:
        return ResolvedWallet(load_wallet_file(named), MODE_USER, Path(named))
    home_wallet = config.default_wallet_path(config.verifier_home(environ))
    if home_wallet.exists():
        return ResolvedWallet(load_wallet_file(home_wallet), MODE_PERSISTENT, home_wallet)
    if not config.home_is_overridden(environ):
        plugin_wallet = config.plugin_wallet_path(environ)
        if plugin_wallet.exists():
            return ResolvedWallet(load_wallet_file(plugin_wallet), MODE_PERSISTENT, plugin_wallet)
    if not create:
        raise WalletError(f"no upload wallet: pass --wallet FILE or create {home_wallet}")
    ints = generate_solana_keypair()
    signer = Ed25519Signer.from_solana_keypair(ints)
    try:
        write_wallet(home_wallet, ints)
    except FileExistsError:  # created concurrently: use that one
        return ResolvedWallet(load_wallet_file(home_wallet), MODE_PERSISTENT, home_wallet)
    except OSError:
        return ResolvedWallet(signer, MODE_EPHEMERAL, None, created=True)
    return ResolvedWallet(signer, MODE_PERSISTENT, home_wallet, created=True)
