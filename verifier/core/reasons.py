"""The closed list of reason codes and the status each one implies.

Every non-passing check carries exactly one `ReasonCode`. The code's value is the stable
string used in JSON output, vectors, the conformance protocol, the TUI and the PDF; the
table here is mirrored row for row by ``spec/reason-codes.md`` (a test keeps them equal).
Adding a code is a spec change; renaming one is a breaking change.
"""

from __future__ import annotations

from enum import Enum


class Status(str, Enum):
    """Overall verdict of a verification. Ordered from best to worst by `SEVERITY`."""

    VERIFIED = "verified"
    INCOMPLETE = "incomplete"
    FAILED = "failed"
    MALFORMED = "malformed"


#: Worse statuses win when checks are rolled up (malformed input beats a failed check).
SEVERITY = {Status.VERIFIED: 0, Status.INCOMPLETE: 1, Status.FAILED: 2, Status.MALFORMED: 3}


class ReasonCode(str, Enum):
    """Why a check did not pass. Values are the wire names."""

    # -- input intake (spec/envelope.md §2) --------------------------------------------
    INPUT_UNREADABLE = "input_unreadable"
    USAGE_ERROR = "usage_error"
    INPUT_TOO_LARGE = "input_too_large"
    INVALID_UTF8 = "invalid_utf8"
    INVALID_JSON = "invalid_json"
    DUPLICATE_KEY = "duplicate_key"
    NON_FINITE_NUMBER = "non_finite_number"
    NUMBER_OUT_OF_RANGE = "number_out_of_range"
    NESTING_TOO_DEEP = "nesting_too_deep"
    LONE_SURROGATE = "lone_surrogate"
    NOT_AN_OBJECT = "not_an_object"
    UNKNOWN_DOCUMENT = "unknown_document"
    # -- envelope structure (spec/envelope.md §3-§5) -----------------------------------
    UNSUPPORTED_SPEC_VERSION = "unsupported_spec_version"
    LEGACY_NOT_ALLOWED = "legacy_not_allowed"
    MISSING_PAYLOAD_HASH = "missing_payload_hash"
    MISSING_FIELD = "missing_field"
    BAD_FIELD_TYPE = "bad_field_type"
    BAD_HEX = "bad_hex"
    UNSUPPORTED_ALGORITHM = "unsupported_algorithm"
    # -- envelope cryptography ----------------------------------------------------------
    SIGNATURE_INVALID = "signature_invalid"
    PAYLOAD_HASH_MISMATCH = "payload_hash_mismatch"
    PAYLOAD_UNAVAILABLE = "payload_unavailable"
    UNTRUSTED_SIGNER = "untrusted_signer"
    # -- Merkle inclusion (spec/merkle.md) ----------------------------------------------
    INCLUSION_INVALID = "inclusion_invalid"
    MERKLE_ROOT_MISMATCH = "merkle_root_mismatch"
    CHECKPOINT_INVALID = "checkpoint_invalid"
    # -- evidence bundles (spec/evidence.md) --------------------------------------------
    BODY_HASH_MISMATCH = "body_hash_mismatch"
    BODY_REF_UNSUPPORTED = "body_ref_unsupported"
    UNKNOWN_BODY_TYPE = "unknown_body_type"
    SOURCE_BUNDLE_UNAVAILABLE = "source_bundle_unavailable"
    SOURCE_LINKAGE_MISMATCH = "source_linkage_mismatch"
    SOURCE_BUNDLE_FAILED = "source_bundle_failed"
    SOURCE_BUNDLE_INCOMPLETE = "source_bundle_incomplete"
    VERDICT_DISAGREEMENT = "verdict_disagreement"
    ATTESTATION_SIGNATURE_INVALID = "attestation_signature_invalid"
    OPERATOR_NOT_BOUND = "operator_not_bound"
    DATA_HASH_NOT_BOUND = "data_hash_not_bound"
    CHECKPOINT_UNRESOLVED = "checkpoint_unresolved"
    BAD_RSA_KEY = "bad_rsa_key"
    EVENT_INVALID = "event_invalid"
    CONTENT_MISMATCH = "content_mismatch"
    RECORD_WITHHELD = "record_withheld"
    EMPTY_TRACE = "empty_trace"
    # -- chains and lineage (spec/chain.md) ---------------------------------------------
    CHAIN_LINK_UNRESOLVED = "chain_link_unresolved"
    CHAIN_LINK_MALFORMED = "chain_link_malformed"
    CHAIN_FORK = "chain_fork"
    CHAIN_CYCLE = "chain_cycle"
    CHAIN_TYPE_MISMATCH = "chain_type_mismatch"
    CHAIN_SIGNER_CHANGED = "chain_signer_changed"
    DUPLICATE_EVENT = "duplicate_event"
    # -- tx-id binding: ANS-104 data items and Turbo receipts (spec/binding.md) ---------
    DATA_ITEM_MALFORMED = "data_item_malformed"
    DATA_ITEM_SIGNATURE_INVALID = "data_item_signature_invalid"
    DATA_ITEM_ID_MISMATCH = "data_item_id_mismatch"
    DATA_ITEM_DATA_MISMATCH = "data_item_data_mismatch"
    BINDING_UNCHECKED = "binding_unchecked"
    RECEIPT_INVALID = "receipt_invalid"
    RECEIPT_UNTRUSTED = "receipt_untrusted"
    # -- audit of a lineage (spec/audit.md) ---------------------------------------------
    ENVELOPE_NOT_FOUND = "envelope_not_found"
    GATEWAY_UNAVAILABLE = "gateway_unavailable"
    GATEWAY_DISAGREEMENT = "gateway_disagreement"
    RECORD_MISMATCH = "record_mismatch"
    SURFACE_UNAVAILABLE = "surface_unavailable"
    ARTIFACT_HASH_MISMATCH = "artifact_hash_mismatch"
    DATASET_UNRESOLVED = "dataset_unresolved"
    ATTESTATION_LEVEL_LOW = "attestation_level_low"
    ATTESTATION_UNAVAILABLE = "attestation_unavailable"
    BUNDLE_MALFORMED = "bundle_malformed"
    BUNDLE_LIMIT_EXCEEDED = "bundle_limit_exceeded"
    BUNDLE_UNSAFE_PATH = "bundle_unsafe_path"
    TARGET_MISMATCH = "target_mismatch"
    TARGET_UNCONFIRMED = "target_unconfirmed"
    EVENT_OMITTED = "event_omitted"
    RECEIPT_MISSING = "receipt_missing"
    CLAIM_CONTRADICTED = "claim_contradicted"
    CLAIM_DISAGREEMENT = "claim_disagreement"
    CLAIMS_MALFORMED = "claims_malformed"


_M, _F, _I = Status.MALFORMED, Status.FAILED, Status.INCOMPLETE

#: reason -> (status bucket, one-line meaning). The meaning is for people, not parsers.
REASONS: dict[ReasonCode, tuple[Status, str]] = {
    ReasonCode.INPUT_UNREADABLE: (_M, "the input file or stream could not be read"),
    ReasonCode.USAGE_ERROR: (_M, "the command line cannot be acted on (unknown, bad or "
                                 "conflicting options)"),
    ReasonCode.INPUT_TOO_LARGE: (_M, "input exceeds the configured byte limit"),
    ReasonCode.INVALID_UTF8: (_M, "input bytes are not valid UTF-8"),
    ReasonCode.INVALID_JSON: (_M, "input is not valid JSON text"),
    ReasonCode.DUPLICATE_KEY: (_M, "a JSON object repeats a key"),
    ReasonCode.NON_FINITE_NUMBER: (_M, "NaN or Infinity appears in the JSON"),
    ReasonCode.NUMBER_OUT_OF_RANGE: (_M, "an integer lies outside the I-JSON safe range"),
    ReasonCode.NESTING_TOO_DEEP: (_M, "containers nest deeper than 128 levels"),
    ReasonCode.LONE_SURROGATE: (_M, "a string holds an unpaired UTF-16 surrogate"),
    ReasonCode.NOT_AN_OBJECT: (_M, "the document is not a JSON object"),
    ReasonCode.UNKNOWN_DOCUMENT: (_M, "the document is none of the kinds this verifier knows"),
    ReasonCode.UNSUPPORTED_SPEC_VERSION: (_M, "spec_version is not in the accept-set"),
    ReasonCode.LEGACY_NOT_ALLOWED: (_F, "legacy envelope (no spec_version) refused by policy"),
    ReasonCode.MISSING_PAYLOAD_HASH: (_M, "payload_hash is missing or not a string"),
    ReasonCode.MISSING_FIELD: (_M, "a required field is absent"),
    ReasonCode.BAD_FIELD_TYPE: (_M, "a field has the wrong JSON type or shape"),
    ReasonCode.BAD_HEX: (_M, "a hex field is not lowercase hex of the required length"),
    ReasonCode.UNSUPPORTED_ALGORITHM: (_M, "a declared algorithm is not supported"),
    ReasonCode.SIGNATURE_INVALID: (_F, "the signature does not verify over the signed scope"),
    ReasonCode.PAYLOAD_HASH_MISMATCH: (_F, "the payload bytes do not hash to payload_hash"),
    ReasonCode.PAYLOAD_UNAVAILABLE: (_I, "the committed payload bytes were not available"),
    ReasonCode.UNTRUSTED_SIGNER: (_F, "the signing key is not in the trusted key set"),
    ReasonCode.INCLUSION_INVALID: (_F, "the audit path does not lead to the Merkle root"),
    ReasonCode.MERKLE_ROOT_MISMATCH: (_F, "a stated Merkle root differs from the signed one"),
    ReasonCode.CHECKPOINT_INVALID: (_F, "the checkpoint envelope does not verify"),
    ReasonCode.BODY_HASH_MISMATCH: (_F, "body_hash does not match the canonical body"),
    ReasonCode.BODY_REF_UNSUPPORTED: (_M, "the bundle references its body instead of inlining it"),
    ReasonCode.UNKNOWN_BODY_TYPE: (_I, "the evidence body type is not verifiable here"),
    ReasonCode.SOURCE_BUNDLE_UNAVAILABLE: (_I, "the export's source bundle is only referenced"),
    ReasonCode.SOURCE_LINKAGE_MISMATCH: (_F, "source_bundle_hash does not match the source"),
    ReasonCode.SOURCE_BUNDLE_FAILED: (_F, "the export's source bundle does not verify"),
    ReasonCode.SOURCE_BUNDLE_INCOMPLETE: (_I, "the export's source bundle is only partial"),
    ReasonCode.VERDICT_DISAGREEMENT: (_F, "the cached verdict disagrees with the recomputed one"),
    ReasonCode.ATTESTATION_SIGNATURE_INVALID: (_F, "an operator attestation signature fails"),
    ReasonCode.OPERATOR_NOT_BOUND: (_F, "attestation operator is not the key's address"),
    ReasonCode.DATA_HASH_NOT_BOUND: (_F, "attestation data_hash is not the anchored bytes"),
    ReasonCode.CHECKPOINT_UNRESOLVED: (_F, "an attestation names a checkpoint not present"),
    ReasonCode.BAD_RSA_KEY: (_M, "an RSA public key is not a well-formed JWK"),
    ReasonCode.EVENT_INVALID: (_F, "an event of the trace does not verify"),
    ReasonCode.CONTENT_MISMATCH: (_F, "disclosed content does not match its committed hash"),
    ReasonCode.RECORD_WITHHELD: (_I, "a committed record was withheld, binding not checked"),
    ReasonCode.EMPTY_TRACE: (_I, "the trace holds no checkpoint to verify"),
    ReasonCode.CHAIN_LINK_UNRESOLVED: (_I, "previous_hash names an event not in the set"),
    ReasonCode.CHAIN_LINK_MALFORMED: (_M, "previous_hash is neither GENESIS, hex nor a tx id"),
    ReasonCode.CHAIN_FORK: (_F, "two events claim the same predecessor in a linear chain"),
    ReasonCode.CHAIN_CYCLE: (_F, "previous_hash links form a cycle"),
    ReasonCode.CHAIN_TYPE_MISMATCH: (_F, "the predecessor has an event type the profile forbids"),
    ReasonCode.CHAIN_SIGNER_CHANGED: (_F, "a chain link changes the signing key"),
    ReasonCode.DUPLICATE_EVENT: (_F, "two different envelopes share one event id or tx id"),
    ReasonCode.DATA_ITEM_MALFORMED: (_M, "the ANS-104 data item cannot be parsed"),
    ReasonCode.DATA_ITEM_SIGNATURE_INVALID: (_F, "the data item signature does not verify"),
    ReasonCode.DATA_ITEM_ID_MISMATCH: (_F, "the data item id is not the tx id"),
    ReasonCode.DATA_ITEM_DATA_MISMATCH: (_F, "the data item carries other bytes than the envelope"),
    ReasonCode.BINDING_UNCHECKED: (_I, "no data item was available to bind tx id and bytes"),
    ReasonCode.RECEIPT_INVALID: (_F, "the upload receipt signature or id does not verify"),
    ReasonCode.RECEIPT_UNTRUSTED: (_F, "the receipt is signed by a key outside the policy"),
    ReasonCode.ENVELOPE_NOT_FOUND: (_I, "no envelope bytes could be obtained for a tx id"),
    ReasonCode.GATEWAY_UNAVAILABLE: (_I, "no gateway answered"),
    ReasonCode.GATEWAY_DISAGREEMENT: (_F, "gateways returned different bytes for one tx id"),
    ReasonCode.RECORD_MISMATCH: (_F, "re-deriving the record from MLflow gives other bytes"),
    ReasonCode.SURFACE_UNAVAILABLE: (_I, "the MLflow surface needed to re-derive is missing"),
    ReasonCode.ARTIFACT_HASH_MISMATCH: (_F, "model artifact files differ from anchored hashes"),
    ReasonCode.DATASET_UNRESOLVED: (_I, "a dataset input has no dataset proof"),
    ReasonCode.ATTESTATION_LEVEL_LOW: (_I, "the ar.io Verify level is below the minimum"),
    ReasonCode.ATTESTATION_UNAVAILABLE: (_I, "the ar.io Verify service gave no attestation"),
    ReasonCode.BUNDLE_MALFORMED: (_M, "the audit bundle is not a well-formed archive"),
    ReasonCode.BUNDLE_LIMIT_EXCEEDED: (_M, "the audit bundle exceeds a size or count limit"),
    ReasonCode.BUNDLE_UNSAFE_PATH: (_M, "the audit bundle holds an unsafe member path"),
    ReasonCode.TARGET_MISMATCH: (_F, "the claimed audit target contradicts the signed events"),
    ReasonCode.TARGET_UNCONFIRMED: (_I, "no verified signed event names the claimed target"),
    ReasonCode.RECEIPT_MISSING: (_I, "no valid upload receipt, and the policy requires one"),
    ReasonCode.CLAIM_CONTRADICTED: (_F, "a pass claimed by the plugin's audit report fails here"),
    ReasonCode.CLAIM_DISAGREEMENT: (_I, "a failure claimed by the plugin's audit report verifies here"),
    ReasonCode.CLAIMS_MALFORMED: (_M, "the plugin audit report given as claims is not well-formed"),
    ReasonCode.EVENT_OMITTED: (_I, "an MLflow state or tx tag has no anchored event in the evidence"),
}


def bucket(reason: ReasonCode) -> Status:
    """The status a check with this reason contributes to the roll-up."""
    return REASONS[reason][0]


def meaning(reason: ReasonCode) -> str:
    """One-line human meaning of a reason code."""
    return REASONS[reason][1]
