"""The parquet bytes a build would write, from the probed rows and the build's own shard layout."""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

import datasets
import pyarrow as pa
import pyarrow.parquet as pq

from hf_mixture.export.hub_folder import MAX_SHARD_BYTES, ROW_GROUP_BYTES, write_parquet
from hf_mixture.schema import COLUMNS, FEATURES, RECORD_DEFAULTS

if TYPE_CHECKING:  # entry.py imports this module (through probe.py)
    from hf_mixture.plan.entry import EntryPlan


def entry_bytes(entry: EntryPlan) -> float:
    """Column-chunk bytes of an entry's written rows: images each time a row is written (stored
    plain), the other columns about once per distinct row (dictionary-encoded)."""
    probe = entry.probe
    return entry.written * probe.image_row_bytes + min(entry.rows, entry.written) * probe.text_row_bytes


def stage_bytes(entries: Sequence[EntryPlan], num_shards: int | None) -> int:
    """The stage's parquet bytes: the entries' column chunks, plus a footer per row group laid out as
    `write_stage` lays them (shards of <= 500 MB, row groups of about 32 MB, at most 10k rows), each
    as large as the largest measured on an entry's probed rows."""
    data = sum(entry_bytes(e) for e in entries)
    rows = sum(e.written for e in entries)
    if not rows:
        return 0
    row_bytes = max(data / rows, 1.0)
    shards = num_shards or max(1, math.ceil(data / MAX_SHARD_BYTES))
    rows_per_group = max(1, min(10_000, int(ROW_GROUP_BYTES / row_bytes)))
    groups = max(min(shards, rows), math.ceil(rows / rows_per_group))
    return int(data + groups * max((e.probe.footer_bytes for e in entries), default=0))


def footer_bytes(rows: pa.Table | None = None) -> int:
    """Bytes of a parquet file of `rows` (FEATURES rows, images embedded; default: one small row)
    written by the build's writer that are not column data (footer with the columns' statistics,
    page index, magic): measured on a temporary file."""
    if rows is None or not len(rows):
        return _small_row_footer()
    return _measured_footer(datasets.Dataset(rows.select(COLUMNS).cast(FEATURES.arrow_schema)))


@lru_cache(maxsize=1)
def _small_row_footer() -> int:
    row = {**RECORD_DEFAULTS, "id": "a/0", "source": "a", "task": "t2i", "length_group": "default",
           "conversations": [{"from": "human", "value": "x"}]}  # fmt: skip
    return _measured_footer(datasets.Dataset.from_list([{c: row[c] for c in COLUMNS}], features=FEATURES))


def _measured_footer(dataset: datasets.Dataset) -> int:
    with tempfile.TemporaryDirectory(prefix="hf-mixture-plan-") as folder:
        path = os.path.join(folder, "probe.parquet")
        write_parquet(dataset, path, len(dataset))
        group = pq.read_metadata(path).row_group(0)
        data = sum(group.column(c).total_compressed_size for c in range(group.num_columns))
        return os.path.getsize(path) - data
