"""The audit as it was before the stream (issue 9): every event checked, then the whole
node list linked by `chain_rules.link` at once, then the roll-up. Test-only reference for
the streaming engine's equivalence test; one difference from the old engine, on purpose:
an event's chain check is looked up under its node's unique key (the old engine used the
event's tx id, so a second envelope with the same tx id showed the first one's check)."""

from __future__ import annotations

from typing import Any

from verifier.audit.completeness import CompletenessFold
from verifier.audit.event import check_event
from verifier.audit.lineage import (
    _HIDDEN, _NO_NODE, chain_findings, dataset_check, dataset_key, registration_artifacts,
    training_artifacts,
)
from verifier.audit.policy import DEFAULT_AUDIT_POLICY, AuditPolicy
from verifier.audit.rollup import RollUp
from verifier.audit.subject import SubjectFold
from verifier.core import mlflow_profile as mp
from verifier.core.chain_rules import _unique_keys
from verifier.core.limits import DEFAULT_LIMITS, Limits
from verifier.core.result import Result, make_result, rollup
from verifier.sources.model import Collection


def audit_batch(collection: Collection, policy: AuditPolicy = DEFAULT_AUDIT_POLICY,
                limits: Limits = DEFAULT_LIMITS) -> Result:
    records = list(collection.records)
    env_policy = policy.envelope_policy()
    outcomes = [check_event(i, r, policy, env_policy, limits) for i, r in enumerate(records)]
    nodes, node_of = [], {}
    for i, o in enumerate(outcomes):
        if (n := o.node()) is not None:
            node_of[i] = len(nodes)
            nodes.append(n)
    findings = chain_findings(nodes, policy.trusted_keys)
    keys = _unique_keys(nodes)

    proven: set[tuple] = set()
    trainings: dict[str, dict[str, Any]] = {}
    for o in outcomes:
        etype = o.subject.get("event_type")
        if o.facts is None:
            continue
        if etype == mp.DATASET:
            proven.add(dataset_key(o.facts))
        elif etype == mp.TRAINING and isinstance(o.facts.get("run_id"), str):
            trainings.setdefault(o.facts["run_id"], o.facts)

    children: list[Result] = []
    subject, complete, tally = SubjectFold(collection.target), CompletenessFold(), RollUp()
    for i, o in enumerate(outcomes):
        checks = list(o.checks)
        checks.append((findings.per_event.get(keys[node_of[i]]) or _HIDDEN) if i in node_of
                      else _NO_NODE)
        etype, facts = o.subject.get("event_type"), o.facts
        if etype == mp.TRAINING:
            checks.append(dataset_check(facts, proven))
            run = facts.get("run_id") if facts else None
            checks.append(training_artifacts(facts, collection.model_files.get(run)
                                             if isinstance(run, str) else None))
        elif etype == mp.REGISTRATION:
            run = facts.get("source_run_id") if facts else None
            run = run if isinstance(run, str) else None
            checks.append(registration_artifacts(facts, collection.model_files.get(run) if run else None,
                                                 trainings.get(run) if run else None))
        status, reason = rollup(checks)
        child = Result("event", status, reason, tuple(checks), o.subject)
        children.append(child)
        tally.observe(i, child)
        subject.observe(child, facts)
        complete.observe(child, facts, records[i].surface)
    checks = tally.checks(collection.target, collection.gaps, findings.lineage)
    checks += [subject.finish(), complete.finish()]
    out = tally.subject(collection.target, findings.graph, policy)
    out["subject"] = subject.to_json()
    return make_result("audit", checks, out, children)
