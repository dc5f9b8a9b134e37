"""A7 as a stream: the lineage rules of `chain_rules.link` (spec/chain.md L1-L11), decided
node by node with a compact index instead of the whole node list.

`add(node)` registers a node (in source order) and returns its index and, when it can
already be decided, its per-event chain check; a node whose predecessor has not been seen
yet (or whose signer change may be excused by a rotation seen later) waits in a small
pending record and is decided by `finish()`. A decision made early is one that no later
node can change: the linker's tie-break is input order, so an earlier allowed candidate
always wins. The index per node: its unique key, a few integers (predecessor, link form,
interned profile/type/signer), a dictionary entry for its tx id (and its
linear-chain claim), and exact flat-table entries (`FlatIndex`) for its payload hash,
fingerprint digest and UUID-sized event id (spec/audit.md §8, "Memory").

`finish()` returns the pending nodes' checks, the set-level checks (duplicates, link
summary, signers, forks, cycles: the same list and order as `chain_findings`) and the
graph, kept in full only for at most `GRAPH_MAX` nodes (counts beyond).
"""

from __future__ import annotations

import hashlib
from array import array
from typing import Any, Iterable

from verifier.core import mlflow_profile as mlflow
from verifier.core.chain_rules import (
    _FAMILY, GENESIS, VIA_TX, ChainNode, _allowed, _clean, _rotated, _short, cycles, link_form,
    rule_for,
)
from verifier.core.reasons import ReasonCode as R
from verifier.core.result import Check, passed, problem, skipped

from .flatindex import FlatIndex
from .lineage import _GENESIS, _HIDDEN, CHAIN

#: The lineage graph (nodes, edges, roots, dangling) is kept in full up to this many nodes.
GRAPH_MAX = 10_000
#: The flat tables are sized up front for at most this many nodes (8 MiB of slots each);
#: beyond, they grow.
EXPECTED_MAX = 1 << 20
_VIA = (None, "payload_hash", "tx_id")
#: Event ids of this many UTF-8 bytes (a UUID as text) go to a flat table, others to a dict.
EVENT_ID_WIDTH = 36
_VIA_CODE = {form: n for n, form in enumerate(_VIA)}


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()




def _hash_key(value: str) -> bytes | None:
    """The 32 bytes of a 64-lowercase-hex payload hash (the only form a link by payload
    hash can name, L2), else None: a one-to-one, smaller index key. (`fromhex` also takes
    upper case and spaces; the round trip through `hex` admits only the canonical form.)"""
    if len(value) != 64:
        return None
    try:
        key = bytes.fromhex(value)
    except ValueError:
        return None
    return key if key.hex() == value else None


_UNSEEN = object()
_FORMS_MAX = 4096
_FAMILIES = ("mlflow", "agent", "events")


def _claim_key(family: str, prev: str, form: str) -> bytes:
    """Family and named predecessor as one small bytes key (one-to-one): a payload hash as
    its 32 bytes, a tx id (43 base64url characters) as its ASCII bytes."""
    head = bytes([_FAMILIES.index(family) * 2 + (form == VIA_TX)])
    return head + (prev.encode("ascii") if form == VIA_TX else bytes.fromhex(prev))


def _claimed(claim: bytes) -> str:
    """The predecessor text of a claim key (inverse of `_claim_key`)."""
    return claim[1:].decode("ascii") if claim[0] % 2 else claim[1:].hex()


def _event_key(value: str) -> bytes | str:
    """An event id of `EVENT_ID_WIDTH` UTF-8 bytes (a UUID's text form) as those bytes, for
    the flat index; anything else as itself (one-to-one: a str never equals a bytes)."""
    key = value.encode("utf-8", "surrogatepass")
    return key if len(key) == EVENT_ID_WIDTH else value


class StreamLinker:
    """Incremental `chain_rules.link` + `lineage.chain_findings` (same checks, same order)."""

    def __init__(self, trusted_keys: Iterable[bytes] | None = None, *,
                 graph_max: int = GRAPH_MAX, expected: int = 0) -> None:
        """`expected`: the number of nodes to size the flat tables for (a hint, capped at
        `EXPECTED_MAX` so a source that overstates its size cannot claim memory up front)."""
        expected = min(max(expected, 0), EXPECTED_MAX)
        self.graph_max = graph_max
        self.trusted = {k.hex() for k in trusted_keys} if trusted_keys is not None else set()
        self.keys: list[str] = []
        self.other_keys: set[str] = set()    # keys that are not their node's tx id
        self.tx_unkeyed: set[str] = set()    # tx ids no node has as its key (yet)
        self.pred = array("i")
        self.via = bytearray()
        self.meta = array("i")               # index into self.combos
        self.combos: list[tuple] = []        # interned (profile, event_type, public_key)
        self.rules: list[mlflow.LinkRule | None] = []  # combo -> its link rule (L2)
        self._combo_ix: dict[tuple, int] = {}
        self.first_fp = FlatIndex(32, expected)          # SHA-256 of the fingerprint -> first node
        self.tx_index: dict[str, int] = {}
        self.uuid_index = FlatIndex(EVENT_ID_WIDTH, expected)  # UUID-sized event id -> first node
        self.event_index: dict[str, int] = {}  # any other event id -> first node
        self.hash_index = FlatIndex(32, expected)        # payload hash bytes -> nodes
        self.dup_groups: dict[tuple[str, str], list[int]] = {}
        # linear-chain claims (L5): family + named predecessor (compact) -> i | [i...]
        self.claims: dict[bytes, Any] = {}
        self.rotations: dict[str, set[str]] = {}
        self.pending: dict[int, tuple] = {}   # i -> (previous_hash, form, rule) or ("signer", p)
        self.roots: list[str] = []
        self.n_roots = self.hidden = self.linked = self.copies = 0
        self.signer_problems = 0
        self.graph_nodes: list[dict[str, Any]] | None = []
        self._forms: dict[str, str | None] = {}
        self._allowed: dict[tuple, str | None] = {}
        self._follows: dict[int, Check] = {}  # predecessor -> its shared "follows" check

    # -- arrival -------------------------------------------------------------------------

    def add(self, node: ChainNode) -> tuple[int, Check | None]:
        """Register `node`; (its index, its chain check or None while it is pending)."""
        nd = _clean(node)
        keys = self.keys
        i = len(keys)
        tx = nd.tx_id
        key = nd.key if isinstance(nd.key, str) else f"#{i}"
        while self._taken(key):
            key = f"{key}#{i}"
        if key != tx:
            self.other_keys.add(key)
            if tx is not None and tx not in self.tx_index:
                self.tx_unkeyed.add(tx)
        elif self.tx_unkeyed:
            self.tx_unkeyed.discard(key)
        keys.append(key)
        c = i if nd.fingerprint is None else self.first_fp.setdefault(_digest(nd.fingerprint), i)
        self.pred.append(-1)
        self.via.append(0)
        combo = (nd.profile, nd.event_type, nd.public_key)
        ix = self._combo_ix.get(combo)
        if ix is None:
            ix = self._combo_ix[combo] = len(self.combos)
            self.combos.append(combo)
            self.rules.append(rule_for(nd.profile, nd.event_type))
        self.meta.append(ix)
        # duplicates (L7): a tx id or event id already held by another envelope
        if tx is not None and (first := self.tx_index.setdefault(tx, c)) != c:
            self._group("tx", tx, first, c)
        if (event_id := nd.event_id) is not None:
            ekey = _event_key(event_id)
            first = (self.uuid_index.setdefault(ekey, c) if isinstance(ekey, bytes)
                     else self.event_index.setdefault(ekey, c))
            if first != c:
                self._group("event", event_id, first, c)
        if self.graph_nodes is not None:
            g = {"key": key, "tx_id": tx, "event_id": event_id, "event_type": nd.event_type}
            if c != i:
                g["same_as"] = keys[c]
            self.graph_nodes.append(g)
            if len(self.graph_nodes) > self.graph_max:
                self.graph_nodes = None
        if c != i:
            self.copies += 1
            return i, skipped(CHAIN, f"same envelope as {keys[c]}")
        if nd.rotates_to and nd.public_key and _FAMILY.get(nd.profile) == "agent":
            self.rotations.setdefault(nd.public_key, set()).add(nd.rotates_to)
        hkey = _hash_key(nd.payload_hash) if nd.payload_hash is not None else None
        if hkey is not None:
            self.hash_index.add(hkey, i)
        return i, self._link(i, nd, key, self.rules[ix])

    def _taken(self, key: str) -> bool:
        """Is `key` some earlier node's key? A node's key is its tx id (then the tx index
        holds it) or not (then `other_keys` does): no separate key index is kept."""
        return key in self.other_keys or (key in self.tx_index and key not in self.tx_unkeyed)

    def _group(self, kind: str, value: str, first: int, c: int) -> None:
        """Node `c` holds `value` (a tx id or event id) that node `first` held first."""
        group = self.dup_groups.setdefault((kind, value), [first])
        if c not in group:
            group.append(c)

    def _link(self, i: int, nd: ChainNode, key: str, rule: mlflow.LinkRule | None) -> Check | None:
        prev = nd.previous_hash
        if prev is None:
            self.hidden += 1
            return _HIDDEN
        form = self._forms.get(prev, _UNSEEN)
        if form is _UNSEEN:
            form = link_form(prev)
            if len(self._forms) < _FORMS_MAX:  # shared predecessors repeat; unique ones do not
                self._forms[prev] = form
        if form == GENESIS:
            self.n_roots += 1
            if len(self.roots) < self.graph_max:
                self.roots.append(key)
            return _GENESIS
        if form is None:
            text = "missing, empty or not a string" if prev == "" else f"{_short(prev)!r}"
            return problem(CHAIN, R.CHAIN_LINK_MALFORMED,
                           f"previous_hash {text} is neither GENESIS, 64 lowercase hex nor a tx id")
        if rule is None or rule.via is None:
            why = "has no chain rule" if rule is None else "must be GENESIS"
            return problem(CHAIN, R.CHAIN_TYPE_MISMATCH,
                           f"{nd.event_type} ({nd.profile}) {why}; it names {_short(prev)}")
        if form != rule.via:
            return problem(CHAIN, R.CHAIN_LINK_MALFORMED,
                           f"{nd.event_type} links by {rule.via}; previous_hash {_short(prev)} is a {form}")
        if rule.linear:
            claim = _claim_key(_FAMILY[nd.profile], prev, form)
            have = self.claims.get(claim)
            if have is None:
                self.claims[claim] = i
            elif isinstance(have, list):
                have.append(i)
            else:
                self.claims[claim] = [have, i]
        p, why = self._find(rule, i, prev, form, final=False)
        if p < 0:
            self.pending[i] = (prev, form, rule)
            return None
        return self._resolve(i, p, form, why, final=False)

    def _find(self, rule: mlflow.LinkRule, i: int, prev: str, form: str,
              final: bool) -> tuple[int, str | None]:
        """L3 with the nodes seen so far: (-1, _) when a later node could still decide."""
        if form == VIA_TX:
            p = self.tx_index.get(prev, -1)
            return (p, self._why(rule, i, p)) if p >= 0 else (-1, None)
        cands = self.hash_index.all(bytes.fromhex(prev))  # VIA_HASH: 64 lowercase hex
        first_why = None
        for cand in cands:
            why = self._why(rule, i, cand)
            if why is None:
                return cand, None
            first_why = first_why or why
        if final and cands:
            return cands[0], first_why
        return -1, None

    def _why(self, rule: mlflow.LinkRule, i: int, p: int) -> str | None:
        akey = (self.meta[i], self.meta[p])  # node i's combo also fixes its rule
        why = self._allowed.get(akey, _UNSEEN)
        if why is _UNSEEN:
            node, pred = self.combos[akey[0]], self.combos[akey[1]]
            why = self._allowed[akey] = _allowed(rule, _Ends(*node), _Ends(*pred))
        return why  # type: ignore[return-value]

    def _resolve(self, i: int, p: int, form: str, why: str | None, final: bool) -> Check | None:
        self.pred[i] = p
        self.via[i] = _VIA_CODE[form]
        self.linked += 1
        signer = self._signer(i, p, final)
        if why is not None:
            if signer is None:  # the signer verdict still counts for chain:signers
                self.pending[i] = ("signer-only", p)
            return problem(CHAIN, R.CHAIN_TYPE_MISMATCH, f"follows {self.keys[p]}: {why}")
        if signer is None:
            self.pending[i] = ("signer", p)
            return None
        return signer

    def _signer(self, i: int, p: int, final: bool) -> Check | None:
        """L6 for the link i -> p: "follows" or a signer problem; None = wait for rotations."""
        new, old = self.combos[self.meta[i]][2], self.combos[self.meta[p]][2]
        if new is None or old is None or new == old or (new in self.trusted and old in self.trusted):
            return self._follow(p)
        if not final:
            return None
        if _rotated(old, new, self.rotations, {}):
            return self._follow(p)
        self.signer_problems += 1
        return problem(CHAIN, R.CHAIN_SIGNER_CHANGED,
                       f"{self.keys[i]} is signed by {_short(new)} but its predecessor "
                       f"{self.keys[p]} by {_short(old)}")

    def _follow(self, p: int) -> Check:
        """The passed "follows <key of p>" check, one shared object per predecessor (many
        predictions follow one registration), kept for the first _FORMS_MAX predecessors."""
        check = self._follows.get(p)
        if check is None:
            check = passed(CHAIN, f"follows {self.keys[p]}")
            if len(self._follows) < _FORMS_MAX:
                self._follows[p] = check
        return check

    # -- the end -------------------------------------------------------------------------

    def finish(self) -> tuple[dict[int, Check], tuple[Check, ...], dict[str, Any]]:
        """(pending index -> chain check, set-level checks, graph)."""
        decided: dict[int, Check] = {}
        dangling: list[int] = []
        for i in sorted(self.pending):
            entry = self.pending[i]
            if entry[0] in ("signer", "signer-only"):
                check = self._signer(i, entry[1], final=True)
                if entry[0] == "signer":
                    decided[i] = check  # type: ignore[assignment]
                continue
            prev, form, rule = entry
            p, why = self._find(rule, i, prev, form, final=True)
            if p < 0:
                dangling.append(i)
                decided[i] = problem(CHAIN, R.CHAIN_LINK_UNRESOLVED,
                                     f"{_short(prev)} names no event in the set")
                continue
            check = self._resolve(i, p, form, why, final=True)
            decided[i] = check  # type: ignore[assignment]
        self.pending.clear()
        return decided, self._set_checks(), self._graph(dangling)

    def _set_checks(self) -> tuple[Check, ...]:
        keys = self.keys
        checks: list[Check] = []
        for (kind, value), members in self.dup_groups.items():
            what = "tx id" if kind == "tx" else "event id"
            checks.append(problem(f"chain:duplicate:{kind}:{value}", R.DUPLICATE_EVENT,
                                  f"{', '.join(keys[m] for m in members)} are different "
                                  f"envelopes with the same {what} {_short(value)}"))
        if not checks:
            checks.append(passed("chain:duplicates", f"{self.copies} identical copies merged"
                                 if self.copies else "no duplicate tx ids or event ids"))
        summary = f"{self.linked} links resolved, {self.n_roots} GENESIS roots"
        if self.hidden:
            summary += f", {self.hidden} links not visible (record not supplied)"
        checks.append(passed("chain:links", summary))
        if not self.signer_problems:
            checks.append(passed("chain:signers", "every link keeps its signer"))
        forks = []
        for claim, members in self.claims.items():
            if not isinstance(members, list):
                continue
            p = self.pred[members[0]]
            target = keys[p] if p >= 0 else _short(_claimed(claim))
            forks.append(problem(f"chain:fork:{target}", R.CHAIN_FORK,
                                 f"{', '.join(keys[m] for m in members)} all follow {target}"))
        checks += forks or [passed("chain:forks", "no linear chain forks")]
        checks += cycles(self.pred, self.keys)
        return tuple(checks)

    def _graph(self, dangling: list[int]) -> dict[str, Any]:
        n = len(self.keys)
        if self.graph_nodes is None:
            return {"nodes": n, "edges": self.linked, "roots": self.n_roots,
                    "dangling": len(dangling), "omitted": f"more than {self.graph_max} nodes: counts only"}
        keys, pred = self.keys, self.pred
        return {
            "nodes": self.graph_nodes,
            "edges": [{"from": keys[pred[i]], "to": keys[i], "via": _VIA[self.via[i]]}
                      for i in range(n) if pred[i] >= 0],
            "roots": list(self.roots),
            "dangling": [keys[i] for i in dangling],
        }


class _Ends:
    """The fields `chain_rules._allowed` reads, from an interned (profile, type, key)."""

    __slots__ = ("profile", "event_type", "public_key")

    def __init__(self, profile: str, event_type: str | None, public_key: str | None) -> None:
        self.profile, self.event_type, self.public_key = profile, event_type, public_key
