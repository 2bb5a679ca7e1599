"""One entry's rows, batch by batch: filters -> sampling -> preprocess -> invariants -> media -> dup.

The order is LaViDa-O's (filters first, then the strategy; percents of the filtered length), with
the image stage after sampling so only kept rows are fetched, and `dup:K` last so each image is
fetched once. Every row that does not reach the output is counted in `EntryStats.dropped`.

Everything before the image stage runs on whole Arrow batches (pyarrow.compute, numpy index
arrays); per-row Python runs only for preprocess functions without a batch form. The image stage
takes `MEDIA_CHUNK_ROWS` rows at a time, so the image bytes held at once are bounded.
"""

from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from hf_mixture.config.model import EntryConfig, StageSettings
from hf_mixture.errors import HfMixtureError, SkipRow
from hf_mixture.filters import (
    IMPLICIT_AES_CUTOFF,
    RowFilter,
    aes_filter,
    apply_filters,
    max_enc_images_filter,
    min_size_filter,
)
from hf_mixture.media.embed import decode_pool, default_decode_processes, embed_images
from hf_mixture.media.fetch import ImageFetcher
from hf_mixture.preprocess.registry import SKIP_REASON, TEMPLATE_TEXT, get_preprocess
from hf_mixture.records import (
    conform,
    invariant_reasons,
    prepend_missing_image_tokens,
    records_to_table,
    unchecked_template_rows,
)
from hf_mixture.sampling import Selection, entry_seed, plan_selection
from hf_mixture.sources.rows import is_json_column, split_source_rows, table_rows
from hf_mixture.stats import MAX_EXAMPLES, EntryStats

MEDIA_CHUNK_ROWS = 256
TableSource = Callable[[Sequence[str] | None], Iterable[pa.Table]]


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


def needs_count(entry: EntryConfig) -> bool:
    """Whether the entry's strategy needs the filtered row count before the first row is kept
    (`end`, `random`, any percent)."""
    strategy = entry.sampling
    return strategy.kind in ("end", "random") or strategy.percent is not None


def filtered_row_count(
    filters: Sequence[RowFilter], source_tables: TableSource, metadata_row_count: Callable[[], int | None]
) -> int:
    """Rows passing `filters`: from the source's metadata when there are none (parquet footers),
    else one pass reading only the filter columns."""
    if not filters:
        known = metadata_row_count()
        if known is not None:
            return known
    needed = sorted({c for f in filters for c in f.columns}) or None
    ignored: Counter = Counter()
    return sum(int(np.count_nonzero(apply_filters(t, filters, ignored))) for t in source_tables(needed))


def entry_selection(
    entry: EntryConfig,
    settings: StageSettings,
    filters: Sequence[RowFilter],
    source_tables: TableSource,
    metadata_row_count: Callable[[], int | None],
) -> Selection:
    """The filtered positions `entry`'s sampling strategy keeps (counting rows only when needed)."""
    seed = entry_seed(settings.seed, entry.name)
    if not needs_count(entry):
        return plan_selection(entry.sampling, 2**62, seed)
    n_rows = filtered_row_count(filters, source_tables, metadata_row_count)
    return plan_selection(entry.sampling, n_rows, seed)


_PLACEHOLDER = {"task": "t2i", "conversations": []}  # the record of a dropped row, until `_drop`


def _checked_records(made: list[dict], reasons: np.ndarray) -> pa.Table:
    """`records_to_table(made)`; a record whose values do not fit the schema (a list where a path
    belongs) is replaced by a placeholder and its row dropped as `preprocess:output_wrong_type`."""
    try:
        return records_to_table(made)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, TypeError, ValueError):
        pass
    for i, record in enumerate(made):
        try:
            records_to_table([record])
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, TypeError, ValueError):
            made[i], reasons[i] = dict(_PLACEHOLDER), "preprocess:output_wrong_type"
    return records_to_table(made)


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
        embed_media: False skips the image stage: rows keep image *references* (REFERENCE_SCHEMA)
            and no image is read or checked (for measuring or planning the metadata path).
        decode_processes: processes that check and resize images (default: the usable CPUs;
            1: in the reading threads).
        image_check: how images are checked (`full`, `draft`, `header`; see media/images.py);
            default: the stage's `image_check`.
    """

    def __init__(
        self,
        entry: EntryConfig,
        settings: StageSettings,
        fetcher: ImageFetcher,
        filters: list[RowFilter],
        selection: Selection,
        stats: EntryStats,
        *,
        embed_media: bool = True,
        decode_processes: int | None = None,
        image_check: str | None = None,
    ):
        self.entry, self.settings, self.fetcher = entry, settings, fetcher
        self.filters, self.selection, self.stats = filters, selection, stats
        self.embed_media, self.image_check = embed_media, image_check or settings.image_check
        self.decode_processes = default_decode_processes() if decode_processes is None else decode_processes
        self.function = get_preprocess(entry.preprocess_fn)
        # process_fn_kwargs plus the stage options the function declares (e.g. box_format)
        self.kwargs = {**entry.process_fn_kwargs, **self.function.stage_kwargs(settings)}
        self._name_seed = zlib.crc32(entry.name.encode("utf-8"))

    def run(self, tables: Iterable[pa.Table]) -> Iterator[pa.Table]:
        """Unified tables (FEATURES schema; REFERENCE_SCHEMA without `embed_media`), in source
        order; empty results are not yielded."""
        executor = (
            ThreadPoolExecutor(max_workers=self.settings.image_workers) if self.embed_media else nullcontext()
        )
        with executor:
            for rows, positions in self.selected(tables):
                for out in self._process(rows, positions, executor):
                    if len(out):
                        yield out

    def selected(
        self, tables: Iterable[pa.Table], start: int = 0, filtered: int = 0
    ) -> Iterator[tuple[pa.Table, np.ndarray]]:
        """The rows of `tables` that filters and sampling keep, with their source positions; every
        row read is counted. A table's rows are consecutive unless it carries their positions
        (`sources.rows.split_source_rows`). `start` / `filtered`: where `tables` start among the
        entry's rows and among the rows passing the filters (non-zero for a piece of the source)."""
        position = 0  # within `tables`
        for table in tables:
            table, source_rows = split_source_rows(table, position)
            self.stats.read += len(table)
            kept, passing = self.select(table, filtered, source_rows=start + source_rows)
            filtered += passing
            position = int(source_rows[-1]) + 1 if len(source_rows) else position
            if len(kept):
                rows = table.take(pa.array(kept)) if len(kept) < len(table) else table
                yield rows, start + source_rows[kept]

    def select(
        self, table: pa.Table, filtered_before: int, *, source_rows: np.ndarray | None = None
    ) -> tuple[np.ndarray, int]:
        """Row indices of `table` kept by filters and sampling, and how many passed the filters
        (`filtered_before`: rows of the earlier tables that passed). Given the source positions
        of the table's rows (`source_rows`), the first drops of each reason are kept as examples."""
        dropped_rows: dict | None = {} if source_rows is not None else None
        mask = apply_filters(table, self.filters, self.stats.dropped, dropped_rows) if self.filters else None
        passing = np.flatnonzero(mask) if mask is not None else np.arange(len(table), dtype=np.int64)
        chosen = passing[self.selection.pick(filtered_before, len(passing))]
        self.stats.dropped["sampling:not_selected"] += len(passing) - len(chosen)
        self.stats.sampled += len(chosen)
        if source_rows is not None:
            self._note_filtered(table, source_rows, dropped_rows)
            self._note_unselected(passing, chosen, source_rows)
        return chosen, len(passing)

    def _note_unselected(self, passing: np.ndarray, chosen: np.ndarray, source_rows: np.ndarray) -> None:
        """Examples of rows that passed the filters but the sampling strategy did not keep."""
        if len(chosen) == len(passing) or not self.stats.wants_example("sampling:not_selected"):
            return
        message = f"not kept by sampling_strategy {self.entry.sampling.text}"
        for row in np.setdiff1d(passing, chosen, assume_unique=True)[:MAX_EXAMPLES]:
            self.stats.note_drop("sampling:not_selected", self._row_id(source_rows[row]), message)

    def _note_filtered(self, table: pa.Table, source_rows: np.ndarray, dropped_rows: dict) -> None:
        """Examples of filter drops: the row id, its filter columns' values and the rule."""
        for reason, (rows, columns, rule) in dropped_rows.items():
            for row in rows[:MAX_EXAMPLES]:
                if not self.stats.wants_example(reason):
                    break
                values = ", ".join(
                    f"{c}={table[c][int(row)].as_py()!r}" for c in columns if c in table.column_names
                )
                self.stats.note_drop(reason, self._row_id(source_rows[row]), f"{values}; keeps {rule}")

    def _row_id(self, position) -> str:
        """The id of the row at source `position` (as `_with_common_columns` makes it)."""
        return f"{self.entry.key}/{int(position)}"

    def _process(self, rows: pa.Table, positions: np.ndarray, executor) -> Iterator[pa.Table]:
        records = self.records(rows, positions)
        if not self.embed_media:
            yield self._duplicate(records)
            return
        decoder = decode_pool(self.decode_processes)
        for start in range(0, len(records), MEDIA_CHUNK_ROWS):
            yield self.media(records.slice(start, MEDIA_CHUNK_ROWS), executor, decoder)

    # `select`, `records` and `media` are also the seams of engines that run the steps apart
    # (hf_mixture/engines/ray_engine.py), so both engines share one implementation of each.
    def records(self, rows: pa.Table, positions: np.ndarray) -> pa.Table:
        """Selected `rows` (source `positions`) as checked unified records with image references:
        preprocess, missing `<image>` tokens, invariants; every drop counted."""
        records, reasons, template_text = self._records(rows, positions)
        if template_text is not None and reasons.null_count < len(reasons):
            template_text = template_text.filter(pc.is_null(reasons))
        records = self._drop(records, reasons)
        records = prepend_missing_image_tokens(records, self.stats.repaired)
        return self._drop(records, invariant_reasons(records, unchecked_template_rows(template_text)))

    def media(self, records: pa.Table, executor, decoder) -> pa.Table:
        """One chunk of `records` with its images embedded (rows whose images fail are dropped and
        counted), then its `dup:K` copies."""
        messages: dict[int, str] = {}
        embedded, media_reasons = embed_images(
            records,
            self.fetcher,
            short_side=self.settings.resolution,
            executor=executor,
            decoder=decoder,
            check=self.image_check,
            repairs=self.stats.repaired,
            messages=messages,
        )
        return self._duplicate(self._drop(embedded, media_reasons, messages))

    def _records(self, rows: pa.Table, positions: np.ndarray) -> tuple[pa.Table, pa.ChunkedArray, object]:
        """Records, per row the skip reason (null: keep) and the template text of a batch form that
        fills a template (registry.TEMPLATE_TEXT; None otherwise)."""
        # columns of mixed value types (JSON text, sources/rows.py) go to the row form, which decodes them
        batch = self.function.batch if not any(is_json_column(rows, n) for n in rows.column_names) else None
        try:
            partial = batch(rows, **self.kwargs) if batch else None
            records = conform(partial, len(rows)) if partial is not None else None
        except (pa.ArrowException, KeyError, TypeError, ValueError):  # non-UTF-8 bytes, a column a
            # file lacks, a list where text belongs: the row form decodes leniently and counts each row
            partial = None
        template_text = None
        if partial is not None:
            has_reasons = SKIP_REASON in partial.column_names
            reasons = partial[SKIP_REASON] if has_reasons else pa.nulls(len(rows), pa.string())
            if TEMPLATE_TEXT in partial.column_names:
                template_text = partial[TEMPLATE_TEXT]
        else:
            records, reasons = self._row_records(rows, positions)
            reasons = pa.chunked_array([pa.array(reasons, type=pa.string(), from_pandas=True)])
        return self._with_common_columns(records, positions), reasons, template_text

    def _row_records(self, rows: pa.Table, positions: np.ndarray) -> tuple[pa.Table, np.ndarray]:
        made, reasons = [], np.full(len(rows), None, dtype=object)
        seed = self.settings.seed
        for i, (row, position) in enumerate(zip(table_rows(rows), positions)):
            try:
                made.append(
                    self.function.row(
                        row,
                        rng=_RowRandom([seed, self._name_seed, int(position)]),
                        **self.kwargs,
                    )
                )
            except SkipRow as skip:
                reasons[i] = skip.reason
                made.append(dict(_PLACEHOLDER))
            except HfMixtureError:
                raise  # a problem of the entry, not of this row
            except Exception as err:  # noqa: BLE001 - a value the function cannot take: this row's drop
                reasons[i] = f"preprocess:failed_{type(err).__name__}"
                made.append(dict(_PLACEHOLDER))
        return _checked_records(made, reasons), reasons

    def _with_common_columns(self, records: pa.Table, positions: np.ndarray) -> pa.Table:
        n = len(records)
        ids = pc.binary_join_element_wise(f"{self.entry.key}/", pa.array(positions).cast(pa.string()), "")
        common = {
            "id": ids,
            "source": pa.repeat(pa.scalar(self.entry.name, pa.string()), n),
            "length_group": pa.repeat(pa.scalar(self.entry.length_group, pa.string()), n),
            "license": pa.repeat(pa.scalar(self.entry.license or self.settings.license, pa.string()), n),
        }
        for name, column in common.items():
            records = records.set_column(records.schema.get_field_index(name), name, column)
        return records

    def _drop(
        self,
        table: pa.Table,
        reasons: pa.Array | pa.ChunkedArray | np.ndarray,
        messages: dict[int, str] | None = None,
    ) -> pa.Table:
        """`table` without the rows that have a reason (non-null), each counted under its reason;
        the first rows of a reason are kept as examples (id, and `messages[row]` or the reason)."""
        if isinstance(reasons, np.ndarray):
            reasons = pa.chunked_array([pa.array(reasons, type=pa.string(), from_pandas=True)])
        if reasons.null_count == len(reasons):
            return table
        bad = pc.is_valid(reasons)
        counted = pc.value_counts(reasons.filter(bad)).to_pylist()
        for item in counted:
            self.stats.dropped[item["values"]] += item["counts"]
        if any(self.stats.wants_example(item["values"]) for item in counted):
            self._note_examples(table["id"], reasons, messages or {})
        return table.filter(pc.invert(bad))

    def _note_examples(self, ids: pa.ChunkedArray, reasons, messages: dict[int, str]) -> None:
        for row, reason in enumerate(reasons.to_pylist()):
            if reason is not None and self.stats.wants_example(reason):
                self.stats.note_drop(reason, ids[row].as_py(), messages.get(row, reason))

    def _duplicate(self, table: pa.Table) -> pa.Table:
        copies = self.entry.sampling.dup_factor
        self.stats.rows += len(table) * copies
        if copies == 1 or not len(table):
            return table
        self.stats.dup_added += len(table) * (copies - 1)
        repeated = table.take(pa.array(np.repeat(np.arange(len(table)), copies)))
        suffixes = pa.array([f"#{k}" for k in range(copies)], pa.string())
        suffix = suffixes.take(pa.array(np.tile(np.arange(copies), len(table))))
        ids = pc.binary_join_element_wise(repeated["id"], suffix, "")
        return repeated.set_column(repeated.schema.get_field_index("id"), "id", ids)
