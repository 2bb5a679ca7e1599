"""The local engine: each entry built in this process by its `datasets` builder (Arrow batches,
image threads, a decode process pool), into the builder's Arrow cache in the entry's folder."""

from __future__ import annotations

import contextlib
from pathlib import Path

import datasets
from datasets.exceptions import DatasetGenerationError

from builders import builder_class_for
from hf_mixture.config.model import EntryConfig, StageConfig
from hf_mixture.errors import HfMixtureError, SamplingError, SourceError
from hf_mixture.export.entry_files import EntryFiles, arrow_files
from hf_mixture.media.http_policy import MediaBudget
from hf_mixture.stats import EntryStats

# Arrow cache record batches as large as the tables the pipeline yields (datasets caps image
# datasets at 100 rows): opening a cache of N 100-row batches costs ~0.13 kB of objects and a
# page-cache fault-around per batch (~69 MB and ~290 MB of RSS at 531k rows); the bytes written
# are the same (benchmarks/README.md, d).
ENTRY_RECORD_BATCH_ROWS = 1_000_000
ENTRY_TABLE_BYTES = 16 * 1024**2  # entry rows reach the Arrow cache in tables of about this size


class LocalSession:
    """The local engine for one build: `build_entry` here, shard writes one after the other."""

    keeps_pieces = False  # an entry is built whole by its `datasets` builder
    pieces_reused: dict = {}

    def build_entry(
        self, config: StageConfig, entry: EntryConfig, folder: str, *, media_budget: MediaBudget | None = None
    ) -> tuple[EntryFiles, EntryStats]:
        return build_entry(config, entry, folder, media_budget=media_budget)

    def run(self, function, items: list) -> list:
        return [function(item) for item in items]


def build_entry(
    config: StageConfig, entry: EntryConfig, folder: str, *, media_budget: MediaBudget | None = None
) -> tuple[EntryFiles, EntryStats]:
    """One entry's rows (Arrow files of the builder's cache in `folder`) and its counts;
    `media_budget` is the build's shared time budget for remote images. SourceError or
    SamplingError naming the YAML file and the entry when its source cannot be read or sampled."""
    builder = entry_builder(config, entry, folder, media_budget=media_budget)
    try:
        with _own_progress_bar(builder):
            builder.download_and_prepare(download_mode=datasets.DownloadMode.FORCE_REDOWNLOAD)
    except DatasetGenerationError as err:  # `datasets` wraps our errors; give back the one that says why
        cause = err.__cause__
        if isinstance(cause, (SamplingError, SourceError)):
            raise type(cause)(f"{config.path}: {entry.label}: {cause}") from cause
        if isinstance(cause, (HfMixtureError, OSError)):  # ours, or the machine's (disk full, ...)
            raise cause from None
        raise
    if builder.info.splits["train"].num_examples == 0:  # `datasets` cannot open a 0-row split
        return EntryFiles(str(folder), (), (), 0), builder.stats
    files = [f["filename"] for f in builder.as_dataset(split="train").cache_files]
    return arrow_files(Path(folder), files), builder.stats


@contextlib.contextmanager
def _own_progress_bar(builder):
    """While `builder` prepares, show its per-entry bar instead of `datasets`' generic one."""
    shown = not datasets.utils.are_progress_bars_disabled()
    builder.config.progress = shown
    datasets.disable_progress_bars()
    try:
        yield
    finally:
        if shown:
            datasets.enable_progress_bars()


def entry_builder(
    config: StageConfig, entry: EntryConfig, cache_dir: str, *, media_budget: MediaBudget | None = None
):
    """The `datasets` builder of `entry` (its `builder:` class), caching in `cache_dir`."""
    return builder_class_for(entry)(
        cache_dir=cache_dir,
        dataset_name=entry.key.replace("~", "_"),
        config_name=f"entry-{entry.index}",
        entry=entry,
        settings=config.settings,
        yaml_dir=str(config.path.absolute().parent),
        media_budget=media_budget,
        writer_batch_size=ENTRY_RECORD_BATCH_ROWS,
        coalesce_bytes=ENTRY_TABLE_BYTES,
    )
