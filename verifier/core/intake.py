"""Strict JSON intake from raw bytes (spec/envelope.md §2).

Rejects, each with its own reason code: oversize input, invalid UTF-8, invalid JSON,
duplicate object keys (never "last key wins"), NaN/Infinity, numbers outside the I-JSON
range, nesting deeper than the depth bound, and unpaired UTF-16 surrogates.

The returned `Doc` also records whether the document qualifies for the fast canonical
path (`jcs.canonical`): pure ASCII, no backslash escapes at all, no fractional or exponent
numbers and no ``-0`` (integers are range-checked on the way in). For such documents ``json.dumps(sort_keys=True)`` is
byte-identical to RFC 8785, and `Doc.canonical` says whether the raw bytes already are that
form; this keeps verification close to the bare signature cost.
"""

from __future__ import annotations

import json
import math
import operator
import re
from collections.abc import Iterator
from functools import partial
from itertools import accumulate, chain, compress, count
from typing import Any, NamedTuple

from .errors import Malformed
from .limits import DEFAULT_LIMITS, Limits
from .reasons import ReasonCode

_MAX_SAFE_INT = 2**53 - 1
_MAX_SAFE_DIGITS = len(str(_MAX_SAFE_INT))  # 16
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_ESCAPE_PAIR = re.compile(rb"\\.", re.DOTALL)
_STRUCT_DROP = bytes(b for b in range(256) if b not in b'"[]{}')
_STEP = bytes.maketrans(b"[{]}", b"\x02\x02\x00\x00")
# translate() deletes every byte but the container openers and JSON whitespace, in one pass.
_SKELETON_DROP = bytes(b for b in range(256) if b not in b"[{ \t\n\r")
# translate() keeps the container openers and the line ends: one row of openers per line.
LINES_DROP = bytes(b for b in range(256) if b not in b"[{\n")


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    d = dict(pairs)
    if len(d) != len(pairs):
        seen: set[str] = set()
        for k, _ in pairs:
            if k in seen:
                raise Malformed(ReasonCode.DUPLICATE_KEY, f"key {k!r} appears twice")
            seen.add(k)
    return d


def _constant(name: str) -> Any:
    raise Malformed(ReasonCode.NON_FINITE_NUMBER, f"{name} is not a JSON number")


def _shown(text: str) -> str:
    """A number literal for a message: at most 40 characters, and its length if cut."""
    return text if len(text) <= 40 else f"{text[:24]}... ({len(text)} characters)"


def _float(text: str) -> float:
    value = float(text)  # no digit limit for floats; linear in the literal's length
    if not math.isfinite(value):
        raise Malformed(ReasonCode.NUMBER_OUT_OF_RANGE, f"{_shown(text)} overflows a double")
    return value


def _int(text: str) -> int:
    # JSON integers have no leading zeros, so more than 16 digits is past 2^53-1: decided
    # on the length, before int() (which refuses literals past 4,300 digits with ValueError).
    if len(text) - (text[0] == "-") <= _MAX_SAFE_DIGITS:
        value = int(text)
        if -_MAX_SAFE_INT <= value <= _MAX_SAFE_INT:
            return value
    raise Malformed(ReasonCode.NUMBER_OUT_OF_RANGE, f"{_shown(text)} exceeds 2^53-1")


class _NotFast(Exception):
    """Raised by the fast decoder on the first number the fast canonical path cannot
    reproduce byte for byte: a fraction or exponent, or the integer ``-0``."""


def _no_float(text: str) -> float:
    raise _NotFast


def _fast_int(text: str) -> int:
    if text == "-0":
        raise _NotFast
    return _int(text)


class _NotCanonical(Exception):
    """Raised by the canonical decoder on the first object whose keys are not in
    ascending order (after the duplicate-key rule has had its say)."""


def _ordered_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    d = dict(pairs)
    if len(d) != len(pairs):
        _pairs(pairs)  # raises DUPLICATE_KEY naming the key
    keys = list(d)
    if keys != sorted(keys):  # ASCII order is UTF-16 order: the JCS member order
        raise _NotCanonical
    return d


_DECODER = json.JSONDecoder(
    object_pairs_hook=_pairs, parse_constant=_constant, parse_float=_float, parse_int=_int
)
# Same rules, but bails out on the first fraction/exponent so that a float-free document
# is known to be float-free without a second scan.
_INT_ONLY_DECODER = json.JSONDecoder(
    object_pairs_hook=_pairs, parse_constant=_constant, parse_float=_no_float, parse_int=_fast_int
)
# The int-only rules plus JCS member order, for compact text: a document it decodes is
# already in RFC 8785 form (`Doc.canonical`), decided in the one pass.
_CANONICAL_DECODER = json.JSONDecoder(
    object_pairs_hook=_ordered_pairs, parse_constant=_constant, parse_float=_no_float,
    parse_int=_fast_int
)


_JSON_WS = " \t\n\r"
_SCAN = _DECODER.scan_once
_INT_ONLY_SCAN = _INT_ONLY_DECODER.scan_once
_CANONICAL_SCAN = _CANONICAL_DECODER.scan_once


def _decode(scan: Any, text: str) -> Any:
    """Exactly one JSON value surrounded by optional JSON whitespace (RFC 8259 §2)."""
    body = text.strip(_JSON_WS)
    try:
        value, end = scan(body, 0)
    except StopIteration as stop:
        raise Malformed(ReasonCode.INVALID_JSON, f"expecting a value at character {stop.value}") from None
    except json.JSONDecodeError as exc:
        raise Malformed(ReasonCode.INVALID_JSON, f"{exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise Malformed(ReasonCode.NESTING_TOO_DEEP, "nesting too deep for the decoder") from None
    if end != len(body):
        raise Malformed(ReasonCode.INVALID_JSON, f"extra data after the JSON value at character {end}")
    return value


class Doc(NamedTuple):
    """A parsed document, whether its values may use the fast canonical path, and (from
    `parse`) the raw bytes it came from and whether they already are JCS(value). Immutable;
    a named tuple because one is built per document parsed (half a frozen dataclass's cost)."""

    value: Any
    fast: bool
    raw: bytes | None = None
    canonical: bool = False  # raw is byte for byte the RFC 8785 form of value


def depth_of(value: Any, bound: int) -> int:
    """Deepest container depth (root container = 1), stopping once `bound` is exceeded."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > deepest:
            deepest = depth
            if deepest > bound:
                return deepest
        for child in children:
            if isinstance(child, (dict, list)):
                stack.append((child, depth + 1))
    return deepest


def text_nests_deeper(data: bytes, bound: int) -> bool:
    """True if the JSON text `data` opens more than `bound` nested containers.

    Works on the bytes, before any parser recursion: strings are cut out first, then only
    brackets are walked. This keeps a hostile document from reaching the C decoder's
    recursion at all, whatever recursion limit the host process has set.
    """
    return _nests_deeper(data, bound, data.count(b"[") + data.count(b"{"))


def _nests_deeper(data: bytes, bound: int, openers: int) -> bool:
    if openers <= bound:
        return False
    if b"\\" in data:  # drop every escape pair, so an escaped quote cannot end a string
        data = _ESCAPE_PAIR.sub(b"", data)
    # Only quotes and brackets are kept. Adjacent quotes enclose no bracket, and dropping
    # them keeps every other quote's parity: most strings vanish in one pass. What is left
    # alternates outside/inside strings between quotes. All passes are C-level.
    skeleton = data.translate(None, _STRUCT_DROP).replace(b'""', b"")
    outside = b"".join(skeleton.split(b'"')[::2]) if b'"' in skeleton else skeleton
    if not outside:
        return False
    # Openers count 2 and closers 0: after k brackets the depth is (running sum) - k.
    return max(map(operator.sub, accumulate(outside.translate(_STEP)), count(1))) > bound


_IS_DICT = partial(operator.is_, dict)
_IS_LIST = partial(operator.is_, list)
_IS_NODE = frozenset({dict, list}).__contains__


def depth_within(value: Any, bound: int) -> bool:
    """``depth_of(value, bound) <= bound`` for a value built by `json` (plain dicts and
    lists), with C-level passes only (map, compress, chain), one nesting level per step:
    a manifest indexing 100,000 events costs a fraction of a Python-level walk."""
    level = [value] if value.__class__ is dict or value.__class__ is list else []
    for _ in range(bound):
        if not level:
            return True
        kinds = list(map(type, level))
        kids = list(chain(chain.from_iterable(map(dict.values, compress(level, map(_IS_DICT, kinds)))),
                          chain.from_iterable(compress(level, map(_IS_LIST, kinds)))))
        level = list(compress(kids, map(_IS_NODE, map(type, kids))))
    return not level


def check_depth(value: Any, limits: Limits = DEFAULT_LIMITS) -> None:
    """Raise `Malformed(NESTING_TOO_DEEP)` if `value` nests deeper than the bound."""
    if depth_of(value, limits.max_depth) > limits.max_depth:
        raise Malformed(
            ReasonCode.NESTING_TOO_DEEP, f"nesting exceeds {limits.max_depth} levels"
        )


def find_lone_surrogate(value: Any) -> str | None:
    """Return a display path of the first string (or key) holding an unpaired surrogate."""
    stack: list[tuple[Any, str]] = [(value, "$")]
    while stack:
        node, path = stack.pop()
        if isinstance(node, str):
            if not _encodable(node):
                return path
        elif isinstance(node, dict):
            for k, v in node.items():
                if not _encodable(k):
                    return f"{path} (key)"
                stack.append((v, f"{path}.{k}"))
        elif isinstance(node, list):
            stack.extend((v, f"{path}[{i}]") for i, v in enumerate(node))
    return None


def _encodable(s: str) -> bool:
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _text(data: Any, limits: Limits, who: str) -> tuple[bytes, str]:
    """I1 size and UTF-8 rules shared by `parse` and `load`: (bytes, decoded text)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"{who}() takes bytes")
    data = bytes(data)
    if len(data) > limits.max_document_bytes:
        raise Malformed(
            ReasonCode.INPUT_TOO_LARGE,
            f"{len(data)} bytes exceeds the {limits.max_document_bytes}-byte limit",
        )
    try:
        return data, data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Malformed(ReasonCode.INVALID_UTF8, f"invalid UTF-8 at byte {exc.start}") from None


def parse(data: bytes, limits: Limits = DEFAULT_LIMITS) -> Doc:
    """Strictly parse JSON bytes. Raises `Malformed` with a specific reason."""
    data, text = _text(data, limits, "parse")
    skeleton = data.translate(None, _SKELETON_DROP)
    openers = skeleton.count(b"[") + skeleton.count(b"{")
    if _nests_deeper(data, limits.max_depth, openers):
        raise Malformed(ReasonCode.NESTING_TOO_DEEP, f"nesting exceeds {limits.max_depth} levels")
    fast = b"\\" not in data and data.isascii()
    canonical = False
    if fast:
        # On the fast path the text is canonical iff it holds no JSON whitespace byte at
        # all (none in strings either: any doubt answers False) and every object's keys
        # ascend; the canonical decoder checks the order as it builds each object.
        try:
            if len(skeleton) == openers:
                try:
                    value = _decode(_CANONICAL_SCAN, text)
                    canonical = True
                except _NotCanonical:
                    value = _decode(_INT_ONLY_SCAN, text)
            else:
                value = _decode(_INT_ONLY_SCAN, text)
        except _NotFast:
            fast = False
    if not fast:
        value = _decode(_SCAN, text)
        if _SURROGATE_ESCAPE.search(data):  # only \u escapes can smuggle in a lone surrogate
            where = find_lone_surrogate(value)
            if where is not None:
                raise Malformed(ReasonCode.LONE_SURROGATE, f"unpaired surrogate in {where}")
    return Doc(value, fast, data, canonical)


def parse_value(value: Any, limits: Limits = DEFAULT_LIMITS) -> Doc:
    """Admit an already-parsed value (from a trusted-shape caller): depth and surrogates.

    Values built in Python never qualify for the fast canonical path.
    """
    check_depth(value, limits)
    where = find_lone_surrogate(value)
    if where is not None:
        raise Malformed(ReasonCode.LONE_SURROGATE, f"unpaired surrogate in {where}")
    return Doc(value, False)


def load(data: bytes, limits: Limits = DEFAULT_LIMITS) -> Any:
    """Strictly parse JSON bytes read rather than signed over (bundle manifests, receipts,
    surfaces, key lists, conformance answers): every I1 rule, same reasons as `parse`.

    Raises `Malformed`. Unlike `parse` it does not look for the fast canonical path.
    """
    data, text = _text(data, limits, "load")
    if _nests_deeper(data, limits.max_depth, data.count(b"[") + data.count(b"{")):
        raise Malformed(ReasonCode.NESTING_TOO_DEEP, f"nesting exceeds {limits.max_depth} levels")
    value = _decode(_SCAN, text)
    if _SURROGATE_ESCAPE.search(data):
        where = find_lone_surrogate(value)
        if where is not None:
            raise Malformed(ReasonCode.LONE_SURROGATE, f"unpaired surrogate in {where}")
    return value


def load_text(text: str, limits: Limits = DEFAULT_LIMITS) -> Any:
    """`load` for text already decoded (a line read as str). A lone surrogate in the text
    itself (surrogateescape'd bytes) is invalid UTF-8, not a JSON error."""
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise Malformed(ReasonCode.INVALID_UTF8, f"invalid UTF-8 at character {exc.start}") from None
    return load(data, limits)


def load_lines(data: bytes, limits: Limits = DEFAULT_LIMITS) -> tuple[int, Iterator[Any]]:
    """JSON Lines: how many lines `data` holds (each ended by ``\\n``; bytes after the last
    one are no line) and an iterator of their values, each exactly ``load(line, limits)``
    (it raises the same `Malformed` at the first bad line).

    Why: a bundle shard holds ~1,000 lines, and `load`'s size, UTF-8, nesting and
    surrogate tests cost about as much per call as the decode itself. Here they run once
    over the whole text (C-level passes) and each line is then only decoded; a line the
    decoder does not take as it stands (an error, or JSON whitespace around it) goes
    through `load`, and if a whole-text test does not pass, every line does.
    """
    if data.__class__ is not bytes:
        data = bytes(data)
    openers = data.translate(None, LINES_DROP)
    return openers.count(b"\n"), _line_values(data, openers, limits)


def _line_values(data: bytes, openers: bytes, limits: Limits) -> Iterator[Any]:
    text = lines_text(data, openers, limits)
    pos = 0
    if text is None:
        while (end := data.find(b"\n", pos)) >= 0:
            yield load(data[pos:end], limits)
            pos = end + 1
        return
    scan, find = _SCAN, text.find
    while (end := find("\n", pos)) >= 0:
        line = text[pos:end]
        try:
            value, stop = scan(line, 0)
        except (StopIteration, ValueError, RecursionError, Malformed):
            stop = -1
        yield value if stop == len(line) else load(line.encode("utf-8"), limits)
        pos = end + 1


def lines_text(data: bytes, openers: bytes, limits: Limits) -> str | None:
    """`data` as text if every line passes `load`'s tests that come before the decoder:
    within the size bound, at most `max_depth` openers (so the decoder never recurses
    deeper), UTF-8 (a UTF-8 text has UTF-8 lines) and no surrogate escape (a match never
    spans a line end); else None. `openers` is `data` with all but ``[{\\n`` dropped."""
    if (len(data) > limits.max_document_bytes
            or max(map(len, openers.split(b"\n"))) > limits.max_depth
            or _SURROGATE_ESCAPE.search(data)):
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None
