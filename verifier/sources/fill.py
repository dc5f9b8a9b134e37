"""Fill a live collection's records from gateways: envelope bytes by tx id, the signed data
items that bind them, and tx ids that were never recorded (found by GraphQL tag search).

Origins written here (shown per event by the audit): ``gateway:<url>`` for ``/raw`` bytes,
``cache:bound (<url> (<method>))`` for a cached bound item's payload, ``dataitem:<origin>``
for an envelope taken from a bound item's payload. A record whose binding could not be
proven gets ``hints["binding_attempts"]`` (what each gateway step got) and, if gateways sent
integrity headers, ``hints["gateway_claims"]`` — claims, never evidence.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterable

from verifier.core.ans104 import parse_data_item
from verifier.core.errors import Malformed
from verifier.core.intake import load
from verifier.sources.itemfetch import find_by_event_id
from verifier.sources.model import EventRecord, FetchResult, FetchStatus

#: Hint values are capped so a hostile gateway cannot bloat a report.
MAX_HINT_CHARS = 1000
TX_SOURCE_SEARCH = "search:graphql Event-Id"


def origin_of(res: FetchResult) -> str:
    """The origin string a record gets for bytes from `res` (gateway or bound cache)."""
    origin = res.origin or ""
    return origin if origin.startswith("cache:") else f"gateway:{origin}"


def note_item(record: EventRecord, res: FetchResult | None) -> None:
    """Attach a fetched bound item to `record`, or note why binding stays unproven."""
    if res is None or res.status is FetchStatus.OFFLINE:
        return
    if res.status is FetchStatus.OK and res.data is not None:
        record.data_item = res.data
        record.hints["data_item_origin"] = origin_of(res)
        return
    tried = "; ".join(f"{g}: {o}" for g, o in res.per_gateway)
    record.hints["binding_attempts"] = tried[:MAX_HINT_CHARS]
    if res.claims:
        said = "; ".join(f"{h}: {v}" for h, v in res.claims)
        record.hints["gateway_claims"] = said[:MAX_HINT_CHARS]


def attach_items(records: Iterable[EventRecord], client: Any) -> None:
    """Fetch the bound data item of every record that has a tx id and no item yet (unless
    every gateway already answered 404 for its bytes)."""
    need = []
    for r in records:
        if not isinstance(r.tx_id, str) or r.data_item is not None:
            continue
        if r.fetch is not None and r.fetch.status is FetchStatus.NOT_FOUND:
            # every gateway said 404 for /raw/<id>: its item routes would say so too
            r.hints["binding_attempts"] = "not asked: no gateway has /raw/<id>"
            continue
        need.append(r)
    if not need:
        return
    items = client.fetch_many([r.tx_id for r in need], data_items=True)
    for r in need:
        note_item(r, items.get(r.tx_id))  # type: ignore[arg-type]


def _item_data(record: EventRecord) -> bytes | None:
    try:
        return parse_data_item(record.data_item).data  # type: ignore[arg-type]
    except Malformed:
        return None


def fill_from_gateways(records: list[EventRecord], client: Any) -> None:
    """Envelope bytes, bound items and lost tx ids for the records of a live source."""
    todo = [r for r in records if r.tx_id and r.fetch is None]
    fetched = client.fetch_many([r.tx_id for r in todo])
    for r in todo:
        res = fetched[r.tx_id]  # type: ignore[index]
        r.fetch = res
        if res.status is FetchStatus.OK and res.data is not None:
            if r.envelope_origin:
                r.hints.setdefault("local_envelope_origin", r.envelope_origin)
            r.envelope, r.envelope_origin = res.data, origin_of(res)
    attach_items(todo, client)
    for r in todo:
        if r.data_item is not None and (r.fetch is None or r.fetch.status is not FetchStatus.OK):
            data = _item_data(r)  # the bound item's payload beats a local copy
            if data is not None:
                if r.envelope_origin:
                    r.hints.setdefault("local_envelope_origin", r.envelope_origin)
                r.envelope = data
                r.envelope_origin = f"dataitem:{r.hints.get('data_item_origin', 'unknown')}"
    search_lost_tx_ids(records, client)


def _local_event(record: EventRecord) -> tuple[str, str] | None:
    """(event_id, signature) of the local envelope copy of a record without tx id."""
    try:
        env = load(record.envelope or b"")
    except Malformed:
        return None
    if not isinstance(env, dict):
        return None
    eid, sig = env.get("event_id"), env.get("signature")
    if isinstance(eid, str) and eid and isinstance(sig, str):
        return eid, sig
    return None


def _same_envelope(item: bytes, event_id: str, signature: str) -> bool:
    """The bound item carries the envelope the local copy is a copy of: same Event-Id tag,
    same event_id and the same Ed25519 signature (deterministic: same signed scope)."""
    try:
        parsed = parse_data_item(item)
        env = load(parsed.data)
    except Malformed:
        return False
    return (parsed.tag("Event-Id") == event_id and isinstance(env, dict)
            and env.get("event_id") == event_id and env.get("signature") == signature)


def _search_one(client: Any, local: tuple[str, str]) -> tuple[FetchResult | None, str]:
    """(the bound item whose envelope is the local one, "") or (None, why not)."""
    event_id, signature = local
    ids, why = find_by_event_id(client, event_id)
    for tx in ids:
        res = client.fetch_data_item(tx)
        if res.status is FetchStatus.OK and res.data and _same_envelope(res.data, *local):
            return res, ""
    return None, why or (f"{len(ids)} item(s) tagged Event-Id {event_id[:80]!r} found, none "
                         "bound with this envelope")


def search_lost_tx_ids(records: list[EventRecord], client: Any) -> None:
    """A record with a local envelope copy but no tx id (the plugin lost the trace tag):
    search the gateways by Event-Id, bind what they name, and keep the first item whose
    envelope is the local one. Found: the record gets the tx id, the item, its payload as
    envelope and ``hints["tx_source"] = "search:graphql Event-Id"``. Not found (or
    offline): ``hints["tx_search"]`` says why. Searches run `max_concurrency` wide."""
    todo = []
    for r in records:
        if r.tx_id is None and r.envelope is not None and "tx_search" not in r.hints:
            local = _local_event(r)
            if local is not None:
                todo.append((r, local))
    if not todo:
        return
    width = min(getattr(client, "max_concurrency", 1), len(todo))
    if client.offline or width <= 1:
        found = [_search_one(client, local) for _, local in todo]
    else:
        with ThreadPoolExecutor(max_workers=width) as pool:
            found = list(pool.map(lambda job: _search_one(client, job[1]), todo))
    for (r, _), (res, why) in zip(todo, found):
        if res is None:
            r.hints["tx_search"] = why[:MAX_HINT_CHARS]
            continue
        r.tx_id = res.tx_id
        r.hints["tx_source"] = TX_SOURCE_SEARCH
        r.hints["local_envelope_origin"] = r.envelope_origin or ""
        r.data_item = res.data
        r.hints["data_item_origin"] = origin_of(res)
        r.envelope = _item_data(r)
        r.envelope_origin = f"dataitem:{r.hints['data_item_origin']}"
        r.fetch = FetchResult(res.tx_id, FetchStatus.OK, r.envelope, res.origin, res.per_gateway)
