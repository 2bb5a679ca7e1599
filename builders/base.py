"""The builder every source shares: a `datasets.ArrowBasedBuilder` over one YAML entry.

A source subclass says how to read its files (`source_tables`, `loaded_columns`); the base runs
the entry's filters, sampling, preprocess function, checks and image stage on what it reads.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import ClassVar

import datasets
import pyarrow as pa
from datasets.builder import Key
from tqdm.auto import tqdm

from hf_mixture.config.model import EntryConfig, StageSettings
from hf_mixture.media.fetch import ImageFetcher
from hf_mixture.media.http_policy import HttpPolicy, MediaBudget
from hf_mixture.pipeline import EntryPipeline, entry_filters, entry_selection
from hf_mixture.schema import FEATURES
from hf_mixture.stats import EntryStats
from hf_mixture.storage import Storage, is_remote


@dataclass
class EntryBuilderConfig(datasets.BuilderConfig):
    """A builder config holding one YAML entry, its stage settings and the folder of the YAML file."""

    entry: EntryConfig | None = None
    settings: StageSettings | None = None
    yaml_dir: str = "."
    progress: bool = True  # a progress bar named after the entry, counting source rows
    coalesce_bytes: int = 0  # > 0: join output tables to about this size (map-style builds)
    media_budget: MediaBudget | None = None  # shared by all entries of a build (stage.media_budget_seconds)


class EntryBuilder(datasets.ArrowBasedBuilder):
    """Builds one entry's rows; `stats` holds the counts of the last run."""

    BUILDER_CONFIG_CLASS = EntryBuilderConfig
    # How `--engine ray` may cut the entry into pieces read in parallel (hf_mixture/engines/pieces.py):
    # "none" (read whole), "files" (each file read alone gives its rows), "row_groups" (and parquet
    # files at row groups). A builder that joins files (pairs, metadata next to archives) says "none".
    PIECES: ClassVar[str] = "none"

    def _info(self) -> datasets.DatasetInfo:
        return datasets.DatasetInfo(features=FEATURES, description="hf-mixture unified rows")

    def _split_generators(self, dl_manager) -> list[datasets.SplitGenerator]:
        return [datasets.SplitGenerator(name=datasets.Split.TRAIN, gen_kwargs={})]

    @property
    def entry(self) -> EntryConfig:
        return self.config.entry

    @property
    def storage(self) -> Storage:
        """Resolves this entry's paths against the YAML file's folder and the path mappings."""
        s = self.config.settings
        return Storage(
            base_dir=os.path.abspath(self.config.yaml_dir),
            mappings=s.path_mappings,
            storage_options=s.storage_options,
            allowed_schemes=s.allowed_schemes,
        )

    def source_tables(self, columns: Sequence[str] | None = None) -> Iterator[pa.Table]:
        """The entry's source rows in order, as Arrow tables (only `columns` when given)."""
        raise NotImplementedError

    def loaded_columns(self) -> list[str]:
        """The columns `source_tables()` yields."""
        raise NotImplementedError

    def metadata_row_count(self) -> int | None:
        """The source's row count when known without reading rows (e.g. parquet footers)."""
        return None

    def fetcher(self) -> ImageFetcher:
        """Reads images: relative references from `image_root` (default: the YAML file's folder)."""
        storage = self.storage
        root = storage.resolve(self.entry.image_root) if self.entry.image_root else str(storage.base_dir)
        local_targets = [m.target for m in storage.mappings if not is_remote(m.target)]
        settings = self.config.settings
        budget = self.config.media_budget or MediaBudget(settings.media_budget_seconds)
        return ImageFetcher(
            storage, root, [root, *local_targets], policy=HttpPolicy.from_settings(settings), budget=budget
        )

    def new_stats(self, filters) -> EntryStats:
        entry = self.entry
        return EntryStats(
            index=entry.index,
            name=entry.name,
            key=entry.key,
            length_group=entry.length_group,
            preprocess_fn=entry.preprocess_fn,
            sampling_strategy=entry.sampling.text,
            filters=[f.description for f in filters],
        )

    def _generate_tables(self) -> Iterator[tuple[Key, pa.Table]]:
        filters = entry_filters(self.entry, self.loaded_columns())
        self.stats = self.new_stats(filters)
        self.take_reader_drops()  # start from zero
        selection = entry_selection(
            self.entry, self.config.settings, filters, self.source_tables, self.metadata_row_count
        )
        self.take_reader_drops()  # rows a counting pass skipped are skipped (and counted) again below
        pipeline = EntryPipeline(
            self.entry, self.config.settings, self.fetcher(), filters, selection, self.stats
        )
        tables = self._with_progress(self.source_tables(self.entry.columns))
        rows = pipeline.run(tables)
        if self.config.coalesce_bytes:
            rows = coalesced(rows, self.config.coalesce_bytes)
        for index, table in enumerate(rows):
            yield Key(0, index), table
        self._count_reader_drops()

    def _with_progress(self, tables: Iterator[pa.Table]) -> Iterator[pa.Table]:
        """`tables`, advancing a progress bar named after the entry by the source rows read."""
        with tqdm(
            desc=f"{self.entry.name}",
            unit=" rows",
            total=self.metadata_row_count(),
            disable=not self.config.progress,
        ) as bar:
            for table in tables:
                yield table
                bar.update(len(table))

    def _count_reader_drops(self) -> None:
        """Rows the source dropped before the pipeline saw them: read, and dropped by reason."""
        drops = self.take_reader_drops()
        self.stats.dropped.update(drops)
        self.stats.read += sum(drops.values())
        self.stats.add_examples(getattr(drops, "examples", {}))  # ReaderDrops (hf_mixture/stats.py)

    def take_reader_drops(self) -> dict:
        """Rows the source reader skipped since the last call, by reason (and forget them); a
        `ReaderDrops` also carries examples, added to the entry's report."""
        return {}


def coalesced(tables: Iterator[pa.Table], max_bytes: int) -> Iterator[pa.Table]:
    """`tables` joined into contiguous tables of about `max_bytes`: the entry's Arrow cache then
    holds a few large record batches instead of one per image chunk (each batch costs C++ objects
    when the cache is opened: ~30 bytes of memory per output row at 256-row chunks)."""
    pending: list[pa.Table] = []
    size = 0
    for table in tables:
        pending.append(table)
        size += table.nbytes
        if size >= max_bytes:
            yield pa.concat_tables(pending).combine_chunks()
            pending, size = [], 0
    if pending:
        yield pa.concat_tables(pending).combine_chunks()
