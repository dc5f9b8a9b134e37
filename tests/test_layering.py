"""Import direction is enforced here, not by reviewers' memory.

core -> sources -> audit -> cli / tui / report (docs/architecture.md "Rules" describes this
table). `anchor` (producer) and `gateway` (a local Turbo/gateway emulator) sit beside the
stack: they may use core (and anchor may use the gateway client), but nothing on the verify
path imports them.
"""

from __future__ import annotations

import ast
import re
import json
import subprocess
import sys
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "verifier"
STDLIB = set(sys.stdlib_module_names)

# package -> verifier subpackages it may import
ALLOWED_INTERNAL = {
    "core": {"core"},
    "sources": {"core", "sources", "gcpause"},
    "audit": {"core", "sources", "audit", "runtime"},
    # top-level modules: the GC pause (a leaf every layer above core may use), the process
    # pool / Dask hand-off, and the batch API built on it
    "gcpause": set(),
    "runtime": {"gcpause"},
    "batch": {"core", "runtime"},
    "conformance": {"core", "conformance"},
    "report": {"core", "sources", "audit", "report"},
    "tui": {"core", "sources", "audit", "report", "tui", "cli"},
    # the commands: everything on the stack (anchor/gateway only from the commands below)
    "cli": {"core", "sources", "audit", "runtime", "batch", "gcpause", "cli", "tui", "report",
            "conformance", "anchor", "gateway"},
    "anchor": {"core", "sources", "anchor", "gateway"},
    "gateway": {"core", "gateway"},
}
# third-party libraries core may use: nothing with I/O, UI or network.
CORE_THIRD_PARTY = {"nacl", "rfc8785", "cryptography"}
CORE_FORBIDDEN_STDLIB = {
    "socket", "urllib", "http", "sqlite3", "os", "pathlib", "io", "subprocess", "time",
    "random", "secrets", "threading", "multiprocessing", "logging", "shutil",
    "tempfile", "zipfile", "asyncio", "ssl", "select", "signal", "sys",
}


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the module's package
                base = path.relative_to(PKG.parent).with_suffix("").parts[: -node.level]
                mod = ".".join(base + ((node.module,) if node.module else ()))
                names.append(mod)
            elif node.module:
                names.append(node.module)
    return names


def _modules():
    return sorted(p for p in PKG.rglob("*.py"))


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PKG)))
def test_imports_point_one_way(path):
    rel = path.relative_to(PKG).parts
    layer = rel[0] if len(rel) > 1 else path.stem if path.stem in ALLOWED_INTERNAL else None
    for name in _imports(path):
        top = name.split(".")[0]
        if top == "verifier":
            parts = name.split(".")
            target = parts[1] if len(parts) > 1 else None
            if layer in ALLOWED_INTERNAL and target is not None:
                allowed = ALLOWED_INTERNAL[layer]
                if rel[-2:] == ("adapters", "builtin.py"):
                    # The built-in adapter is the whole verifier under test: its audit_bundle
                    # family reads the bundle (sources) and audits it (audit).
                    allowed = allowed | {"sources", "audit"}
                assert target in allowed, f"{path}: {layer} may not import verifier.{target}"
            if layer == "cli" and target == "anchor":
                assert path.name in {"anchor_cmd.py", "keys_cmd.py", "demo_cmd.py"}, (
                    f"{path}: only the producer commands may import verifier.anchor")
            if layer == "cli" and target == "gateway":
                assert path.name in {"gateway_cmd.py", "demo_cmd.py"}, f"{path}: verify path imports gateway"
        elif layer == "core":
            assert top in STDLIB or top in CORE_THIRD_PARTY, f"{path}: core imports {name}"
            assert top not in CORE_FORBIDDEN_STDLIB, f"{path}: core imports I/O module {name}"


@pytest.mark.parametrize("path", sorted((PKG / "core").rglob("*.py")), ids=lambda p: p.name)
def test_core_reads_no_clock_or_environment(path):
    """Time and configuration come in as arguments; core never reads them itself."""
    text = path.read_text()
    for needle in (r"\.now\(", r"\.utcnow\(", r"\.today\(", r"\btime\.time\(", r"os\.environ",
                   r"\bgetenv\(", r"(?<![\w.])open\("):
        assert not re.search(needle, text), f"{path}: core uses {needle}"


def test_verify_path_imports_no_heavy_library(tmp_path):
    """`import verifier`, `--help` and a one-envelope verify load no httpx/mlflow/textual/weasyprint/dask."""
    env_file = tmp_path / "e.json"
    env_file.write_text('{"spec_version":"ario.mlflow/v1"}')
    code = (
        "import sys, json, contextlib, io\n"
        "import verifier\n"
        "from verifier.cli.main import main, build_parser\n"
        "build_parser()\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    main(['verify', {str(env_file)!r}, '--json'])\n"
        "heavy = [m for m in ('httpx', 'mlflow', 'textual', 'weasyprint', 'verifier.anchor', 'verifier.gateway')"
        " if m in sys.modules]\n"
        "heavy += [m for m in ('dask', 'distributed') if m in sys.modules]\n"
        "print(json.dumps(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_offline_bundle_audit_imports_no_network_or_ui_library(tmp_path):
    """`audit BUNDLE --offline --json` loads no httpx (nor the gateway client), MLflow,
    TUI, report or Dask code: start-up is paid for every audit."""
    from verifier.sources.bundle_v2_write import write_bundle_v2
    from verifier.sources.model import Collection

    bundle = write_bundle_v2(Collection("models:/m/1"), tmp_path / "b.zip").path
    code = (
        "import sys, json, contextlib, io\n"
        "from verifier.cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    main(['audit', {str(bundle)!r}, '--offline', '--json', '-q'])\n"
        "print(json.dumps([m for m in ('httpx', 'verifier.sources.gateway', 'mlflow', 'textual',"
        " 'rich', 'weasyprint', 'verifier.tui', 'verifier.report', 'dask') if m in sys.modules]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
