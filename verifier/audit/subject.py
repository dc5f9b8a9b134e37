"""A12: what the audit is of, from the signed events only (spec/audit.md §7.1).

The target a source names (a bundle manifest's `target`, or the target typed on the command
line) is a claim. `SubjectFold` watches the verified events go by and keeps, bounded, the
model versions, runs, datasets and traces their signed subjects name; `finish` checks the
claimed target against them: `target_mismatch` (failed) when verified events of the
target's kind exist and none is the target, `target_unconfirmed` (incomplete) when no
verified event of that kind exists. Streaming: `observe` one event result at a time.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from verifier.core import mlflow_profile as mp
from verifier.core.reasons import ReasonCode as R
from verifier.core.reasons import Status
from verifier.core.result import Check, Result, passed, problem, skipped

TARGET = "target"
#: At most this many distinct values of each kind are kept (the rest are only counted).
CAP = 32
#: The forms `sources.mlflow_reader.parse_target` accepts (a model name may hold "/").
_MODEL = re.compile(r"models:/([^@]+)/([0-9]+)")
_ALIAS = re.compile(r"models:/([^@]+)@([^/]+)")
_RUN = re.compile(r"runs:/+([^/]+)(?:/.*)?")
_TRACE = re.compile(r"traces:/+([^/]+)/*")
_KIND_WORD = {"model": "model version", "run": "training run", "trace": "traced prediction"}


def parse_target(target: Any) -> tuple[str, tuple[str, ...]]:
    """("model", (name, version)) | ("run", (id,)) | ("trace", (id,)) | ("alias", (name,
    alias)) | ("unknown", ())."""
    if not isinstance(target, str):
        return "unknown", ()
    for kind, pattern in (("model", _MODEL), ("alias", _ALIAS), ("run", _RUN), ("trace", _TRACE)):
        m = pattern.fullmatch(target)
        if m:
            return kind, m.groups()
    return "unknown", ()


class _Bounded:
    """An insertion-ordered set of at most CAP values, counting what did not fit."""

    __slots__ = ("items", "more")

    def __init__(self) -> None:
        self.items: dict[Any, None] = {}
        self.more = 0

    def add(self, value: Any) -> None:
        if value in self.items:
            return
        if len(self.items) < CAP:
            self.items[value] = None
        else:
            self.more += 1  # may count a repeat beyond the cap: "at least" in the report

    def __bool__(self) -> bool:
        return bool(self.items) or self.more > 0


def _s(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


class SubjectFold:
    """Folds verified events into the audit subject; `finish` gives the A12 check."""

    def __init__(self, target: Any) -> None:
        self.target = target if isinstance(target, str) else None
        self.kind, self.parts = parse_target(target)
        self.models, self.runs = _Bounded(), _Bounded()
        self.datasets, self.traces = _Bounded(), _Bounded()
        self.target_seen = False

    def observe(self, result: Result, facts: Mapping[str, Any] | None = None) -> None:
        """One final event result (its signed subject counts only if it verified)."""
        if result.status is not Status.VERIFIED:
            return
        s = result.subject
        etype, entity = s.get("event_type"), s.get("entity")
        e = entity if isinstance(entity, dict) else {}
        if etype == mp.PREDICTION:  # the common event first
            trace = _s(e.get("trace_id"))
            if trace:
                self.traces.add(trace)
                if self.kind == "trace":
                    self._seen("trace", (trace,))
        elif etype in (mp.REGISTRATION, mp.PROMOTION):
            name, version = _s(e.get("name")), e.get("version")
            version = str(version) if isinstance(version, (str, int)) and not isinstance(version, bool) else None
            if name and version:
                self.models.add((name, version))
                self._seen("model", (name, version))
        elif etype == mp.TRAINING:
            run = _s(e.get("run_id"))
            if run:
                self.runs.add(run)
                self._seen("run", (run,))
        elif etype == mp.DATASET:
            name, digest = _s(e.get("name")), _s(e.get("digest"))
            if name:
                self.datasets.add((name, digest))

    def _seen(self, kind: str, parts: tuple[str, ...]) -> None:
        if kind == self.kind and parts == self.parts:
            self.target_seen = True

    def finish(self) -> Check:
        """A12: the claimed target against the signed subjects of the verified events."""
        claim = repr(self.target)[:200] if self.target is not None else "(none)"
        if self.kind == "alias":
            return skipped(TARGET, f"claimed target {claim} names an alias, which no signed "
                                   "event records; the subject is what the events sign")
        if self.kind == "unknown":
            return problem(TARGET, R.TARGET_MISMATCH,
                           f"claimed target {claim} is not a models:/NAME/VERSION, runs:/RUN_ID "
                           "or traces:/TRACE_ID URI")
        if self.target_seen:
            return passed(TARGET, f"the claimed target {claim} is named by a verified signed event")
        evidence = {"model": self.models, "run": self.runs, "trace": self.traces}[self.kind]
        word = _KIND_WORD[self.kind]
        if evidence:
            shown = ", ".join("/".join(v) if isinstance(v, tuple) else v
                              for v in list(evidence.items)[:4])
            return problem(TARGET, R.TARGET_MISMATCH,
                           f"claimed target {claim} contradicts the signed events: the verified "
                           f"{word} event(s) name {shown}")
        return problem(TARGET, R.TARGET_UNCONFIRMED,
                       f"no verified {word} event confirms the claimed target {claim}")

    def to_json(self) -> dict[str, Any]:
        """The audited subject as the verified signed events name it (bounded)."""
        models = [{"name": n, "version": v} for n, v in self.models.items]
        out: dict[str, Any] = {
            "model": models[0]["name"] if models else None,
            "version": models[0]["version"] if models else None,
            "run_id": next(iter(self.runs.items), None),
            "model_versions": models,
            "run_ids": list(self.runs.items),
            "datasets": [{"name": n, "digest": d} for n, d in self.datasets.items],
            "trace_ids": list(self.traces.items),
        }
        more = {k: b.more for k, b in (("model_versions", self.models), ("run_ids", self.runs),
                                       ("datasets", self.datasets), ("trace_ids", self.traces))
                if b.more}
        if more:
            out["more"] = more
        return out
