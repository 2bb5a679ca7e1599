"""Build one stage: YAML -> per-entry builders -> interleave -> parquet shards, README, report."""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import datasets
from datasets.exceptions import DatasetGenerationError

from builders import builder_class_for
from hf_mixture.config.load import load_stage_config
from hf_mixture.config.model import EntryConfig, StageConfig
from hf_mixture.engines import Engine, open_engine
from hf_mixture.entry_checks import check_sources
from hf_mixture.errors import HfMixtureError, MixingError, SamplingError, SourceError
from hf_mixture.export.card import card_body
from hf_mixture.export.folder import save_stage_yaml
from hf_mixture.export.hub_folder import WrittenStage, write_stage
from hf_mixture.export.readme_update import rebuild_readme, withdraw_sizes
from hf_mixture.export.remote_out import RemoteFolder, is_remote, publish_stage
from hf_mixture.export.report import format_examples, format_report, write_report
from hf_mixture.media.http_policy import MediaBudget
from hf_mixture.mixing.interleave import mix_entries, rows_per_entry
from hf_mixture.mixing.probabilities import default_stopping_strategy, group_table
from hf_mixture.redact import redact
from hf_mixture.schema import FEATURES
from hf_mixture.stats import EntryStats

logger = logging.getLogger(__name__)
DEFAULT_OUT = "out/mixture"
# Arrow cache record batches as large as the tables the pipeline yields (datasets caps image
# datasets at 100 rows): opening a cache of N 100-row batches costs ~0.13 kB of objects and a
# page-cache fault-around per batch (~69 MB and ~290 MB of RSS at 531k rows); the bytes written
# are the same (benchmarks/README.md, d).
ENTRY_RECORD_BATCH_ROWS = 1_000_000
ENTRY_TABLE_BYTES = 16 * 1024**2  # entry rows reach the Arrow cache in tables of about this size


@dataclass(frozen=True)
class BuildResult:
    """What a build wrote and its accounting."""

    stage: str
    out_dir: Path | str  # the URL for a remote --out (whose written files were local, now removed)
    written: WrittenStage
    entries: tuple[EntryStats, ...]
    report_path: Path
    report_text: str


def build_stage(
    config: str | Path | StageConfig,
    out_dir: str | Path = DEFAULT_OUT,
    *,
    overrides: dict | None = None,
    strict: bool = False,
    work_dir: str | Path | None = None,
    engine: str | Engine = "local",
    address: str | None = None,
    echo=print,
) -> BuildResult:
    """Build the stage a YAML file describes into `out_dir` (a folder in the Hub layout); `engine`
    builds each entry's rows (`local`, or `ray` on the Ray cluster at `address`: hf_mixture/engines/),
    the mixing and writing after it are the same for every engine."""
    if not isinstance(config, StageConfig):
        config = load_stage_config(config, strict=strict, overrides=overrides)
    if is_remote(out_dir):
        return _build_to_remote(
            config, str(out_dir), work_dir=work_dir, engine=engine, address=address, echo=echo
        )
    check_sources(config, echo)  # every entry's source-level config checks, before any is built
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    settings = config.settings
    with (
        tempfile.TemporaryDirectory(prefix="hf-mixture-", dir=work_dir) as cache,
        open_engine(engine, address) as engine_build_entry,
    ):
        parts, stats = _build_entries(config, cache, engine_build_entry, echo)
        mixed, strategy = _mix(config, parts, stats)
        row_bytes = sum(map(_arrow_bytes, parts)) / max(1, sum(len(p) for p in parts))
        written = write_stage(
            mixed,
            out_dir,
            settings.name,
            row_bytes=row_bytes,
            num_shards=settings.num_shards,
            before_publish=lambda: withdraw_sizes(out_dir, settings.name),
        )
    summary = _summary(config, strategy, written, stats)
    path = write_report(out_dir, settings.name, summary, stats)
    save_stage_yaml(out_dir, settings.name, config.text)
    rebuild_readme(out_dir, body=card_body(out_dir))
    text = format_report(summary, stats)
    echo(text)
    examples = format_examples(stats)
    if examples:
        logger.info(examples)  # shown with -v; also in build_report.json under each entry's `examples`
    return BuildResult(settings.name, out_dir, written, tuple(stats), path, text)


def _build_to_remote(config: StageConfig, url: str, *, work_dir, engine, address, echo) -> BuildResult:
    """Build into a local folder under `work_dir`, then publish the stage to the fsspec URL `url`
    (hf_mixture/export/remote_out.py); options for it: the stage's `storage_options[<scheme>]`."""
    scheme = url.split("://", 1)[0]
    remote = RemoteFolder(url, config.settings.storage_options.get(scheme, {}))
    remote.key()  # an unusable URL or a missing fsspec driver fails here, before any work
    with tempfile.TemporaryDirectory(prefix="hf-mixture-out-", dir=work_dir) as local:
        result = build_stage(config, local, work_dir=work_dir, engine=engine, address=address, echo=echo)
        publish_stage(remote, local, config.settings.name)
    echo(f"published stage {config.settings.name} to {url}")
    return BuildResult(
        result.stage, url, result.written, result.entries, result.report_path, result.report_text
    )


def _build_entries(
    config: StageConfig, cache: str, engine_build_entry, echo
) -> tuple[list, list[EntryStats]]:
    """Every entry's rows (map-style Datasets in `cache`) and counts, built by the engine."""
    budget = MediaBudget(config.settings.media_budget_seconds)  # one time budget for the whole build
    parts, stats = [], []
    for position, entry in enumerate(config.entries, 1):
        echo(f"[{position}/{len(config.entries)}] {entry.name}: {entry.json_path} ({entry.sampling.text})")
        dataset, entry_stats = engine_build_entry(config, entry, cache, media_budget=budget)
        parts.append(dataset)
        stats.append(entry_stats)
    return parts, stats


def _arrow_bytes(part: datasets.Dataset) -> int:
    """The size of an entry's Arrow data, from its cache files (reading `Table.nbytes` of a
    memory-mapped table would page the whole cache in); in-memory parts are measured directly."""
    files = [f["filename"] for f in part.cache_files]
    return sum(os.path.getsize(f) for f in files) if files else part.data.nbytes


def _mix(config: StageConfig, parts: list, stats: list[EntryStats]) -> tuple[datasets.Dataset, str]:
    """The interleaved stage and the stopping strategy used; each entry's written rows and shares
    are recorded in `stats`."""
    settings = config.settings
    strategy = settings.stopping_strategy or default_stopping_strategy(config.grouped)
    try:
        mixed, probabilities = mix_entries(
            parts,
            [e.name for e in config.entries],
            [e.length_group for e in config.entries],
            weights=config.weights,
            batch_sizes=config.batch_sizes,
            batch_size=settings.batch_size,
            seed=settings.seed,
            stopping_strategy=strategy,
            num_samples=settings.num_samples,
            why_empty=[s.why_empty() for s in stats],
        )
    except MixingError as err:
        raise MixingError(f"{config.path}: {err}") from None
    if mixed is None:
        raise SourceError(_no_rows_message(config, stats))
    _account_mixing(mixed, stats, probabilities, parts)
    return mixed, strategy


def _summary(config: StageConfig, strategy: str, written: WrittenStage, stats: list[EntryStats]) -> dict:
    """The stage-level part of the build report; grouped stages add, per group, LaViDa-O's per-step
    probability and the row share those steps give (`mixing.probabilities.group_table`)."""
    settings = config.settings
    group_rows = {}
    for entry_stats in stats:
        group_rows[entry_stats.length_group] = group_rows.get(entry_stats.length_group, 0) + entry_stats.rows
    return {
        "stage": settings.name,
        "config": str(config.path),
        "seed": settings.seed,
        "stopping_strategy": strategy,
        "rows": written.num_examples,
        "num_shards": len(written.files),
        "grouped": config.grouped,
        "weights": config.weights,
        "batch_sizes": config.batch_sizes,
        "batch_size": settings.batch_size,
        "groups": group_table(group_rows, config.weights, config.batch_sizes, settings.batch_size)
        if config.grouped
        else {},
        "entry_settings": {e.key: e.row_settings() for e in config.entries},
        "image_check": settings.image_check,
        "warnings": [redact(w) for w in config.warnings],
    }


def build_entry(
    config: StageConfig, entry: EntryConfig, cache_dir: str, *, media_budget: MediaBudget | None = None
) -> tuple[datasets.Dataset, EntryStats]:
    """One entry's rows as a map-style Dataset (memory-mapped Arrow in `cache_dir`) and its counts;
    `media_budget` is the build's shared time budget for remote images."""
    builder = entry_builder(config, entry, cache_dir, media_budget=media_budget)
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
        return datasets.Dataset.from_dict({name: [] for name in FEATURES}, features=FEATURES), builder.stats
    return builder.as_dataset(split="train"), builder.stats


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


def _no_rows_message(config: StageConfig, stats: list[EntryStats]) -> str:
    """Why a stage has no rows: every entry's read count and drop reasons."""
    lines = [f"{config.path}: no entry kept any row, so stage {config.settings.name!r} cannot be written:"]
    for entry, entry_stats in zip(config.entries, stats):
        reasons = ", ".join(f"{r} {n}" for r, n in sorted(entry_stats.dropped.items()) if n) or "none"
        lines.append(f"  {entry.label}: read {entry_stats.read} rows; dropped: {reasons}")
        for reason, examples in sorted(entry_stats.examples.items()):
            lines.append(f"    e.g. {reason}: {examples[0]['id'] or '-'}: {examples[0]['message']}")
    return "\n".join(lines)


def _account_mixing(
    mixed: datasets.Dataset, stats: list[EntryStats], probabilities: list[float], parts: list
) -> None:
    counts = rows_per_entry(mixed, parts, [s.key for s in stats], probabilities=probabilities)
    for entry_stats, probability in zip(stats, probabilities):
        written = counts.get(entry_stats.key, 0)
        entry_stats.written = written
        entry_stats.expected_share = probability
        entry_stats.realised_share = written / len(mixed) if len(mixed) else 0.0
        if written > entry_stats.rows:
            entry_stats.mixing_added = written - entry_stats.rows
        elif written < entry_stats.rows:
            entry_stats.dropped["mixing:not_drawn"] += entry_stats.rows - written
            why = "its group's share is 0" if probability == 0 else "the stopping strategy or num_samples"
            entry_stats.note_drop(
                "mixing:not_drawn", None, f"the mix drew {written} of its {entry_stats.rows} rows ({why})"
            )
