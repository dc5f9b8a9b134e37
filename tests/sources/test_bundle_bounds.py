"""Issue 8, defects 8 and 9: a bundle's documents are bounded before anything is inflated,
and `verify X.zip` and `audit X.zip` apply one size rule (`--max-bytes` per document).

The memory test crafts a small archive whose evidence members inflate to 6 x 80 MB (each
within the old 256 MiB member limit, the whole within the 4 GiB total) and audits it in a
child process that reports its own peak RSS (resource.getrusage in the child).
"""

from __future__ import annotations

import hashlib
import json
import random
import subprocess
import sys

import pytest

from vectors_util import load_vectors
from verifier.cli.main import main
from verifier.sources.bundle import read_bundle
from verifier.sources.errors import BundleError
from verifier.sources.zipguard import ZipLimits
from verifier.sources.zipwrite import write_zip

MB = 1_000_000
BASE = next(v for v in load_vectors("audit_bundle") if v["id"] == "audit-bundle-ok-stored-unpinned")


def _blob(size: int) -> bytes:
    """Compressible about 20:1 (under the 100:1 ratio limit): one random byte in 40."""
    out = bytearray(size)
    out[::40] = random.Random(8).randbytes(len(range(0, size, 40)))
    return bytes(out)


def craft(path, size: int, events: int = 2) -> None:
    """A bundle whose envelope, payload and data item members are each `size` bytes, listed
    with their true digests (so only the size rule can refuse it early)."""
    data = _blob(size)
    digest = hashlib.sha256(data).hexdigest()
    members, evs = {}, []
    for i in range(events):
        key = f"tx{i:041d}"
        ev = {"key": key, "tx_id": key, "event_type": "prediction", "hints": {}, "origins": {},
              "envelope": f"envelopes/{key}.json", "payload": f"payloads/{key}.bin",
              "data_item": f"dataitems/{key}.bin", "receipt": None, "surface": None}
        for slot in ("envelope", "payload", "data_item"):
            members[ev[slot]] = data
        evs.append(ev)
    manifest = {"format": "ario-verifier.audit-bundle/v1", "target": "models:/m/1",
                "created_at": "2026-01-01T00:00:00Z", "tool": {"name": "t", "version": "1"},
                "members": [{"path": n, "sha256": digest, "size": size} for n in sorted(members)],
                "events": evs, "model_files": {}, "gaps": []}
    with open(path, "wb") as fh:
        write_zip(fh, [("manifest.json", json.dumps(manifest).encode())] + sorted(members.items()), 1)


#: The child reports its own peak RSS. Linux carries ru_maxrss over from the parent across
#: fork and exec (so it would show pytest's size); VmHWM is the peak of the child's own
#: address space, and getrusage is the fallback where /proc is missing.
_CHILD = """
import json, re, resource, sys
from verifier.cli.main import main
code = main(sys.argv[1:])
try:
    peak = int(re.search(r"VmHWM:\\s+(\\d+) kB", open("/proc/self/status").read()).group(1))
except OSError:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
sys.stderr.write(json.dumps({"exit": code, "maxrss_kib": peak}))
"""


def _child(*argv: str) -> tuple[dict, dict]:
    proc = subprocess.run([sys.executable, "-c", _CHILD, *argv], capture_output=True, timeout=300)
    return json.loads(proc.stdout), json.loads(proc.stderr.decode().strip().splitlines()[-1])


@pytest.fixture(scope="module")
def big_bundle(tmp_path_factory):
    path = tmp_path_factory.mktemp("bounds") / "big.zip"
    craft(path, 80 * MB)
    return path


@pytest.mark.parametrize("command", ["audit", "verify"])
def test_oversized_members_are_refused_before_inflating(big_bundle, command):
    """A 29 MB archive of 6 x 80 MB members took over 500 MB RSS before being refused; now
    it is refused from the central directory, with the child's peak RSS under 200 MB."""
    assert big_bundle.stat().st_size < 40 * MB
    doc, info = _child(command, str(big_bundle), "--json")
    assert (info["exit"], doc["status"], doc["reason"]) == (2, "malformed", "bundle_limit_exceeded")
    assert "document limit" in doc["checks"][0]["detail"]
    assert info["maxrss_kib"] < 200 * 1024, info


def test_max_bytes_bounds_each_document_in_a_bundle(tmp_path):
    path = tmp_path / "small.zip"
    craft(path, 300_000, events=1)
    with pytest.raises(BundleError) as err:
        read_bundle(path, ZipLimits(max_evidence_bytes=299_999))
    assert err.value.reason.value == "bundle_limit_exceeded"
    doc, info = _child("audit", str(path), "--json", "--max-bytes", "299999")
    assert (doc["reason"], info["maxrss_kib"] < 200 * 1024) == ("bundle_limit_exceeded", True)


def test_lying_stored_sizes_are_refused(tmp_path):
    """A stored member declaring more compressed than uncompressed bytes is refused from the
    directory (its bytes are never copied)."""
    data = bytearray(bytes.fromhex(BASE["input"]["document_hex"]))
    at = data.find(b"PK\x01\x02")
    assert at > 0 and int.from_bytes(data[at + 10:at + 12], "little") == 0  # stored
    data[at + 20:at + 24] = (int.from_bytes(data[at + 24:at + 28], "little") + 1).to_bytes(4, "little")
    with pytest.raises(BundleError) as err:
        read_bundle(bytes(data))
    assert "compressed bytes" in err.value.message


@pytest.mark.parametrize("extra", [[], ["--max-bytes", "4096"]])
def test_verify_and_audit_agree_on_a_bundle(tmp_path, capsys, extra):
    """The archive is larger than --max-bytes, each document is not: both commands verify it
    (verify used to refuse the archive as input_too_large while audit verified it)."""
    path = tmp_path / "ok.zip"
    path.write_bytes(bytes.fromhex(BASE["input"]["document_hex"]))
    assert path.stat().st_size > 4096
    answers = []
    for command in ("verify", "audit"):
        code = main([command, str(path), "--json", *extra])
        doc = json.loads(capsys.readouterr().out)
        answers.append((code, doc["status"], doc["reason"]))
    assert answers[0] == answers[1] == (0, "verified", None)
