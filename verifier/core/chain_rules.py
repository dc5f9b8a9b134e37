"""Lineage rules over already-verified events (spec/chain.md L2-L7, L9-L11).

`link(nodes)` resolves each node's `previous_hash` by its profile's rule, then reports
dangling and malformed links, wrong predecessor kinds, signer changes, duplicates, forks and
cycles as `Check`s in a fixed order, plus a JSON-serialisable graph. Everything is dict
lookups and one iterative walk: O(n) in the number of nodes. Nothing here raises on hostile
node contents.
"""

from __future__ import annotations

import re
from operator import attrgetter
from dataclasses import dataclass, fields, replace
from typing import Any, Iterable, Sequence

from . import mlflow_profile as mlflow
from .profiles import Profile
from .reasons import ReasonCode as R
from .reasons import Status
from .result import Check, passed, problem, rollup

GENESIS = "GENESIS"
VIA_HASH = "payload_hash"
VIA_TX = "tx_id"
_HEX64 = re.compile(r"[0-9a-f]{64}")
_TX_ID = re.compile(r"[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]")  # 32 bytes, canonical base64url
_SHOW = 16


@dataclass(slots=True)
class ChainNode:
    """One event as the linker sees it. `key` names it in checks and the graph.

    `previous_hash` None means "not visible" (Minimal disclosure without the record); ""
    means the profile requires it but it is missing or not a string. `fingerprint`
    identifies the signed envelope: equal fingerprints are the same envelope seen twice
    (L7). `rotates_to` is the key an agent `key_retired` event hands over to (L6).

    Treat as immutable. Like `Result` it is not a frozen dataclass only because frozen
    construction (one `object.__setattr__` per field) costs ~0.45 us more per node, and
    the audit builds one per event.
    """

    key: str
    tx_id: str | None
    event_id: str | None
    event_type: str | None
    profile: str
    payload_hash: str | None
    previous_hash: str | None
    public_key: str | None
    fingerprint: str | None = None
    rotates_to: str | None = None


@dataclass(frozen=True, slots=True)
class LinkReport:
    """Findings of `link`, in check order (L9), and the lineage graph (L10)."""

    checks: tuple[Check, ...]
    graph: dict[str, Any]
    predecessor: dict[str, str]

    @property
    def status(self) -> Status:
        return rollup(self.checks)[0]

    @property
    def reason(self) -> R | None:
        return rollup(self.checks)[1]


def link_form(previous_hash: object) -> str | None:
    """GENESIS, VIA_HASH (64 lowercase hex), VIA_TX (43-char tx id) or None (malformed)."""
    if previous_hash == GENESIS:
        return GENESIS
    if not isinstance(previous_hash, str):
        return None
    size = len(previous_hash)
    if size == 64:
        return VIA_HASH if _HEX64.fullmatch(previous_hash) else None
    if size == 43:
        return VIA_TX if _TX_ID.fullmatch(previous_hash) else None
    return None


_FAMILY = {Profile.MLFLOW.value: "mlflow", Profile.LEGACY.value: "mlflow",
           Profile.AGENT.value: "agent", Profile.EVENTS.value: "events"}
_ANY = frozenset()  # predecessors: empty set on a payload-hash rule = any type of the family
_AGENT_RULE = mlflow.LinkRule(VIA_HASH, _ANY, True)
_EVENTS_CHECKPOINT = "checkpoint"


_CHECKPOINT_RULE = mlflow.LinkRule(VIA_HASH, frozenset({_EVENTS_CHECKPOINT}), True)


def rule_for(profile: str, event_type: str | None) -> mlflow.LinkRule | None:
    """The link rule of an event (L2), or None when its profile has no rule for the type."""
    family = _FAMILY.get(profile)
    if family == "mlflow":
        return mlflow.LINK_RULES.get(event_type) if isinstance(event_type, str) else None
    if family == "agent":
        return _AGENT_RULE
    if family == "events":
        if event_type == _EVENTS_CHECKPOINT:
            return _CHECKPOINT_RULE
        return _AGENT_RULE
    return None


def _allowed(rule: mlflow.LinkRule, node: ChainNode, pred: ChainNode) -> str | None:
    """Why `pred` may not precede `node` under `rule` (L4), or None."""
    if _FAMILY.get(pred.profile) != _FAMILY.get(node.profile):
        return f"a {pred.profile} event cannot precede a {node.profile} event"
    if rule.predecessors and pred.event_type not in rule.predecessors:
        want = " or ".join(sorted(rule.predecessors))
        return f"{node.event_type} must follow {want}, not {pred.event_type}"
    if (_FAMILY[node.profile] == "events" and node.event_type != _EVENTS_CHECKPOINT
            and pred.event_type == _EVENTS_CHECKPOINT):
        return "an event record cannot follow a checkpoint record"
    return None


def _short(value: object) -> str:
    if not isinstance(value, str):
        return "(none)" if value is None else repr(value)[:_SHOW]
    return value if len(value) <= _SHOW + 3 else value[:_SHOW] + "..."


_OPTIONAL_TEXT = tuple(f.name for f in fields(ChainNode)
                       if f.name not in ("key", "profile", "previous_hash"))


_TEXT_FIELDS = attrgetter(*_OPTIONAL_TEXT, "previous_hash", "profile")


def _clean(nd: ChainNode) -> ChainNode:
    """Non-string values where strings belong: absent, or (`previous_hash`) malformed."""
    for value in _TEXT_FIELDS(nd):
        if value is not None and value.__class__ is not str:
            break
    else:
        return nd  # the common case: every field a str or None
    bad: dict[str, Any] = {f: None for f in _OPTIONAL_TEXT
                           if not isinstance(getattr(nd, f), (str, type(None)))}
    if not isinstance(nd.previous_hash, (str, type(None))):
        bad["previous_hash"] = ""
    if not isinstance(nd.profile, str):
        bad["profile"] = ""
    return replace(nd, **bad) if bad else nd


def _unique_keys(nodes: Sequence[ChainNode]) -> list[str]:
    keys: list[str] = []
    seen: set[str] = set()
    for i, n in enumerate(nodes):
        k = n.key if isinstance(n.key, str) else f"#{i}"
        while k in seen:
            k = f"{k}#{i}"
        seen.add(k)
        keys.append(k)
    return keys


def link(nodes: Sequence[ChainNode], *, trusted_keys: Iterable[bytes] | None = None) -> LinkReport:
    """Apply the lineage rules to `nodes` (input order is the tie-break everywhere)."""
    nodes = [_clean(nd) for nd in nodes]
    n = len(nodes)
    keys = _unique_keys(nodes)
    trusted = {k.hex() for k in trusted_keys} if trusted_keys is not None else set()

    # L7: identical copies collapse onto their first occurrence; conflicts are duplicates.
    canon = list(range(n))
    first_fp: dict[str, int] = {}
    for i, nd in enumerate(nodes):
        if nd.fingerprint is not None:
            canon[i] = first_fp.setdefault(nd.fingerprint, i)
    dup_checks: list[Check] = []
    tx_index: dict[str, int] = {}
    event_index: dict[str, int] = {}
    dup_groups: dict[tuple[str, str], list[int]] = {}
    for i, nd in enumerate(nodes):
        c = canon[i]
        value = nd.tx_id
        if value is not None and tx_index.setdefault(value, c) != c:
            group = dup_groups.setdefault(("tx", value), [tx_index[value]])
            if c not in group:
                group.append(c)
        value = nd.event_id
        if value is not None and event_index.setdefault(value, c) != c:
            group = dup_groups.setdefault(("event", value), [event_index[value]])
            if c not in group:
                group.append(c)
    for (kind, value), members in dup_groups.items():
        what = "tx id" if kind == "tx" else "event id"
        dup_checks.append(problem(f"chain:duplicate:{kind}:{value}", R.DUPLICATE_EVENT,
                                  f"{', '.join(keys[m] for m in members)} are different "
                                  f"envelopes with the same {what} {_short(value)}"))
    copies = n - sum(1 for i in range(n) if canon[i] == i)
    if not dup_checks:
        dup_checks.append(passed("chain:duplicates", f"{copies} identical copies merged"
                                 if copies else "no duplicate tx ids or event ids"))

    hash_index: dict[str, list[int]] = {}
    for i, nd in enumerate(nodes):
        if canon[i] == i and nd.payload_hash is not None:
            hash_index.setdefault(nd.payload_hash, []).append(i)

    # L2-L4: resolve every visible link. Only problems get a check of their own (L9).
    pred: list[int] = [-1] * n
    via: list[str | None] = [None] * n
    link_checks: list[Check] = []
    roots: list[str] = []
    dangling: list[str] = []
    hidden = linked = 0
    linear_claims: dict[tuple[str, str], list[int]] = {}
    rules: dict[tuple[str, str | None], mlflow.LinkRule | None] = {}
    forms: dict[str, str | None] = {}  # previous_hash -> link_form (many share a predecessor)
    allowed: dict[tuple, str | None] = {}  # (profiles and types of both ends) -> _allowed
    for i, nd in enumerate(nodes):
        prev = nd.previous_hash
        if canon[i] != i:
            continue
        if prev is None:
            hidden += 1
            continue
        form = forms[prev] if prev in forms else forms.setdefault(prev, link_form(prev))
        if form == GENESIS:
            roots.append(keys[i])
            continue
        if form is None:
            text = "missing, empty or not a string" if prev == "" else f"{_short(prev)!r}"
            link_checks.append(problem(f"link:{keys[i]}", R.CHAIN_LINK_MALFORMED,
                                       f"previous_hash {text} is "
                                       "neither GENESIS, 64 lowercase hex nor a tx id"))
            continue
        rkey = (nd.profile, nd.event_type)
        rule = rules[rkey] if rkey in rules else rules.setdefault(rkey, rule_for(*rkey))
        if rule is None or rule.via is None:
            why = "has no chain rule" if rule is None else "must be GENESIS"
            link_checks.append(problem(f"link:{keys[i]}", R.CHAIN_TYPE_MISMATCH,
                                       f"{nd.event_type} ({nd.profile}) {why}; it names "
                                       f"{_short(prev)}"))
            continue
        if form != rule.via:
            link_checks.append(problem(f"link:{keys[i]}", R.CHAIN_LINK_MALFORMED,
                                       f"{nd.event_type} links by {rule.via}; previous_hash "
                                       f"{_short(prev)} is a {form}"))
            continue
        if rule.linear:
            linear_claims.setdefault((_FAMILY[nd.profile], prev), []).append(i)
        if form == VIA_TX:
            p = tx_index.get(prev, -1)
            why = None
            if p >= 0:  # _allowed depends only on the profiles and types of both ends
                other = nodes[p]
                akey = (*rkey, other.profile, other.event_type)
                why = allowed[akey] if akey in allowed else allowed.setdefault(
                    akey, _allowed(rule, nd, other))
        else:
            p, why = _pick(rule, nd, nodes, hash_index.get(prev, ()))
        if p < 0:
            dangling.append(keys[i])
            link_checks.append(problem(f"link:{keys[i]}", R.CHAIN_LINK_UNRESOLVED,
                                       f"{_short(prev)} names no event in the set"))
            continue
        pred[i], via[i] = p, form
        linked += 1
        if why is not None:
            link_checks.append(problem(f"link:{keys[i]}", R.CHAIN_TYPE_MISMATCH,
                                       f"follows {keys[p]}: {why}"))
    summary = f"{linked} links resolved, {len(roots)} GENESIS roots"
    if hidden:
        summary += f", {hidden} links not visible (record not supplied)"
    link_checks.insert(0, passed("chain:links", summary))

    signer_checks = _signers(nodes, keys, pred, canon, trusted)
    fork_checks = _forks(linear_claims, keys, pred)
    cycle_checks = cycles(pred, keys)

    graph = {
        "nodes": [{"key": keys[i], "tx_id": nd.tx_id, "event_id": nd.event_id,
                   "event_type": nd.event_type} if canon[i] == i
                  else _graph_node(nd, keys[i], keys[canon[i]]) for i, nd in enumerate(nodes)],
        "edges": [{"from": keys[pred[i]], "to": keys[i], "via": via[i]}
                  for i in range(n) if pred[i] >= 0],
        "roots": roots,
        "dangling": dangling,
    }
    predecessor = {keys[i]: keys[pred[i]] for i in range(n) if pred[i] >= 0}
    checks = dup_checks + link_checks + signer_checks + fork_checks + cycle_checks
    return LinkReport(tuple(checks), graph, predecessor)


def _pick(rule: mlflow.LinkRule, nd: ChainNode, nodes: list[ChainNode],
          candidates: Sequence[int]) -> tuple[int, str | None]:
    """L3: the first candidate the rule allows, else the first candidate and why not."""
    first_why: str | None = None
    for c in candidates:
        why = _allowed(rule, nd, nodes[c])
        if why is None:
            return c, None
        first_why = first_why or why
    return (candidates[0], first_why) if candidates else (-1, None)


def _graph_node(nd: ChainNode, key: str, same_as: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {"key": key, "tx_id": nd.tx_id, "event_id": nd.event_id,
                           "event_type": nd.event_type}
    if same_as is not None:
        out["same_as"] = same_as
    return out


def _signers(nodes: list[ChainNode], keys: list[str], pred: list[int], canon: list[int],
             trusted: set[str]) -> list[Check]:
    """L6: a link keeps its signer unless a rotation or the trusted key set covers it."""
    rotations: dict[str, set[str]] = {}
    for i, nd in enumerate(nodes):
        if canon[i] == i and nd.rotates_to and nd.public_key and _FAMILY.get(nd.profile) == "agent":
            rotations.setdefault(nd.public_key, set()).add(nd.rotates_to)
    memo: dict[tuple[str, str], bool] = {}
    out: list[Check] = []
    for i, p in enumerate(pred):
        if p < 0:
            continue
        new, old = nodes[i].public_key, nodes[p].public_key
        if new is None or old is None or new == old:
            continue
        if (new in trusted and old in trusted) or _rotated(old, new, rotations, memo):
            continue
        out.append(problem(f"signer:{keys[i]}", R.CHAIN_SIGNER_CHANGED,
                           f"{keys[i]} is signed by {_short(new)} but its predecessor "
                           f"{keys[p]} by {_short(old)}"))
    return out or [passed("chain:signers", "every link keeps its signer")]


def _rotated(old: str, new: str, rotations: dict[str, set[str]],
             memo: dict[tuple[str, str], bool]) -> bool:
    if not rotations:
        return False
    if (old, new) not in memo:
        seen, frontier = {old}, [old]
        while frontier and new not in seen:
            nxt = [k for f in frontier for k in rotations.get(f, ()) if k not in seen]
            seen.update(nxt)
            frontier = nxt
        memo[(old, new)] = new in seen
    return memo[(old, new)]


def _forks(claims: dict[tuple[str, str], list[int]], keys: list[str],
           pred: list[int]) -> list[Check]:
    """L5: in a linear chain no two events may name the same predecessor."""
    out: list[Check] = []
    for (_, prev), members in claims.items():
        if len(members) < 2:
            continue
        p = pred[members[0]]
        target = keys[p] if p >= 0 else _short(prev)
        out.append(problem(f"chain:fork:{target}", R.CHAIN_FORK,
                           f"{', '.join(keys[m] for m in members)} all follow {target}"))
    return out or [passed("chain:forks", "no linear chain forks")]


def cycles(pred: Sequence[int], keys: Sequence[str]) -> list[Check]:
    """L5: following predecessors (`pred[i]`, -1 for none) must end at a root or a dangling
    link, never loop. Shared by the batch linker here and the streaming one (audit/linker)."""
    state = bytearray(len(pred))  # 0 new, 1 on the current walk, 2 finished
    out: list[Check] = []
    for start in range(len(pred)):
        path: list[int] = []
        i = start
        while i >= 0 and state[i] == 0:
            state[i] = 1
            path.append(i)
            i = pred[i]
        if i >= 0 and state[i] == 1:
            loop = path[path.index(i):]
            first = min(loop)
            at = loop.index(first)
            loop = loop[at:] + loop[:at]
            out.append(problem(f"chain:cycle:{keys[first]}", R.CHAIN_CYCLE,
                               " -> ".join(keys[j] for j in loop + [first])
                               + " (each follows the next)"))
        for j in path:
            state[j] = 2
    return out or [passed("chain:cycles", "no cycles")]
