"""The audit layer: a whole lineage's evidence (`sources.Collection`) in, one typed verdict out.

`audit_collection(collection, policy)` runs spec/audit.md A1-A11 over every event (datasets,
training runs, registrations, promotions, predictions) and returns a `Result` of kind
"audit" whose children are per-event results and whose subject carries the lineage graph.
May import `verifier.core` and `verifier.sources` only.
"""

from .attest import ArioVerifyClient, VerifyAnswer, attestation_check, parse_answer
from .engine import audit_collection, event_problems
from .policy import DEFAULT_AUDIT_POLICY, AuditPolicy

__all__ = [
    "ArioVerifyClient", "AuditPolicy", "DEFAULT_AUDIT_POLICY", "VerifyAnswer", "attestation_check",
    "audit_collection", "event_problems", "parse_answer",
]
