"""Confirm a collection's envelope bytes on gateways before auditing (spec/audit.md A1).

Used for audit bundles audited with ``--gateway``: every tx id is fetched again; missing
envelopes and data items are filled in, and gateway bytes that differ from the bundle's
make the event `gateway_disagreement` (the bundle's bytes are kept for the other checks).
Missing data items are fetched the way real gateways allow (sources/itemfetch.py), and
events the bundle holds without a tx id are searched for by Event-Id (sources/fill.py).
"""

from __future__ import annotations

import hashlib
from typing import Any, Callable

from verifier.sources.fill import attach_items, origin_of, search_lost_tx_ids
from verifier.sources.model import Collection, FetchResult, FetchStatus


def _short_sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()[:16]


def confirm_on_gateways(collection: Collection, client: Any,
                        progress: Callable[[int, int], None] | None = None) -> None:
    """Re-fetch every tx id of `collection` through `client` (a `GatewayClient`)."""
    records = [r for r in collection.records if isinstance(r.tx_id, str)]
    fetched = client.fetch_many([r.tx_id for r in records])
    for i, r in enumerate(records, 1):
        res: FetchResult | None = fetched.get(r.tx_id)
        if res is None:
            continue
        if res.status is FetchStatus.OK and res.data is not None:
            if r.envelope is None:
                r.envelope, r.envelope_origin, r.fetch = res.data, origin_of(res), res
            elif res.data != r.envelope:
                per = (("bundle", _short_sha(r.envelope)), (str(res.origin), _short_sha(res.data)))
                r.fetch = FetchResult(r.tx_id, FetchStatus.DISAGREEMENT, None, res.origin, per)
            else:
                r.fetch = res
        elif r.envelope is None:
            r.fetch = res
        if progress is not None:
            progress(i, len(records))
    attach_items(records, client)
    search_lost_tx_ids(collection.records, client)
