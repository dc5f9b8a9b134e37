"""Export an MLflow target as an audit bundle v2 in bounded memory (``ario-verifier export``).

`read_mlflow` + `write_bundle_v2` hold every prediction record at once. Here the
`LineageReader` runs with a sink: each chunk of predictions is filled from the gateways,
made into bundle lines and appended to an unnamed temporary file next to the output, and
dropped. The bundle puts the lineage before the predictions (`lineage_order`), but the
reader meets the earlier training runs (``previous_hash``) only after the predictions, so
the lines wait in that file until the lineage is complete; then the lineage records and
the waiting lines go through one `BundleWriter`. Every step happens in the order of the
in-memory path, so the bundle is byte-identical to ``write_bundle_v2(read_mlflow(...))``
(pinned by tests/sources/test_mlflow_export.py). Memory: the lineage, one chunk, and per
prediction its decision id and dedup key (spec/audit-bundle.md §5).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from verifier import __version__
from verifier.sources.bundle_v2_write import (
    PREDICTION_RANK, BundleWriter, lineage_order, lineage_rank, record_line,
)
from verifier.sources.mlflow_reader import LineageReader, parse_target
from verifier.sources.mlflow_store import MlflowStore, ReaderLimits
from verifier.sources.model import Collection, EventRecord

#: What `export` reads of one target (spec/audit-bundle.md §5). Its memory does not hold the
#: predictions, only per prediction its decision id, dedup key, trace-file offset and the
#: names of its ``ario/`` files: ~0.7 KB measured (bench/bench_export_memory.py), so under
#: 1 GiB at 1,000,000 predictions. The ``ario/`` files are a private copy on disk, hence the
#: file and byte limits sized for four files (payload, proof, data item, receipt) of ~2 KB.
EXPORT_LIMITS = ReaderLimits(max_predictions=1_000_000, max_traces=1_000_000,
                             max_ario_files=4_000_000, max_ario_bytes=8 * 1024**3)


class BundleWriteError(Exception):
    """Writing the bundle (or its temporary line file) failed; `args[0]` is the cause, an
    `OSError` or the `ValueError` of a record that cannot be represented."""


def export_mlflow(tracking_uri: str, target: str, path: str | os.PathLike[str], *,
                  registry_uri: str | None = None, gateway: Any = None,
                  limits: ReaderLimits = EXPORT_LIMITS, chunk: int = 512,
                  created_at: str | None = None, tool_version: str = __version__,
                  shard_events: int = 1024, shard_bytes: int = 4 * 1024**2,
                  compresslevel: int = 6) -> tuple[Any, Collection]:
    """Read `target` as `read_mlflow` does and write it to `path` as `write_bundle_v2`
    does, holding one `chunk` of predictions at a time. Returns the `BundleSummary` and
    the collection of the lineage (target, gaps, model files, source; its `records` are
    the lineage only, `summary.events` counts all).

    Raises ValueError (unparseable target) and `SourceError` as `read_mlflow`, and
    `BundleWriteError` when the bundle cannot be written (nothing is left at `path`)."""
    from verifier.sources.bundle import BundleSummary

    parsed = parse_target(target)
    offline = bool(getattr(gateway, "offline", False))
    out = Path(path)
    try:
        spool = tempfile.TemporaryFile(prefix=f".{out.name}.", suffix=".lines",
                                       dir=out.parent if str(out.parent) else None)
    except OSError as exc:
        raise BundleWriteError(exc) from exc
    with spool:
        def sink(records: list[EventRecord]) -> None:
            try:
                spool.write(b"".join(record_line(r) for r in records))
            except (OSError, ValueError) as exc:
                raise BundleWriteError(exc) from exc

        with MlflowStore(tracking_uri, registry_uri, limits=limits, offline=offline) as store:
            reader = LineageReader(store, gateway, sink=sink, chunk=chunk)
            collection = reader.read(parsed, target)
            collection.source = dict(store.details)
        try:
            spool.seek(0)
            order = lineage_order(collection.records)
            with BundleWriter(path, collection.target, created_at=created_at,
                              tool_version=tool_version, shard_events=shard_events,
                              shard_bytes=shard_bytes, compresslevel=compresslevel) as writer:
                for record in order:  # the lineage: predecessors first (none is rank > 4)
                    if lineage_rank(record) <= PREDICTION_RANK:
                        writer.add(record)
                for line in spool:    # the predictions, in the order they were read
                    writer.add_line(line)
                for record in order:
                    if lineage_rank(record) > PREDICTION_RANK:
                        writer.add(record)
                writer.finish(collection.model_files, collection.gaps)
        except (OSError, ValueError) as exc:
            raise BundleWriteError(exc) from exc
    return BundleSummary(out, writer.sha256 or "", writer.members, writer.events), collection
