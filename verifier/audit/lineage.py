"""A7-A9: chain links, dataset inputs and model artifact files (spec/audit.md).

A7 runs the kernel's lineage rules (`chain_rules.link`) over the events' nodes: per-event
findings (`link:<key>`, `signer:<key>`) become each event's `chain` check, set-level ones
(duplicates, forks, cycles) stay on the audit. A8 resolves every training record's
`dataset_inputs` entry to a dataset proof in the set. A9 re-hashes the model artifact
files as they are now against the anchored `artifact_checksums` / `artifact_hash`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

from verifier.core import mlflow_profile as mp
from verifier.core.chain_rules import ChainNode, link
from verifier.core.reasons import ReasonCode as R
from verifier.core.result import Check, Outcome, passed, problem, skipped

CHAIN, DATASETS, ARTIFACTS = "chain", "datasets", "artifacts"
_NO_NODE = skipped(CHAIN, "envelope not admitted; no chain link to check")
_GENESIS = passed(CHAIN, "GENESIS (starts a chain)")
_HIDDEN = skipped(CHAIN, "previous_hash not visible")
_DATASET_KEYS = ("name", "source", "source_type", "digest", "schema_hash")


@dataclass(frozen=True, slots=True)
class ChainFindings:
    """`per_event`: key -> the event's chain check; `lineage`: set-level checks; `graph`."""

    per_event: dict[str, Check]
    lineage: tuple[Check, ...]
    graph: dict[str, Any]


def chain_findings(nodes: Sequence[ChainNode], trusted_keys: Iterable[bytes] | None) -> ChainFindings:
    """A7: link the nodes and sort the findings into per-event and lineage checks."""
    report = link(nodes, trusted_keys=trusted_keys)
    per_event: dict[str, Check] = {}
    lineage: list[Check] = []
    for c in report.checks:
        kind, _, key = c.id.partition(":")
        if kind in ("link", "signer"):
            if key not in per_event or per_event[key].reason is None:
                per_event[key] = Check(CHAIN, c.outcome, c.reason, c.detail)
        else:
            lineage.append(c)
    follows: dict[str, Check] = {}
    for key, pred in report.predecessor.items():
        if key not in per_event:
            check = follows.get(pred)
            if check is None:
                check = follows[pred] = passed(CHAIN, f"follows {pred}")
            per_event[key] = check
    for key in report.graph.get("roots", ()):
        per_event.setdefault(key, _GENESIS)
    for node in report.graph.get("nodes", ()):
        if node.get("same_as"):
            per_event.setdefault(node["key"], skipped(CHAIN, f"same envelope as {node['same_as']}"))
    return ChainFindings(per_event, tuple(lineage), report.graph)


def chain_check(findings: ChainFindings, key: str, has_node: bool) -> Check:
    """The event's A7 check."""
    if not has_node:
        return _NO_NODE
    return findings.per_event.get(key) or _HIDDEN


def dataset_key(item: Mapping[str, Any]) -> tuple:
    """What a dataset input and a dataset proof must share to match. Values that are not
    JSON scalars (hostile payloads) are keyed by their repr, so the key stays hashable."""
    return tuple(v if v is None or isinstance(v, (str, int, float)) else ("?", repr(v))
                 for v in map(item.get, _DATASET_KEYS))


def dataset_check(facts: Mapping[str, Any] | None, proven: set[tuple]) -> Check:
    """A8: every dataset input of a training record has a dataset proof in the set."""
    if facts is None:
        return skipped(DATASETS, "training payload unavailable")
    inputs = facts.get("dataset_inputs")
    if inputs is None:
        return skipped(DATASETS, "record predates dataset-input anchoring")
    if not isinstance(inputs, list):
        return problem(DATASETS, R.BAD_FIELD_TYPE, "dataset_inputs is not an array")
    missing = [i for i in inputs if not isinstance(i, dict) or dataset_key(i) not in proven]
    if missing:
        names = ", ".join(str(i.get("name")) if isinstance(i, dict) else "?" for i in missing)
        return problem(DATASETS, R.DATASET_UNRESOLVED,
                       f"{len(missing)} of {len(inputs)} dataset inputs have no dataset proof: {names}")
    if not inputs:
        return passed(DATASETS, "no dataset inputs")
    return passed(DATASETS, f"{len(inputs)} dataset input(s) resolve to dataset proofs")


def _norm(checksums: Mapping[str, Any]) -> dict[str, Any]:
    return {k.replace("\\", "/"): v for k, v in checksums.items()
            if k.replace("\\", "/").rsplit("/", 1)[-1] not in mp.EXCLUDED_ARTIFACT_FILES}


def _diff(anchored: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    a, c = _norm(anchored), _norm(current)
    return sorted(k for k in a.keys() | c.keys() if a.get(k) != c.get(k))


def training_artifacts(facts: Mapping[str, Any] | None, files: Mapping[str, str] | None) -> Check:
    """A9 for a training record: current model files re-hash to `artifact_checksums`."""
    if facts is None:
        return skipped(ARTIFACTS, "training payload unavailable")
    anchored = facts.get("artifact_checksums")
    if not isinstance(anchored, dict):
        return problem(ARTIFACTS, R.BAD_FIELD_TYPE, "artifact_checksums is not an object")
    if not anchored:
        return skipped(ARTIFACTS, "no artifact checksums were anchored")
    if files is None:
        return problem(ARTIFACTS, R.SURFACE_UNAVAILABLE,
                       "the model artifact files are not available to re-hash")
    changed = _diff(anchored, files)
    if changed:
        return problem(ARTIFACTS, R.ARTIFACT_HASH_MISMATCH,
                       f"{len(changed)} model file(s) differ from the anchored checksums: "
                       + ", ".join(changed[:8]) + (" ..." if len(changed) > 8 else ""))
    return passed(ARTIFACTS, f"{len(_norm(anchored))} model file(s) re-hash to the anchored checksums")


def registration_artifacts(facts: Mapping[str, Any] | None, files: Mapping[str, str] | None,
                           training: Mapping[str, Any] | None) -> Check:
    """A9 for a registration: `artifact_hash` matches the training record and the files."""
    if facts is None:
        return skipped(ARTIFACTS, "registration payload unavailable")
    expected = facts.get("artifact_hash")
    if facts.get("artifact_verified") is False:
        return problem(ARTIFACTS, R.ARTIFACT_HASH_MISMATCH,
                       "the registration itself recorded artifact_verified=false")
    if expected is None:
        return skipped(ARTIFACTS, "no artifact_hash was anchored")
    if training is not None and isinstance(training.get("artifact_checksums"), dict):
        anchored = mp.artifact_hash(training["artifact_checksums"])
        if anchored != expected:
            return problem(ARTIFACTS, R.ARTIFACT_HASH_MISMATCH,
                           "artifact_hash differs from the hash of the training record's "
                           "artifact_checksums")
    if files is None:
        return problem(ARTIFACTS, R.SURFACE_UNAVAILABLE,
                       "the model artifact files are not available to re-hash")
    like = training.get("artifact_checksums") if training is not None else None
    current = {k: v for k, v in files.items() if k.rsplit("/", 1)[-1] not in mp.EXCLUDED_ARTIFACT_FILES}
    if isinstance(like, dict) and any("\\" in k for k in like):
        current = {k.replace("/", "\\"): v for k, v in current.items()}
    if mp.artifact_hash(current) != expected:
        changed = _diff(like, files) if isinstance(like, dict) else []
        return problem(ARTIFACTS, R.ARTIFACT_HASH_MISMATCH,
                       "current model files do not hash to the registered artifact_hash"
                       + (": " + ", ".join(changed[:8]) if changed else ""))
    return passed(ARTIFACTS, "current model files hash to the registered artifact_hash")
