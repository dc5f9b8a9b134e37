"""Chain / lineage vectors: a valid mlflow lineage with fan-out, and one vector per
lineage rule (dangling, fork, cycle, type mismatch, signer change, duplicate, malformed)."""

from __future__ import annotations

from typing import Any

from . import mlflow_samples as ms
from .common import FAMILY_KEY, OTHER_KEY, Vector, h, jcs, sign

REFS = ["chain.md#L1"]


def _events(items: list[tuple[str | None, dict[str, Any], bytes | None]]) -> list[dict[str, Any]]:
    out = []
    for tx, env, payload in items:
        e: dict[str, Any] = {"document_hex": jcs(env).hex()}
        if tx is not None:
            e["tx_id"] = tx
        if payload is not None:
            e["payload_hex"] = payload.hex()
        out.append(e)
    return out


def _vec(vid: str, desc: str, refs: list[str], items, status: str, reason: str | None,
         policy: dict | None = None) -> Vector:
    inp: dict[str, Any] = {"events": _events(items)}
    if policy:
        inp["policy"] = policy
    return Vector(f"chain-{vid}", "chain", desc, refs, inp, status, reason)


def _mlflow(event_type: str, n: int = 0, *, previous: str | None = None, key=FAMILY_KEY,
            payload_edit: dict | None = None) -> tuple[dict[str, Any], bytes]:
    payload = dict(ms.payloads()[event_type])
    if n:
        payload["decision_id" if event_type == "prediction" else "variant"] = f"variant-{n}"
    payload.update(payload_edit or {})
    pb = jcs(payload)
    fields = ms.envelope_fields(event_type, pb, previous=previous)
    if n:  # a distinct event id per variant: type number in the 4th group, n in the 5th
        fields["event_id"] = f"0b6c1f0e-7a1d-4c3e-{list(ms.EVENT_IDS).index(event_type) + 1:04x}-{n:012d}"
    return sign(fields, key), pb


def _training(n: int, previous: str = "GENESIS", key=FAMILY_KEY):
    payload = dict(ms.payloads()["training_complete"], run_id=f"run{n:030d}")
    pb = jcs(payload)
    fields = ms.envelope_fields("training_complete", pb, previous=previous)
    fields["event_id"] = f"0b6c1f0e-7a1d-4c3e-9b2a-1000000000{n:02d}"
    fields["subject"] = {"type": "mlflow_run", "run_id": payload["run_id"]}
    return sign(fields, key), pb


def lineage_vectors() -> list[Vector]:
    full = [(tx, env, pb) for tx, env, pb in ms.lineage()]
    fan = list(full)
    for n in (1, 2):
        env, pb = _mlflow("stage_transition", n)
        fan.append((ms.fake_tx(100 + n), env, pb))
    for n in (1, 2, 3):
        env, pb = _mlflow("prediction", n)
        fan.append((ms.fake_tx(200 + n), env, pb))
    no_training = [item for item in full if item[0] != ms.TX_TRAINING]
    bad_sig = [(tx, dict(env, signature="0" * 128) if tx == ms.TX_PROMOTION else env, pb)
               for tx, env, pb in full]
    wrong_type_env, wrong_type_pb = _mlflow("stage_transition", 7, previous=ms.TX_TRAINING)
    other_reg, other_reg_pb = _mlflow("model_registered", key=OTHER_KEY)
    signer = [(tx, other_reg if tx == ms.TX_REGISTRATION else env,
               other_reg_pb if tx == ms.TX_REGISTRATION else pb) for tx, env, pb in full]
    dup_env, dup_pb = _mlflow("prediction", 9)
    dup = full + [(ms.TX_PREDICTION, dup_env, dup_pb)]
    bad_link_env, bad_link_pb = _mlflow("prediction", 8, previous="not a hash!")
    dataset_linked, dataset_linked_pb = _mlflow("dataset", 3, previous=ms.TX_TRAINING)
    return [
        _vec("mlflow-lineage-ok", "dataset -> training -> registration -> promotion and "
             "prediction, all with committed payloads.", ["chain.md#L1", "chain.md#L2"], full,
             "verified", None),
        _vec("mlflow-fan-out-ok", "A registration promoted three times and predicted four "
             "times: promotions and predictions fan out legally.", ["chain.md#L2"], fan,
             "verified", None),
        _vec("mlflow-dangling", "The registration names a training tx that is not in the set.",
             ["chain.md#L3"], no_training, "incomplete", "chain_link_unresolved"),
        _vec("mlflow-member-invalid", "One member envelope has a broken signature: the lineage "
             "fails with that envelope's reason.", ["chain.md#L1"], bad_sig, "failed",
             "signature_invalid"),
        _vec("mlflow-type-mismatch", "A stage_transition whose previous_hash is a training tx "
             "(it must be a registration).", ["chain.md#L4"],
             full + [(ms.fake_tx(300), wrong_type_env, wrong_type_pb)], "failed",
             "chain_type_mismatch"),
        _vec("mlflow-dataset-not-genesis", "A dataset event must be GENESIS.", ["chain.md#L4"],
             full + [(ms.fake_tx(301), dataset_linked, dataset_linked_pb)], "failed",
             "chain_type_mismatch"),
        _vec("mlflow-signer-changed", "The registration is signed by another key than the "
             "training it links to.", ["chain.md#L6"], signer, "failed", "chain_signer_changed"),
        _vec("mlflow-duplicate-tx", "Two different envelopes claim the same tx id.",
             ["chain.md#L7"], dup, "failed", "duplicate_event"),
        _vec("mlflow-malformed-link", "previous_hash is neither GENESIS, 64 hex nor a tx id.",
             ["chain.md#L3"], full + [(ms.fake_tx(302), bad_link_env, bad_link_pb)],
             "malformed", "chain_link_malformed"),
    ]


def training_chain_vectors() -> list[Vector]:
    t1, p1 = _training(1)
    t2, p2 = _training(2, previous=h(p1))
    t3, p3 = _training(3, previous=h(p2))
    fork, pf = _training(4, previous=h(p1))
    # A cycle: a -> b -> a through payload hashes (previous_hash is outside the payload).
    pa = jcs(dict(ms.payloads()["training_complete"], run_id="cycle-a"))
    pb = jcs(dict(ms.payloads()["training_complete"], run_id="cycle-b"))
    fa = ms.envelope_fields("training_complete", pa, previous=h(pb))
    fb = ms.envelope_fields("training_complete", pb, previous=h(pa))
    fb["event_id"] = fb["event_id"][:-1] + "9"
    a, b = sign(fa), sign(fb)
    return [
        _vec("training-linear-ok", "Three trainings of one registered model, each naming the "
             "previous training's payload_hash.", ["chain.md#L2"],
             [(ms.fake_tx(11), t1, p1), (ms.fake_tx(12), t2, p2), (ms.fake_tx(13), t3, p3)],
             "verified", None),
        _vec("training-fork", "Two trainings name the same predecessor in the linear training "
             "chain.", ["chain.md#L5"],
             [(ms.fake_tx(11), t1, p1), (ms.fake_tx(12), t2, p2), (ms.fake_tx(14), fork, pf)],
             "failed", "chain_fork"),
        _vec("training-cycle", "Two trainings name each other's payload_hash.", ["chain.md#L5"],
             [(ms.fake_tx(15), a, pa), (ms.fake_tx(16), b, pb)], "failed", "chain_cycle"),
    ]


def agent_chain_vectors() -> list[Vector]:
    def agent(n: int, previous: str, key=FAMILY_KEY):
        payload = {"applied_at": f"2026-05-12T14:2{n}:00.000Z", "n": n}
        return sign({"spec_version": "ario.agent/v1",
                     "event_id": f"550e8400-e29b-41d4-a716-0000000001{n:02d}",
                     "event_type": "policy_changed",
                     "subject": {"type": "agent", "tenant_id": "acme", "agent_id": "host-01"},
                     "payload": payload, "payload_hash": h(jcs(payload)),
                     "previous_hash": previous, "signed_at": "2026-05-12T14:23:45.123Z"}, key)
    a1 = agent(1, "GENESIS")
    a2 = agent(2, a1["payload_hash"])
    a3 = agent(3, a2["payload_hash"])
    a4 = agent(4, a2["payload_hash"])
    return [
        _vec("agent-linear-ok", "ario.agent/v1 events chained by payload_hash.",
             ["chain.md#L2"], [(None, a1, None), (None, a2, None), (None, a3, None)],
             "verified", None),
        _vec("agent-fork", "Two agent events name the same predecessor.", ["chain.md#L5"],
             [(None, a1, None), (None, a2, None), (None, a3, None), (None, a4, None)],
             "failed", "chain_fork"),
    ]


def all_vectors() -> list[Vector]:
    return lineage_vectors() + training_chain_vectors() + agent_chain_vectors()
