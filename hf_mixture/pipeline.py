"""One entry's rows, batch by batch: filters -> sampling -> preprocess -> invariants -> media -> dup.

The order is LaViDa-O's (filters first, then the strategy; percents of the filtered length), with
the image stage after sampling so only kept rows are fetched, and `dup:K` last so each image is
fetched once. Every row that does not reach the output is counted in `EntryStats.dropped`.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from hf_mixture.config.model import EntryConfig, StageSettings
from hf_mixture.errors import SkipRow
from hf_mixture.filters import (
    IMPLICIT_AES_CUTOFF,
    RowFilter,
    aes_filter,
    apply_filters,
    max_enc_images_filter,
    min_size_filter,
)
from hf_mixture.media.embed import embed_images
from hf_mixture.media.fetch import ImageFetcher
from hf_mixture.preprocess.registry import SKIP_REASON, get_preprocess
from hf_mixture.records import (
    conform,
    invariant_reasons,
    prepend_missing_image_tokens,
    records_to_table,
)
from hf_mixture.sampling import Selection
from hf_mixture.sources.rows import table_rows
from hf_mixture.stats import EntryStats


def entry_filters(entry: EntryConfig, loaded_columns: Iterable[str]) -> list[RowFilter]:
    """The filters that apply to `entry`, given the columns it loads (LaViDa-O's implicit
    `aes_cutoff` of 5 applies whenever the score column is loaded)."""
    loaded = set(loaded_columns)
    filters = []
    if entry.score_column in loaded:
        implicit = entry.aes_cutoff is None
        cutoff = IMPLICIT_AES_CUTOFF if implicit else entry.aes_cutoff
        filters.append(aes_filter(entry.score_column, cutoff, implicit))
    if entry.min_size is not None:
        filters.append(min_size_filter(entry.min_size))
    if entry.max_enc_images is not None:
        filters.append(max_enc_images_filter(entry.max_enc_images.column, entry.max_enc_images.value))
    return filters


class _RowRandom:
    """A numpy Generator for one row, created only if the preprocess function uses it."""

    def __init__(self, seed: list[int]):
        self._seed, self._rng = seed, None

    def __getattr__(self, name):
        if self._rng is None:
            self._rng = np.random.default_rng(self._seed)
        return getattr(self._rng, name)


class EntryPipeline:
    """Turns one entry's source tables into unified rows with embedded images.

    Args:
        entry: the YAML entry.
        settings: the stage settings (seed, resolution, image workers).
        fetcher: reads the entry's images.
        filters: from `entry_filters`.
        selection: the filtered positions the sampling strategy keeps.
        stats: where every count goes.
    """

    def __init__(
        self,
        entry: EntryConfig,
        settings: StageSettings,
        fetcher: ImageFetcher,
        filters: list[RowFilter],
        selection: Selection,
        stats: EntryStats,
    ):
        self.entry, self.settings, self.fetcher = entry, settings, fetcher
        self.filters, self.selection, self.stats = filters, selection, stats
        self.function = get_preprocess(entry.preprocess_fn)
        self._name_seed = zlib.crc32(entry.name.encode("utf-8"))

    def run(self, tables: Iterable[pa.Table]) -> Iterator[pa.Table]:
        """Unified tables (FEATURES schema), one per input table that keeps any row."""
        position = filtered = 0
        with ThreadPoolExecutor(max_workers=self.settings.image_workers) as executor:
            for table in tables:
                self.stats.read += len(table)
                kept, passing = self._select(table, filtered)
                filtered += passing
                rows = table.take(pa.array(kept)) if len(kept) < len(table) else table
                positions = position + kept
                position += len(table)
                if len(rows):
                    out = self._process(rows, positions, executor)
                    if len(out):
                        yield out

    def _select(self, table: pa.Table, filtered_before: int) -> tuple[np.ndarray, int]:
        """Row indices of `table` kept by filters and sampling, and how many passed the filters."""
        passing = np.flatnonzero(apply_filters(table, self.filters, self.stats.dropped))
        chosen = passing[self.selection.pick(filtered_before, len(passing))]
        self.stats.dropped["sampling:not_selected"] += len(passing) - len(chosen)
        self.stats.sampled += len(chosen)
        return chosen, len(passing)

    def _process(self, rows: pa.Table, positions: np.ndarray, executor) -> pa.Table:
        records, reasons = self._records(rows, positions)
        records, _ = self._drop(records, reasons)
        records = prepend_missing_image_tokens(records)
        records, _ = self._drop(records, invariant_reasons(records))
        embedded, media_reasons = embed_images(
            records, self.fetcher, short_side=self.settings.resolution, executor=executor
        )
        embedded, _ = self._drop(embedded, media_reasons)
        return self._duplicate(embedded)

    def _records(self, rows: pa.Table, positions: np.ndarray) -> tuple[pa.Table, np.ndarray]:
        kwargs = self.entry.process_fn_kwargs
        partial = self.function.batch(rows, **kwargs) if self.function.batch else None
        if partial is not None:
            reasons = (
                partial[SKIP_REASON].to_numpy(zero_copy_only=False)
                if SKIP_REASON in partial.column_names
                else np.full(len(rows), None, dtype=object)
            )
            records = conform(partial, len(rows))
        else:
            records, reasons = self._row_records(rows, positions)
        return self._with_common_columns(records, positions), reasons

    def _row_records(self, rows: pa.Table, positions: np.ndarray) -> tuple[pa.Table, np.ndarray]:
        made, reasons = [], np.full(len(rows), None, dtype=object)
        seed = self.settings.seed
        for i, (row, position) in enumerate(zip(table_rows(rows), positions)):
            try:
                made.append(
                    self.function.row(
                        row,
                        rng=_RowRandom([seed, self._name_seed, int(position)]),
                        **self.entry.process_fn_kwargs,
                    )
                )
            except SkipRow as skip:
                reasons[i] = skip.reason
                made.append({"task": "t2i", "conversations": []})
        return records_to_table(made), reasons

    def _with_common_columns(self, records: pa.Table, positions: np.ndarray) -> pa.Table:
        n = len(records)
        ids = pc.binary_join_element_wise(f"{self.entry.key}/", pa.array(positions).cast(pa.string()), "")
        common = {
            "id": ids,
            "source": pa.array([self.entry.name] * n, pa.string()),
            "length_group": pa.array([self.entry.length_group] * n, pa.string()),
            "license": pa.array([self.entry.license or self.settings.license] * n, pa.string()),
        }
        for name, column in common.items():
            records = records.set_column(records.schema.get_field_index(name), name, column)
        return records

    def _drop(self, table: pa.Table, reasons: np.ndarray) -> tuple[pa.Table, int]:
        bad = np.array([r is not None for r in reasons], dtype=bool)
        if not bad.any():
            return table, 0
        for reason in reasons[bad]:
            self.stats.dropped[reason] += 1
        return table.filter(pa.array(~bad)), int(bad.sum())

    def _duplicate(self, table: pa.Table) -> pa.Table:
        copies = self.entry.sampling.dup_factor
        self.stats.rows += len(table) * copies
        if copies == 1 or not len(table):
            return table
        self.stats.dup_added += len(table) * (copies - 1)
        repeated = table.take(pa.array(np.repeat(np.arange(len(table)), copies)))
        suffix = pa.array(np.tile([f"#{k}" for k in range(copies)], len(table)), pa.string())
        ids = pc.binary_join_element_wise(repeated["id"], suffix, "")
        return repeated.set_column(repeated.schema.get_field_index("id"), "id", ids)
