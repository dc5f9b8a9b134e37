"""Deep input never reaches the C decoder's recursion, whatever the host's recursion limit."""

from __future__ import annotations

import subprocess
import sys

from verifier.core.intake import text_nests_deeper


def test_deep_text_is_malformed_even_with_a_raised_recursion_limit():
    code = (
        "import sys; sys.setrecursionlimit(10**6)\n"
        "from verifier.core.envelope import verify_envelope_bytes\n"
        "from verifier.core.mlflow_payloads import schema_hash\n"
        "r = verify_envelope_bytes(b'[' * 1_000_000 + b']' * 1_000_000)\n"
        "print(r.status.value, r.reason.value)\n"
        "print(len(schema_hash('[' * 1_000_000)))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["malformed", "nesting_too_deep", "64"]


def test_brackets_inside_strings_do_not_count():
    assert not text_nests_deeper(b'{"a":"' + b"[" * 500 + b'"}', 128)
    assert not text_nests_deeper(b'["\\"' + b"[" * 300 + b'"]', 128)
    assert text_nests_deeper(b'{"a\\\\":' + b"[" * 128 + b"]" * 128 + b"}", 128)
    assert not text_nests_deeper(b"[" * 128 + b"]" * 128, 128)
    assert text_nests_deeper(b"[" * 129 + b"]" * 129, 128)
