"""The browser's event index: rows from results, views worst first, filters, search, chain."""

from __future__ import annotations

from verifier.core.reasons import ReasonCode, Status
from verifier.core.result import make_result, passed, problem
from verifier.tui.rows import EventIndex, Query, row_of


def result(etype: str, tx: str, prev: str, reason: ReasonCode | None = None, **extra):
    checks = [problem("x", reason)] if reason else [passed("x")]
    subject = {"event_type": etype, "tx_id": tx, "previous_hash": prev, "label": f"{etype} {tx}",
               "event_id": f"ev-{tx}", "payload_hash": f"{tx}hash", **extra}
    return make_result("event", checks, subject)


def index() -> EventIndex:
    idx = EventIndex()
    idx.add([row_of(0, result("dataset", "D1", "GENESIS")),
              row_of(1, result("training_complete", "T1", "GENESIS", entity={"run_id": "run9"})),
              row_of(2, result("model_registered", "R1", "T1", ReasonCode.RECORD_MISMATCH)),
              row_of(3, result("prediction", "P1", "R1", ReasonCode.SURFACE_UNAVAILABLE,
                               entity={"decision_id": "dec-7", "model_run_id": "run9"})),
              row_of(4, result("prediction", "P2", "R1"))])
    return idx


def test_default_view_puts_the_worst_first_then_source_order():
    idx = index()
    assert idx.refresh() == [2, 3, 0, 1, 4]
    assert idx.counts() == {Status.VERIFIED: 3, Status.FAILED: 1, Status.INCOMPLETE: 1}


def test_rows_arriving_later_are_placed_by_status():
    idx = index()
    idx.refresh()
    idx.add([row_of(5, make_result("event", [problem("intake", ReasonCode.INVALID_JSON)], {}))])
    assert idx.refresh()[0] == 5 and idx.rows[5].status is Status.MALFORMED


def test_filters_by_status_type_and_reason():
    idx = index()
    idx.set_query(Query(statuses=frozenset({Status.VERIFIED})))
    assert idx.refresh() == [0, 1, 4]
    idx.set_query(Query(types=frozenset({"prediction"})))
    assert idx.refresh() == [3, 4]
    idx.set_query(Query(reasons=frozenset({"record_mismatch"})))
    assert idx.refresh() == [2]


def test_search_matches_prefixes_of_ids_and_hashes_case_insensitively():
    idx = index()
    for needle, expected in (("p1", [3]), ("ev-d", [0]), ("run9", [3, 1]),
                             ("dec-", [3]), ("R1HASH", [2]), ("zzz", [])):
        idx.set_query(Query(search=needle))
        assert idx.refresh() == expected, needle


def test_sorts():
    idx = index()
    idx.set_query(Query(sort="tx"))
    assert [idx.rows[s].tx_id for s in idx.refresh()] == ["D1", "P1", "P2", "R1", "T1"]
    idx.set_query(Query(sort="type"))
    assert [idx.rows[s].event_type for s in idx.refresh()][:2] == ["dataset", "model_registered"]


def test_chain_neighbours_and_path_from_genesis():
    idx = index()
    assert idx.predecessor(3) == 2 and idx.predecessor(2) == 1 and idx.predecessor(1) is None
    assert idx.successors_of(2) == [3, 4]
    assert idx.path(4) == ([1, 2, 4], "GENESIS")


def test_path_reports_a_missing_predecessor_and_a_cycle():
    idx = EventIndex()
    idx.add([row_of(0, result("prediction", "A", "GONE"))])
    assert idx.path(0) == ([0], "missing")
    cyc = EventIndex()
    cyc.add([row_of(0, result("x", "A", "B")), row_of(1, result("x", "B", "A"))])
    assert cyc.path(0)[1] == "cycle"


def test_odd_subject_values_become_empty_strings():
    r = make_result("event", [passed("x")], {"event_type": 5, "tx_id": ["x"], "entity": "no"})
    row = row_of(0, r)
    assert (row.event_type, row.tx_id, row.run_id) == ("event", "", "")


def test_lineage_stages_in_order_with_worst_first():
    stages = index().stages()
    assert [t for t, _, _ in stages] == ["dataset", "training_complete", "model_registered",
                                         "prediction"]
    assert stages[-1][2] == [3, 4]


def test_packed_rows_round_trip_and_a_separator_in_a_value_stays_visible():
    r = row_of(7, result("prediction", "T\x1fX", "GENESIS", ReasonCode.RECORD_MISMATCH))
    idx = EventIndex()
    idx.add([r])
    back = idx.rows[7]
    assert back.tx_id == "T\\u001fX" and back.status is Status.FAILED
    assert back.label == "prediction T\\u001fX" and back.reason == "record_mismatch"
    plain = row_of(8, result("prediction", "P9", "R1"))
    idx.add([plain])
    assert idx.rows[8] == plain
    assert 7 in idx.rows and 6 not in idx.rows and len(idx.rows) == 2 and idx.counts()[Status.FAILED] == 1


def test_default_view_is_kept_as_rows_arrive_out_of_order_and_equals_a_full_sort():
    import random

    rng = random.Random(7)
    reasons = [None, None, None, ReasonCode.RECORD_MISMATCH, ReasonCode.SURFACE_UNAVAILABLE,
               ReasonCode.INVALID_JSON]
    seqs = list(range(300))
    rng.shuffle(seqs)
    idx = EventIndex()
    rows = {}
    for start in range(0, 300, 37):
        chunk = [row_of(s, result("prediction", f"T{s}", "GENESIS", rng.choice(reasons)))
                 for s in seqs[start:start + 37]]
        rows.update({r.seq: r for r in chunk})
        idx.add(chunk)
        expected = sorted(rows, key=lambda s: ({"malformed": 0, "failed": 1, "incomplete": 2,
                                                 "verified": 3}[rows[s].status.value], s))
        assert idx.refresh() == expected
    idx.add([row_of(5, result("prediction", "again", "GENESIS", ReasonCode.INVALID_JSON))])
    view = idx.refresh()
    malformed = idx.counts()[Status.MALFORMED]
    assert view.count(5) == 1 and idx.rows[5].status is Status.MALFORMED
    assert view.index(5) < malformed and len(view) == 300
