"""JCS vectors: RFC 8785 number, string and ordering rules, and intake must-rejects."""

from __future__ import annotations

from .common import Vector, jcs

REFS = ["envelope.md#C1"]


def _ok(vid: str, desc: str, text: bytes, value_for_expected=None) -> Vector:
    import json

    value = json.loads(text) if value_for_expected is None else value_for_expected
    return Vector(f"jcs-{vid}", "jcs", desc, REFS, {"document_hex": text.hex()}, "verified",
                  None, outputs={"canonical_hex": jcs(value).hex()})


def _bad(vid: str, desc: str, text: bytes, reason: str) -> Vector:
    return Vector(f"jcs-{vid}", "jcs", desc, ["envelope.md#I1"], {"document_hex": text.hex()},
                  "malformed", reason)


def all_vectors() -> list[Vector]:
    nest128 = b"[" * 127 + b'{"end":0}' + b"]" * 127
    nest129 = b"[" * 128 + b'{"end":0}' + b"]" * 128
    return [
        _ok("numbers", "ECMAScript number serialisation: 1.0 -> 1, exponents, -0, tiny and "
            "huge magnitudes.", b'{"a":1.0,"b":-0.0,"c":1e21,"d":1e-7,"e":123456789012.5,'
            b'"f":0.1,"g":-5e-324,"h":1.7976931348623157e308,"i":100,"j":1E3}'),
        _ok("escapes", "Control characters use \\b \\f \\n \\r \\t or lowercase \\u00xx; "
            "'/' and DEL are not escaped; \\u2028 stays raw.",
            b'{"s":"\\u0000\\u0001\\b\\f\\n\\r\\t\\u001f\\"\\\\\\/\\u007f\\u2028"}'),
        _ok("non-bmp-key-order", "Keys sort by UTF-16 code units: U+1F600 (surrogates D83D) "
            "sorts before U+FFFF although its code point is larger.",
            '{"\uffff":1,"\U0001f600":2,"a":3,"\u00e9":4}'.encode("utf-8")),
        _ok("escaped-pair-key", "An escaped surrogate pair is one non-BMP character.",
            b'{"\\ud83d\\ude00":1,"z":2}'),
        _ok("no-normalisation", "Strings are not Unicode-normalised: precomposed and "
            "decomposed e-acute stay distinct keys.", '{"\u00e9":1,"e\u0301":2}'.encode()),
        _ok("nested-empty", "Empty containers and nesting.", b'{"b":[],"a":{},"c":[{},[[]]]}'),
        _ok("literals", "true, false, null and whitespace around tokens.",
            b' { "t" : true , "f" : false , "n" : null } '),
        _ok("depth-128", "Deepest container at depth 128 is allowed.", nest128),
        _ok("safe-integer-max", "2^53-1 is the largest accepted integer.",
            b'{"max":9007199254740991,"min":-9007199254740991}'),
        _bad("depth-129", "Deepest container at depth 129 is malformed.", nest129, "nesting_too_deep"),
        _bad("duplicate-key", "A repeated key.", b'{"a":1,"a":1}', "duplicate_key"),
        _bad("duplicate-key-escaped", "A key repeated through an escape.", b'{"a":1,"\\u0061":2}', "duplicate_key"),
        _bad("nan", "NaN is not JSON.", b'{"a":NaN}', "non_finite_number"),
        _bad("lone-low-surrogate", "An unpaired low surrogate.", b'{"a":"x\\udc00"}', "lone_surrogate"),
        _bad("lone-surrogate-key", "An unpaired surrogate in a key.", b'{"\\ud800":1}', "lone_surrogate"),
        _bad("unsafe-integer", "2^53 cannot round-trip through an IEEE double.", b'{"a":9007199254740992}', "number_out_of_range"),
        _bad("invalid-utf8", "An overlong UTF-8 encoding.", b'{"a":"\xc0\xaf"}', "invalid_utf8"),
        _bad("raw-control", "A raw tab inside a string.", b'{"a":"x\ty"}', "invalid_json"),
        _bad("single-quotes", "Single-quoted strings.", b"{'a':1}", "invalid_json"),
        _bad("empty", "No JSON text at all.", b"", "invalid_json"),
    ]
