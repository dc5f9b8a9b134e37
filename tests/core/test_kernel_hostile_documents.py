"""Every public kernel entry point answers a typed `Result` for hostile variations of real
documents (one node of a vector document replaced by a hostile value): never an
exception (architecture rule 4; issue 8 asks for every path where decoding can raise)."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from vectors_util import load_vectors
from verifier.core.agentproof import verify_agent_proof_bytes
from verifier.core.chain import LineageInput, verify_lineage
from verifier.core.detect import verify_document
from verifier.core.envelope import verify_envelope_bytes
from verifier.core.errors import Malformed
from verifier.core.evidence.wrapper import verify_evidence_bytes
from verifier.core.intake import load
from verifier.core.reasons import ReasonCode, Status
from verifier.core.receipt import verify_receipt
from verifier.core.result import Result

BIG = "1" + "0" * 5000
HOSTILE = [BIG, "-" + BIG, "1e400", "-0", "0.5", "9007199254740992", "-1", "0", "true", "null",
           '""', '"\\u0000\\u001b[2K"', "[]", "{}", "[" * 127 + "]" * 127, '"zz"',
           '"' + "0" * 64 + '"', '"' + "f" * 128 + '"', '"GENESIS"', '"' + "A" * 43 + '"',
           '"2026-13-45T99:99:99Z"', '"\\ud83d\\ude00"', '{"a":[1,{"b":null}]}', '"\\u202e"']


def _docs(*families: str) -> list[tuple[str, bytes]]:
    out = []
    for fam in families:
        for v in load_vectors(fam):
            data = bytes.fromhex(v["input"]["document_hex"])
            try:
                json.loads(data)
            except ValueError:
                continue
            out.append((fam, data))
    return out


DOCS = _docs("envelope", "agent_proof", "evidence", "receipt")


def _nodes(value, path=()):
    yield path
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _nodes(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _nodes(v, path + (i,))


@st.composite
def hostile_documents(draw) -> tuple[str, bytes]:
    family, data = draw(st.sampled_from(DOCS))
    doc = json.loads(data)
    for _ in range(draw(st.integers(1, 3))):
        paths = [p for p in _nodes(doc) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        if isinstance(parent, dict) and draw(st.booleans()):
            del parent[path[-1]]
        else:
            parent[path[-1]] = "@@%d@@" % draw(st.integers(0, len(HOSTILE) - 1))
    text = json.dumps(doc)
    for i, h in enumerate(HOSTILE):
        text = text.replace('"@@%d@@"' % i, h)
    return family, text.encode()


def _typed(result: Result) -> None:
    assert isinstance(result, Result) and isinstance(result.status, Status)
    assert result.reason is None or isinstance(result.reason, ReasonCode)


@settings(max_examples=250, deadline=None)
@given(hostile_documents())
def test_hostile_variations_of_real_documents_get_typed_results(case):
    family, data = case
    _typed(verify_document(data))
    if family == "envelope":
        _typed(verify_envelope_bytes(data, b"{}"))
        _typed(verify_lineage([LineageInput(None, data), LineageInput("A" * 43, data, b"{}")]))
    elif family == "agent_proof":
        _typed(verify_agent_proof_bytes(data))
    elif family == "evidence":
        _typed(verify_evidence_bytes(data))
    else:
        try:
            receipt = load(data)
        except Malformed as exc:
            assert isinstance(exc.reason, ReasonCode)
            return
        _typed(verify_receipt(receipt, "A" * 43, frozenset({"B" * 43})))
        _typed(verify_receipt(receipt))
