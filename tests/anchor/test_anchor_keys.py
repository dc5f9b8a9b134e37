"""Signing keys: formats, no-surprise writes, resolution order (verifier.anchor.keys)."""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys

import pytest

from verifier.anchor import config, keys as K

SEED = bytes.fromhex("0123456789abcdef" * 4)
PUB = "207a067892821e25d770f1fba0c47c11ff4b813e54162ece9eb839e076231ab6"


def test_fixed_seed_gives_the_corpus_public_key():
    assert K.public_key_hex(K.signing_key_from_seed(SEED)) == PUB


def test_save_and_load_our_format(tmp_path):
    key = K.signing_key_from_seed(SEED)
    path = K.save_signing_key(key, tmp_path / "k" / "key.json")
    doc = json.loads(path.read_text())
    assert doc == {"format": K.KEY_FORMAT, "seed": SEED.hex(), "public_key": PUB}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert K.public_key_hex(K.load_signing_key(path)) == PUB
    assert [p.name for p in path.parent.iterdir()] == ["key.json"]  # no temp file left


def test_plugin_key_file_and_env_value_are_read(tmp_path):
    plugin = tmp_path / "ed25519_private.json"
    plugin.write_text(json.dumps({"seed": base64.b64encode(SEED).decode()}))
    assert K.public_key_hex(K.load_signing_key(plugin)) == PUB
    env = {config.PLUGIN_KEY_ENV: base64.b64encode(SEED).decode()}
    assert K.public_key_hex(K.signing_key_from_env(env)) == PUB
    assert K.signing_key_from_env({}) is None


def test_plugin_format_is_written_on_request(tmp_path):
    path = K.save_signing_key(K.signing_key_from_seed(SEED), tmp_path / "p.json", K.PLUGIN_FORMAT)
    assert json.loads(path.read_text()) == {"seed": base64.b64encode(SEED).decode()}


def test_existing_file_is_never_overwritten(tmp_path):
    path = tmp_path / "key.json"
    path.write_text("precious")
    with pytest.raises(K.KeyExistsError):
        K.save_signing_key(K.generate_signing_key(), path)
    assert path.read_text() == "precious"
    link = tmp_path / "link.json"
    link.symlink_to(tmp_path / "nowhere")
    with pytest.raises(K.KeyExistsError):
        K.save_signing_key(K.generate_signing_key(), link)


@pytest.mark.parametrize("doc, fragment", [
    ({"seed": "zz"}, "base64"),
    ({"seed": base64.b64encode(b"short").decode()}, "32 bytes"),
    ({"format": K.KEY_FORMAT, "seed": SEED.hex().upper(), "public_key": PUB}, "lowercase hex"),
    ({"format": K.KEY_FORMAT, "seed": SEED.hex(), "public_key": "00" * 32}, "does not belong"),
    ({"format": "other/v9", "seed": SEED.hex()}, "unknown key format"),
    ([1, 2, 3], "JSON object"),
])
def test_bad_key_files_are_refused_with_a_reason(tmp_path, doc, fragment):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(K.KeyFileError, match=fragment):
        K.load_signing_key(path)


def test_missing_and_non_json_files(tmp_path):
    with pytest.raises(K.KeyFileError, match="does not exist"):
        K.load_signing_key(tmp_path / "absent.json")
    (tmp_path / "x.json").write_bytes(b"\xff\xfe")
    with pytest.raises(K.KeyFileError, match="not JSON"):
        K.load_signing_key(tmp_path / "x.json")


def test_bad_env_value_is_refused():
    with pytest.raises(K.KeyFileError, match="ARIO_MLFLOW_SIGNING_KEY"):
        K.signing_key_from_env({config.PLUGIN_KEY_ENV: "not base64!"})


def test_resolution_order_and_no_write_without_create(tmp_path):
    home = tmp_path / "home"
    env = {config.HOME_ENV: str(home), "HOME": str(tmp_path / "user")}
    with pytest.raises(K.KeyFileError, match="no signing key"):
        K.resolve_signing_key(environ=env)
    assert not home.exists()  # nothing written by a failed lookup
    created = K.resolve_signing_key(environ=env, create=True)
    assert created.source == "created" and created.path == home / "keys" / "ed25519.json"
    again = K.resolve_signing_key(environ=env)
    assert again.source == "home" and again.public_key == created.public_key
    env_key = dict(env, **{config.PLUGIN_KEY_ENV: base64.b64encode(SEED).decode()})
    assert K.resolve_signing_key(environ=env_key).public_key == PUB
    explicit = K.save_signing_key(K.signing_key_from_seed(SEED), tmp_path / "mine.json")
    assert K.resolve_signing_key(explicit, environ=env).source == "file"


def test_plugin_home_key_is_used_only_without_a_pinned_home(tmp_path):
    user = tmp_path / "user"
    plugin = user / ".ario-mlflow" / "keys" / "ed25519_private.json"
    plugin.parent.mkdir(parents=True)
    plugin.write_text(json.dumps({"seed": base64.b64encode(SEED).decode()}))
    unpinned = {"HOME": str(user), "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    got = K.resolve_signing_key(environ=unpinned)
    assert got.source == "plugin-home" and got.public_key == PUB
    pinned = dict(unpinned, **{config.HOME_ENV: str(tmp_path / "pinned")})
    with pytest.raises(K.KeyFileError):
        K.resolve_signing_key(environ=pinned)


def test_importing_the_producer_writes_nothing(tmp_path):
    env = dict(os.environ, HOME=str(tmp_path), ARIO_VERIFIER_HOME=str(tmp_path / "h"),
               XDG_CONFIG_HOME=str(tmp_path / "x"))
    env.pop(config.PLUGIN_KEY_ENV, None)
    code = ("import verifier.anchor.keys, verifier.anchor.envelopes, verifier.anchor.publish, "
            "verifier.anchor.mlflow_integration, verifier.cli.keys_cmd, verifier.cli.anchor_cmd, sys\n"
            "print([m for m in ('mlflow', 'httpx', 'numpy') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True, cwd=tmp_path,
                         capture_output=True, text=True)
    assert out.stdout.strip() == "[]"  # MLflow and httpx are imported only when used
    assert sorted(p.name for p in tmp_path.iterdir()) == []
