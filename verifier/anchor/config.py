"""Where the producer keeps its state: signing key, upload wallet and the pending outbox.

Nothing here creates a file; it only answers "which path". The home directory is, in order:
``$ARIO_VERIFIER_HOME`` (tests, CI and air-gapped setups point this somewhere private),
``$XDG_CONFIG_HOME/ario-verifier``, ``~/.config/ario-verifier``. The environment mapping
is always passed in by the caller (CLI and integration code pass ``os.environ``), so the
library never reads the environment on its own or at import time.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

HOME_ENV = "ARIO_VERIFIER_HOME"
#: The real plugin's signing-key variable (base64 of a 32-byte Ed25519 seed).
PLUGIN_KEY_ENV = "ARIO_MLFLOW_SIGNING_KEY"
#: The real plugin's upload-wallet variable (path to an RSA JWK or Solana id.json).
PLUGIN_WALLET_ENV = "ARIO_MLFLOW_ARWEAVE_WALLET"

DEFAULT_UPLOAD_URL = "https://upload.ardrive.io"
DEFAULT_GATEWAY_HOST = "turbo-gateway.com"


def verifier_home(environ: Mapping[str, str]) -> Path:
    """The producer's config directory (not created here)."""
    explicit = environ.get(HOME_ENV)
    if explicit:
        return Path(explicit).expanduser()
    xdg = environ.get("XDG_CONFIG_HOME")
    if xdg:
        return Path(xdg).expanduser() / "ario-verifier"
    return Path(environ.get("HOME") or Path.home()) / ".config" / "ario-verifier"


def home_is_overridden(environ: Mapping[str, str]) -> bool:
    """True when ``$ARIO_VERIFIER_HOME`` pins the home (then no other home is consulted)."""
    return bool(environ.get(HOME_ENV))


def default_key_path(home: Path) -> Path:
    return home / "keys" / "ed25519.json"


def default_wallet_path(home: Path) -> Path:
    return home / "wallet.json"


def outbox_dir(home: Path) -> Path:
    return home / "outbox"


def plugin_key_path(environ: Mapping[str, str]) -> Path:
    """Where ar-io-mlflow keeps its auto-generated signing key."""
    return Path(environ.get("HOME") or Path.home()) / ".ario-mlflow" / "keys" / "ed25519_private.json"


def plugin_wallet_path(environ: Mapping[str, str]) -> Path:
    """Where ar-io-mlflow keeps its auto-generated upload wallet."""
    return Path(environ.get("HOME") or Path.home()) / ".ario-mlflow" / "wallet.json"


def current_environ() -> Mapping[str, str]:
    """The process environment, for CLI and integration entry points only."""
    return os.environ
