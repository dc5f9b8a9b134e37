"""Rebuild a signed ANS-104 data item from an ar.io gateway's GraphQL metadata + payload.

Best effort (gateway-binding.md): the signed tag bytes are re-encoded from text tags the
way every known producer encodes them (one Avro block, then 0x00; zero tags as ``""`` or
``0x00``), and a signature type missing from the answer is inferred from the lengths.
A wrong guess only makes the rebuilt item fail its own signature check — it can never make
a wrong item pass, because the caller accepts a candidate only if its id is the tx id and
its signature verifies. Nothing here raises on hostile answers.
"""

from __future__ import annotations

import struct
from typing import Any

from verifier.core.ans104 import SIG_CONFIG, encode_tags
from verifier.core.encoding import b64u_decode
from verifier.core.errors import Malformed

NOT_FOUND_SIGNATURE = "<not-found>"

TRANSACTION_QUERY = (
    "query($id: ID!) { transaction(id: $id) { id signature signatureType "
    "owner { key address } recipient anchor tags { name value } data { size type } "
    "bundledIn { id } } }"
)
SEARCH_QUERY = (
    "query($tags: [TagFilter!], $first: Int) { transactions(tags: $tags, first: $first) "
    "{ edges { node { id } } } }"
)


def _field(node: dict[str, Any], *path: str) -> Any:
    value: Any = node
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def rebuild_candidates(node: Any, payload: bytes) -> tuple[list[bytes], str]:
    """Candidate item bytes from a ``transaction`` node and the payload, or ([], why)."""
    if not isinstance(node, dict):
        return [], "graphql: the gateway does not know the transaction"
    signature = node.get("signature")
    if signature == NOT_FOUND_SIGNATURE:
        return [], "graphql: signature <not-found> (not stored by the gateway)"
    try:
        sig = b64u_decode(signature, "signature")
        owner = b64u_decode(_field(node, "owner", "key"), "owner.key")
        fields = {}
        for name in ("recipient", "anchor"):
            value = node.get(name)
            raw = b64u_decode(value, name) if value not in (None, "") else None
            if raw is not None and len(raw) != 32:
                return [], f"graphql: {name} is not 32 bytes"
            fields[name] = raw
    except Malformed as exc:
        return [], f"graphql: {exc.detail}"
    tags = node.get("tags") or []
    if not isinstance(tags, list) or not all(
            isinstance(t, dict) and isinstance(t.get("name"), str)
            and isinstance(t.get("value"), str) for t in tags):
        return [], "graphql: tags are not a list of {name, value} strings"
    try:
        pairs = [(t["name"].encode("utf-8"), t["value"].encode("utf-8")) for t in tags]
        tag_forms = [encode_tags(pairs)] if pairs else [b"", b"\x00"]
    except (UnicodeEncodeError, ValueError) as exc:
        return [], f"graphql: tags cannot be re-encoded ({str(exc)[:80]})"
    declared = node.get("signatureType")
    if isinstance(declared, int) and not isinstance(declared, bool):
        types = [declared] if declared in SIG_CONFIG else []
    else:
        types = [t for t, (s_len, o_len) in sorted(SIG_CONFIG.items())
                 if (s_len, o_len) == (len(sig), len(owner))]
    types = [t for t in types if SIG_CONFIG[t] == (len(sig), len(owner))]
    if not types:
        return [], "graphql: signature type unknown or inconsistent with the key lengths"
    target, anchor = fields["recipient"], fields["anchor"]
    out = []
    for sig_type in types:
        for raw_tags in tag_forms:
            out.append(b"".join([
                struct.pack("<H", sig_type), sig, owner,
                b"\x01" + target if target is not None else b"\x00",
                b"\x01" + anchor if anchor is not None else b"\x00",
                struct.pack("<QQ", len(pairs), len(raw_tags)), raw_tags, bytes(payload)]))
    return out, ""


def search_variables(event_id: str, app_names: tuple[str, ...], first: int = 10) -> dict[str, Any]:
    """Variables for `SEARCH_QUERY`: items with this Event-Id from one of these apps."""
    return {"tags": [{"name": "Event-Id", "values": [event_id]},
                     {"name": "App-Name", "values": list(app_names)}], "first": first}


def search_ids(answer: Any) -> list[str]:
    """The node ids of a `SEARCH_QUERY` answer (strings only; anything else ignored)."""
    edges = _field(answer, "data", "transactions", "edges")
    if not isinstance(edges, list):
        return []
    ids = [_field(e, "node", "id") for e in edges]
    return [i for i in ids if isinstance(i, str)]
