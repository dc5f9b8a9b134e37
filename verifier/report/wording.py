"""The report's fixed wording: status words and marks, what to do per reason, the audit
steps, the scope statement, the compliance mapping and the re-verify recipe.

Plain trusted text only (nothing from evidence); the renderer escapes it all the same.
Reason explanations are not here: they come from the closed list (`reasons.meaning`).
"""

from __future__ import annotations

from verifier.core.reasons import ReasonCode as R, Status

MARK = {Status.VERIFIED: "✓", Status.INCOMPLETE: "~", Status.FAILED: "✗", Status.MALFORMED: "!"}
WORD = {Status.VERIFIED: "VERIFIED", Status.INCOMPLETE: "INCOMPLETE", Status.FAILED: "FAILED",
        Status.MALFORMED: "MALFORMED"}
HEADLINE = {
    Status.VERIFIED: "Every event's proof verified under the policy below.",
    Status.FAILED: "At least one record contradicts its anchored proof: evidence of alteration "
                   "or of a proof that does not verify.",
    Status.INCOMPLETE: "Nothing contradicts the proofs, but something needed to decide was "
                       "missing: never read this as verified.",
    Status.MALFORMED: "The evidence could not be read as what it claims to be: nothing was "
                      "verified.",
}

_BY_BUCKET = {
    Status.FAILED: "Treat the record as altered or the proof as forged until explained: compare "
                   "it with the system of record and escalate to the model owner.",
    Status.INCOMPLETE: "Obtain the missing evidence (re-export the bundle with it, or audit "
                       "online against a gateway) and re-run; an absent proof is not tampering.",
    Status.MALFORMED: "Ask the producer for an intact export; check the file was not truncated "
                      "or corrupted in transfer.",
}

#: Specific advice where the bucket's advice is not precise enough.
ADVICE: dict[R, str] = {
    R.RECORD_MISMATCH: "The MLflow record no longer matches what was signed and anchored: find who "
                       "changed it (MLflow audit logs) and which value is authoritative.",
    R.ARTIFACT_HASH_MISMATCH: "The model files differ from the anchored checksums: the deployed "
                              "model may not be the one that was trained and registered. Quarantine "
                              "it until the files are reconciled.",
    R.PAYLOAD_HASH_MISMATCH: "The committed payload was edited after signing: recover the original "
                             "payload from an independent copy.",
    R.SIGNATURE_INVALID: "The envelope was altered or forged after signing: obtain the envelope "
                         "again from Arweave (audit online with --gateway).",
    R.UNTRUSTED_SIGNER: "A key outside --trusted-keys signed this event: confirm whether the key "
                        "belongs to the organisation, then pin it or reject the event.",
    R.BINDING_UNCHECKED: "The Arweave data item was not in the evidence: export with data items, "
                         "or audit online with --gateway so the tx id is bound to the bytes.",
    R.CHAIN_LINK_UNRESOLVED: "The predecessor event is not in the evidence: include it in the export "
                             "or fetch it from a gateway.",
    R.EVENT_OMITTED: "MLflow records a state or tx tag with no anchored event: the event may never "
                     "have been anchored, or it was left out of the evidence.",
    R.SURFACE_UNAVAILABLE: "The MLflow state needed to re-derive the record is missing from the "
                           "evidence: export again with the surfaces, or audit live.",
    R.RECEIPT_UNTRUSTED: "The upload receipt's signer is not pinned: pass the expected signer with "
                         "--receipt-signer, or treat the witnessed time as a claim.",
    R.DATASET_UNRESOLVED: "A training input has no dataset proof: anchor the dataset or include its "
                          "proof in the export.",
    R.TARGET_MISMATCH: "The evidence claims to be about another model version than its signed "
                       "events name: it may have been relabelled or assembled from another "
                       "lineage. Do not file it as evidence for the claimed target.",
    R.CHAIN_SIGNER_CHANGED: "A link in the chain is signed by a different key: find out whether the "
                            "key was rotated legitimately or an event was inserted.",
    R.TARGET_UNCONFIRMED: "No verified signed event names the model version the evidence claims to "
                          "be about: check the export's target.",
}


def advice(reason: R | None, status: Status) -> str:
    """What a reader should do about a finding (fixed wording, never from evidence)."""
    if reason is not None and reason in ADVICE:
        return ADVICE[reason]
    return _BY_BUCKET.get(status, "")


#: Each audit step (event check id) -> what it establishes; in the order the audit runs them.
STEPS: tuple[tuple[str, str, str], ...] = (
    ("proof_found", "Proof found", "envelope bytes obtained for the event's tx id"),
    ("binding", "Binding", "the ANS-104 data item's id is the tx id and it carries these bytes"),
    ("receipt", "Receipt", "a Turbo upload receipt witnesses the upload time"),
    ("intake", "Intake", "the envelope is strict, well-formed I-JSON"),
    ("spec_version", "Spec version", "the envelope declares a supported spec version"),
    ("fields", "Fields", "required fields present with the right types"),
    ("signature", "Signature", "Ed25519 over the RFC 8785 canonical signed scope"),
    ("payload_hash", "Payload hash", "SHA-256 of the committed payload equals payload_hash"),
    ("trusted_signer", "Trusted signer", "the signing key is one the auditor pinned"),
    ("record", "Record re-derivation", "the record re-derives byte for byte from MLflow's state"),
    ("chain", "Chain", "previous_hash resolves to an allowed predecessor, same signer"),
    ("datasets", "Dataset proofs", "each training input resolves to a dataset proof"),
    ("artifacts", "Model files", "current model files hash to the anchored checksums"),
    ("attestation", "Attestation", "an ar.io Verify operator attests the data item"),
)

NOT_CHECKED = (
    ("Who holds a signing key", "A key is an identity only through the policy's pinned keys; "
     "without them anyone can make a self-consistent proof."),
    ("When events happened", "signed_at is the producer's claim; only a receipt from a pinned "
     "signer witnesses a time."),
    ("Permanence on Arweave", "Offline, nothing shows the data items were mined; an ar.io Verify "
     "attestation (online) reports what an operator saw."),
    ("Completeness", "Only supplied records are audited. Omitted predictions are undetectable "
     "(they are leaves of the chain), as is state the exporter removed from a bundle."),
    ("Model quality or safety", "Provenance is not endorsement."),
)

SCOPE = ("A verified verdict means each listed event was signed by the key shown, its "
         "record re-derives from the system of record, its links resolve, and (where bound) its "
         "bytes are the named Arweave data item. It does not establish who holds the keys unless "
         "they are pinned, when events happened beyond receipt-witnessed times, that no other "
         "events exist, or anything about the model's quality. An absent proof is reported as "
         "absent (incomplete), never as tampering.")

#: (framework, clause, what this evidence supports).
COMPLIANCE: tuple[tuple[str, str, str], ...] = (
    ("EU AI Act", "Art. 12 (record-keeping)",
     "Automatically recorded lifecycle and inference events whose integrity and origin can be "
     "checked independently of the system that produced them."),
    ("EU AI Act", "Art. 19, Art. 26(6) (log retention)",
     "Logs anchored on permanent storage with receipts; this report and its attachments are a "
     "self-contained retained copy of the audited logs."),
    ("ISO/IEC 42001", "Annex A, A.6.2.8 (AI system event logs)",
     "Event logs of training, registration, promotion and use, tamper-evident and attributable "
     "to a signing key."),
    ("NIST AI RMF", "MEASURE 2.x, MANAGE 4.x",
     "Traceable provenance of data, model versions and decisions supporting measurement and "
     "post-deployment monitoring."),
    ("NIST SP 800-53", "AU-9 (protection of audit information), AU-10 (non-repudiation)",
     "Signed, hash-chained, externally anchored records: alteration is detectable, and origin "
     "is bound to a key (to a party only via the pinned-key policy)."),
    ("SOC 2", "CC7 (system operations, monitoring)",
     "Evidence that monitored ML events were not altered after the fact; failures are listed "
     "as findings."),
)

COMPLIANCE_CAVEAT = ("This evidence proves the provenance and integrity of records. It does not "
                     "show that the model is accurate, fair, safe or fit for purpose, nor that "
                     "the organisation's wider obligations are met.")

RECIPE = (
    "Parse each envelope as strict JSON (no duplicate keys, no NaN, integers within ±2^53).",
    "Form the signed scope: remove signature and co_signatures (and, for ario.mlflow/v1, every "
    "top-level key starting with \"_\"); canonicalise it with RFC 8785 (JCS) (spec/envelope.md §3).",
    "Verify the Ed25519 signature (hex) over those bytes with public_key (hex).",
    "Hash the committed payload bytes with SHA-256; compare with payload_hash (lowercase hex).",
    "Bind the tx id: the ANS-104 data item's id is base64url(SHA-256(signature)), its signature "
    "verifies over the deep hash, and its data equals the envelope bytes.",
    "Walk previous_hash from each event to GENESIS; every predecessor must be present, of an "
    "allowed type and signed by the same key.",
    "Re-derive each record from the MLflow state and compare canonical bytes; re-hash the model "
    "files against the anchored checksums.",
)
