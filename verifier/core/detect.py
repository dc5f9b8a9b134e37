"""Auto-detect a JSON document's kind and verify it (spec/envelope.md §6).

`ario.agent.proof/...` → inclusion bundle, `ario.evidence/...` → evidence bundle,
anything else that is a JSON object → envelope. The bytes are parsed once.
"""

from __future__ import annotations

from .envelope import KIND as ENVELOPE_KIND
from .envelope import verify_envelope_doc
from .errors import Malformed
from .intake import parse
from .limits import DEFAULT_LIMITS, Limits
from .policy import DEFAULT_POLICY, Policy
from .reasons import ReasonCode
from .result import Result, make_result, problem


def kind_of(value: object) -> str:
    """'agent_proof', 'evidence' or 'envelope' for a parsed JSON object."""
    if isinstance(value, dict):
        sv = value.get("spec_version")
        if isinstance(sv, str):
            if sv.startswith("ario.agent.proof/"):
                return "agent_proof"
            if sv.startswith("ario.evidence/"):
                return "evidence"
    return ENVELOPE_KIND


def verify_document(
    data: bytes,
    payload: bytes | None = None,
    *,
    policy: Policy = DEFAULT_POLICY,
    limits: Limits = DEFAULT_LIMITS,
) -> Result:
    """Verify one JSON document of any supported kind. Never raises on hostile input."""
    try:
        doc = parse(data, limits)
    except Malformed as exc:
        return make_result("document", [problem("intake", exc.reason, exc.detail)])
    if not isinstance(doc.value, dict):
        return make_result("document", [problem("intake", ReasonCode.NOT_AN_OBJECT,
                                                "the document is not a JSON object")])
    kind = kind_of(doc.value)
    if kind == "agent_proof":
        from .agentproof import verify_agent_proof_doc

        return verify_agent_proof_doc(doc, policy=policy, limits=limits)
    if kind == "evidence":
        from .evidence import verify_evidence_doc

        return verify_evidence_doc(doc, policy=policy, limits=limits)
    return verify_envelope_doc(doc, payload, policy=policy, limits=limits)
