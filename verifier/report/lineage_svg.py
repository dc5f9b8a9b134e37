"""The lineage diagram, drawn here as inline SVG (no external tool): one column per stage
(datasets, training, registration, promotions, predictions), one box per lifecycle event,
one box per group of predictions sharing a parent; status by symbol and colour; links
are the events' previous_hash (dashed: a dataset feeding the only training run)."""

from __future__ import annotations

from verifier.core.reasons import Status

from .collect import PREDICTION, Collected, Row, clip
from .model import esc
from .wording import MARK

STAGES = (("dataset", "Datasets"), ("training_complete", "Training"),
          ("model_registered", "Registration"), ("stage_transition", "Promotions"),
          (PREDICTION, "Predictions"))
COLOUR = {Status.VERIFIED: ("#1a7f37", "#e8f5ec"), Status.FAILED: ("#b42318", "#fdecea"),
          Status.INCOMPLETE: ("#9a6700", "#fff4d6"), Status.MALFORMED: ("#6e40c9", "#f1ebfb")}
#: Boxes per column; beyond, one "+N more" box.
PER_COLUMN = 8
W, H, GAP_X, GAP_Y, TOP = 128, 40, 14, 10, 24
#: Event types as people name them (the raw type is in the attachment).
TYPE_NAMES = {"dataset": "dataset", "training_complete": "training", "model_registered": "registration",
              "stage_transition": "promotion", PREDICTION: "prediction"}


def _box(x: int, y: int, status: Status, line1: str, line2: str) -> str:
    stroke, fill = COLOUR[status]
    return (f'<rect x="{x}" y="{y}" width="{W}" height="{H}" rx="4" fill="{fill}" stroke="{stroke}" '
            f'stroke-width="{2 if status is not Status.VERIFIED else 1}"/>'
            f'<text x="{x + 6}" y="{y + 16}" font-family="Report Sans" font-size="10" font-weight="bold" fill="{stroke}">{esc(line1)}</text>'
            f'<text x="{x + 6}" y="{y + 32}" font-family="Report Sans" font-size="8.5" fill="#333">{esc(line2)}</text>')


def _worst(counts: dict[Status, int]) -> Status:
    for st in (Status.MALFORMED, Status.FAILED, Status.INCOMPLETE):
        if counts.get(st):
            return st
    return Status.VERIFIED


def lineage_svg(c: Collected) -> str:
    columns: list[list[tuple[str, str, Status, str, str]]] = [[] for _ in STAGES]
    index = {t: i for i, (t, _) in enumerate(STAGES)}
    others: list[Row] = []
    for r in c.nodes:
        if r.event_type in index:
            col = index[r.event_type]
            columns[col].append((r.tx_id, r.previous, r.status, f"{MARK[r.status]} {TYPE_NAMES[r.event_type]}",
                                 clip(r.label or r.tx_id, 24)))
        else:
            others.append(r)
    for parent, counts in sorted(c.predictions_by_parent.items(), key=lambda kv: -sum(kv[1].values())):
        n = sum(counts.values())
        st = _worst(counts)
        tally = " ".join(f"{MARK[s]}{counts[s]:,}" for s in (Status.VERIFIED, Status.FAILED,
                                                             Status.INCOMPLETE, Status.MALFORMED) if counts.get(s))
        columns[-1].append((f"pred:{parent}", parent, st, f"{MARK[st]} {n:,} prediction{'s' if n != 1 else ''}",
                            clip(tally, 22)))
    if others:
        columns.append([(r.tx_id, r.previous, r.status, f"{MARK[r.status]} {clip(r.event_type, 16)}",
                         clip(r.label or r.tx_id, 24)) for r in others])
    names = [n for _, n in STAGES] + (["Other"] if others else [])
    pos: dict[str, tuple[int, int]] = {}
    parts: list[str] = []
    rows = 1
    for ci, col in enumerate(columns):
        x = ci * (W + GAP_X)
        parts.append(f'<text x="{x + W // 2}" y="13" font-family="Report Sans" font-size="10" font-weight="bold" fill="#444" text-anchor="middle">{esc(names[ci])}</text>')
        shown = col[:PER_COLUMN]
        for ri, (key, _prev, st, l1, l2) in enumerate(shown):
            y = TOP + ri * (H + GAP_Y)
            pos.setdefault(key, (x, y))
            parts.append(_box(x, y, st, l1, l2))
        if len(col) > PER_COLUMN:
            y = TOP + PER_COLUMN * (H + GAP_Y)
            rest = col[PER_COLUMN:]
            st = _worst({s: 1 for _, _, s, _, _ in rest})
            parts.append(_box(x, y, st, f"+{len(rest):,} more", "listed in the register"))
        rows = max(rows, min(len(col), PER_COLUMN + 1))
    edges: list[str] = []
    for col in columns:
        for key, prev, _st, _l1, _l2 in col[:PER_COLUMN]:
            if key in pos and prev in pos and prev != key:
                (px, py), (cx, cy) = pos[prev], pos[key]
                edges.append(_edge(px + W, py + H // 2, cx, cy + H // 2, False))
    trainings = columns[1][:PER_COLUMN]
    if len(trainings) == 1:
        tx, ty = pos[trainings[0][0]]
        for key, *_ in columns[0][:PER_COLUMN]:
            dx, dy = pos[key]
            edges.append(_edge(dx + W, dy + H // 2, tx, ty + H // 2, True))
    width = len(columns) * (W + GAP_X) - GAP_X
    height = TOP + rows * (H + GAP_Y)
    if not c.nodes and not c.predictions_by_parent:
        return '<p class="muted">No events to draw.</p>'
    return (f'<svg class="lineage" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
            f'width="{width}" height="{height}" role="img" aria-label="lineage diagram">'
            + "".join(edges) + "".join(parts) + "</svg>")


def _edge(x1: int, y1: int, x2: int, y2: int, dashed: bool) -> str:
    if x2 <= x1:  # same or earlier column: a short hook, so the link stays visible
        x1, x2 = x1 - W // 2, x2 + W // 2
    mid = (x1 + x2) // 2
    dash = ' stroke-dasharray="4 3"' if dashed else ""
    return (f'<path d="M{x1},{y1} C{mid},{y1} {mid},{y2} {x2},{y2}" fill="none" stroke="#7a7a7a" '
            f'stroke-width="1"{dash}/>')
