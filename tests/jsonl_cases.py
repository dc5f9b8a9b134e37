"""JSON lines for the intake and bundle-reader tests: good ones, and bad ones for every
I1 rule (duplicate keys at every level, numbers out of range, nesting, lone surrogates,
UTF-8, JSON syntax), grouped by which part of `intake.load_lines` meets them."""

from __future__ import annotations

GOOD = [b'{"a":1,"b":[true,null,{"c":"d"}],"e":-0.5}', b'{"s":"\\"{[\\u00e9\\\\u"}',
        b'[1,2]', b'"text"', b"5", b"-0", b'{"x":"\xc3\xa9\xe2\x80\xa8"}', b"{}",
        b'{"deep":' + b"[" * 127 + b"]" * 127 + b"}"]
# Good lines that fail a whole-text test (a surrogate escape, many openers in a string):
SLOW_GOOD = [b'{"s":"\\ud83d\\ude00"}', b'{"br":"' + b"{[" * 200 + b'"}']
# Bad lines met by the in-place decoder, then bad lines that fail a whole-text test.
DECODER_BAD = [
    b'{"a":1,"a":2}', b'{"o":{"k":1,"k":1}}', b'[{"x":[{"y":0,"y":0}]}]',          # duplicate keys
    b'{"n":9007199254740992}', b'{"n":[-9007199254740992]}', b'{"f":1e400}',         # range
    b'{"n":' + b"9" * 5000 + b"}", b"NaN", b'{"i":-Infinity}',
    b"", b'{"a":1} {"b":2}', b'{"a":', b'{"a":"x', b"{'a':1}", b'{"a":1}x',            # JSON
    b'{"c":"\x01"}', b"[1,]",
]
TEXT_BAD = [
    b"[" * 129 + b"]" * 129, b'{"d":' + b"{\"k\":" * 128 + b"1" + b"}" * 129,       # depth
    b'{"s":"\\ud800"}', b'{"\\udc00":1}', b'["ok","\\uDBFF"]',                      # surrogates
    b'{"u":"\xff"}', b'{"u":"\xed\xa0\x80"}',                                          # UTF-8
]
BAD = DECODER_BAD + TEXT_BAD
SPACED = [b' {"a":1}', b'{"a":1}\r', b'\t[1]  ', b'{"a" : 1}']  # JSON whitespace: load takes it
