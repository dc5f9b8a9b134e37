"""A13: MLflow states with no anchored event (spec/audit.md §7.2).

The surfaces record what MLflow says now. Two kinds of state need an anchored event in the
evidence, and their absence is `event_omitted` (incomplete: missing evidence, never
verified):

- a model version whose registry stage (`current_stage` of a registration or
  stage_transition surface) is anything but "None" needs a stage_transition event of that
  model version to that stage;
- a tx id that a surface's tags name as anchored (`ario.training_tx`,
  `ario.dataset_anchor_tx.*`, `ario.registration_tx`, `ario.promotion_tx`) needs an event
  with that tx id.

Streaming and bounded: kept are the stages per model version, the named tx ids and the tx
ids of lineage events (datasets, trainings, registrations, promotions), never predictions.
A surface is the source's snapshot; an exporter that also edits the snapshot hides the
state (docs/threat-model.md).
"""

from __future__ import annotations

from typing import Any, Mapping

from verifier.core import mlflow_profile as mp
from verifier.core.reasons import ReasonCode as R
from verifier.core.result import Check, Result, passed, problem

COMPLETENESS = "completeness"
_NO_STAGE = (None, "", "None")
_TX_TAGS = ("ario.training_tx", "ario.registration_tx", "ario.promotion_tx")
_TX_PREFIX = "ario.dataset_anchor_tx."
_LINEAGE = frozenset({mp.DATASET, mp.TRAINING, mp.REGISTRATION, mp.PROMOTION})
#: Bounds on what is kept: model versions with a stage, named tx ids, lineage tx ids.
MAX_STATES = 100_000


class CompletenessFold:
    """Collects surface states and anchored lineage events; `finish` lists the omissions."""

    def __init__(self) -> None:
        self.stages: dict[tuple[str, str], str] = {}       # model version -> recorded stage
        self.promoted: set[tuple[str, str, str]] = set()   # (name, version, to_stage)
        self.named: dict[str, str] = {}                    # tx id -> the tag that names it
        self.anchored: set[str] = set()                    # tx ids of lineage events
        self.overflow = False

    def observe(self, result: Result, facts: Mapping[str, Any] | None,
                surface: Mapping[str, Any] | None) -> None:
        """One event: its final result, its committed payload (parsed) and its surface."""
        etype = result.subject.get("event_type")
        if etype not in _LINEAGE:
            return
        tx = result.subject.get("tx_id")
        if isinstance(tx, str):
            self._keep(self.anchored, tx)
        if etype == mp.PROMOTION and facts is not None:
            name, version, stage = facts.get("model_name"), facts.get("model_version"), facts.get("to_stage")
            if all(isinstance(v, str) for v in (name, version, stage)):
                self._keep(self.promoted, (name, version, stage))
        if not isinstance(surface, dict):
            return
        if etype in (mp.REGISTRATION, mp.PROMOTION):
            name, version, stage = (surface.get("model_name"), surface.get("model_version"),
                                    surface.get("current_stage"))
            if isinstance(name, str) and isinstance(version, (str, int)) and stage not in _NO_STAGE:
                key = (name, str(version))
                if key in self.stages or len(self.stages) < MAX_STATES:
                    self.stages[key] = str(stage)
                else:
                    self.overflow = True
        for tags in (surface.get("tags"), surface.get("run_tags")):
            if isinstance(tags, dict):
                for k, v in tags.items():
                    if (k in _TX_TAGS or (isinstance(k, str) and k.startswith(_TX_PREFIX))) \
                            and isinstance(v, str) and v:
                        if v not in self.named and len(self.named) < MAX_STATES:
                            self.named[v] = k

    def _keep(self, into: set, value: Any) -> None:
        if len(into) < MAX_STATES:
            into.add(value)
        else:
            self.overflow = True

    def finish(self) -> Check:
        """A13: passed when every recorded state has its anchored event."""
        missing = [f"model {n} v{v} is in stage {s!r} but no stage_transition event to "
                   f"{s!r} is in the evidence"
                   for (n, v), s in self.stages.items() if (n, v, s) not in self.promoted]
        missing += [f"tag {tag} names tx {tx}, which is not in the evidence"
                    for tx, tag in self.named.items() if tx not in self.anchored]
        if missing:
            more = f" (and {len(missing) - 4} more)" if len(missing) > 4 else ""
            return problem(COMPLETENESS, R.EVENT_OMITTED, "; ".join(missing[:4]) + more)
        if self.overflow:
            return problem(COMPLETENESS, R.EVENT_OMITTED,
                           f"more than {MAX_STATES} states to match; completeness not decided")
        if not self.stages and not self.named:
            return passed(COMPLETENESS, "no recorded registry stage or tx tag to match")
        return passed(COMPLETENESS, f"{len(self.stages)} registry stage(s) and {len(self.named)} "
                                    "tagged tx id(s) each have their anchored event")
