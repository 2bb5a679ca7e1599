"""Stream a stage straight from its sources with the YAML's weights applied at read time.

Edit `weights:` in the stage YAML and restart training: no rebuild. One builder per entry
(`builders.builder_class_for(entry)`) streams its rows through the same pipeline as a build
(filters, sampling, preprocess, checks, images), and `datasets.interleave_datasets` draws the
entries with `mixing.probabilities.entry_probabilities`.

Those probabilities need each entry's row count after filters and sampling. `entry_sizes` says
where they come from:
- `"count"` (default): a counting pass that streams every entry once through the pipeline (ids
  only, but images are still fetched, since a row whose image fails is dropped): exact, and costs
  one read of the sources before training starts;
- a path to a build folder (or its `build_report.json`): the `rows` a previous build of the same
  stage reported per entry, checked against the YAML: the report keeps each entry's
  `row_settings()` (files, json_path, columns, filters, sampling, preprocess, builder), and an
  entry where any of them changed since that build is an error naming the entry and the key;
- a mapping `{entry name: rows}`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import datasets
from datasets.distributed import split_dataset_by_node

from builders import builder_class_for
from hf_mixture.config.load import load_stage_config
from hf_mixture.config.model import EntryConfig, StageConfig
from hf_mixture.errors import HfMixtureError
from hf_mixture.export.report import REPORT_NAME
from hf_mixture.mixing.probabilities import default_stopping_strategy, entry_probabilities
from hf_mixture.streaming.loader import DEFAULT_SHUFFLE_BUFFER
from hf_mixture.streaming.stream import MixtureStream, new_stream
from hf_mixture.streaming.transforms import RowTransform

EntrySizes = str | Path | Mapping[str, int]


class EntrySizeError(HfMixtureError, ValueError):
    """Entry sizes for the probabilities are missing or do not match the YAML."""


def entry_stream(config: StageConfig, entry: EntryConfig, progress: bool = False) -> datasets.IterableDataset:
    """One entry's unified rows, streamed from its source files (no cache written); `progress`: a
    bar named after the entry each time it is read."""
    builder = builder_class_for(entry)(
        dataset_name=entry.key.replace("~", "_"),
        config_name=f"entry-{entry.index}",
        entry=entry,
        settings=config.settings,
        yaml_dir=str(config.path.absolute().parent),
        progress=progress,
    )
    return builder.as_streaming_dataset(split="train")


def count_rows(stream: datasets.IterableDataset) -> int:
    """Rows of a stream, read as Arrow batches of its `id` column."""
    ids = stream.select_columns(["id"]).with_format("arrow")
    return sum(len(batch) for batch in ids.iter(batch_size=10_000))


def resolve_entry_sizes(
    config: StageConfig, streams: list[datasets.IterableDataset], entry_sizes: EntrySizes
) -> list[int]:
    """One row count per entry, from a counting pass, a build report or a mapping (module doc)."""
    if isinstance(entry_sizes, str) and entry_sizes == "count":
        return [count_rows(stream) for stream in streams]
    if isinstance(entry_sizes, Mapping):
        missing = [e.name for e in config.entries if e.name not in entry_sizes]
        if missing:
            raise EntrySizeError(
                f"entry_sizes has no count for {missing} of {config.path}; give every entry name, "
                "or use entry_sizes='count'"
            )
        return [int(entry_sizes[e.name]) for e in config.entries]
    return sizes_from_report(config, Path(entry_sizes))


def sizes_from_report(config: StageConfig, path: Path) -> list[int]:
    """Each entry's `rows` from the build report at `path` (a file, or a build folder holding
    `<stage>/build_report.json`), after checking the entry still reads the same rows."""
    report_file = path if path.is_file() else path / config.settings.name / REPORT_NAME
    if not report_file.is_file():
        raise EntrySizeError(
            f"no build report at {report_file}: build stage {config.settings.name!r} into {path} first "
            "(`hf-mixture build <stage.yaml> --out <folder>`), or use entry_sizes='count'"
        )
    report = json.loads(report_file.read_text(encoding="utf-8"))
    reported = {e["key"]: e for e in report["entries"]}
    sizes, problems = [], []
    if report.get("image_check", config.settings.image_check) != config.settings.image_check:
        problems.append(
            f"stage.image_check is {config.settings.image_check!r}, the report's build used "
            f"{report['image_check']!r} (it decides which images are dropped)"
        )
    for entry in config.entries:
        item = reported.get(entry.key)
        if item is None:
            problems.append(f"{entry.label}: not in the report")
            continue
        problems += [f"{entry.label}: {change}" for change in _changes(entry, item, report)]
        sizes.append(int(item["rows"]))
    if problems:
        raise EntrySizeError(
            f"{report_file} does not describe {config.path} any more:\n  - "
            + "\n  - ".join(problems)
            + "\nRebuild the stage, or use entry_sizes='count'"
        )
    return sizes


def _changes(entry: EntryConfig, item: dict, report: dict) -> list[str]:
    """How `entry` differs from what the report's build read (`entry_settings`, written since
    reports keep them; older reports: sampling and preprocess function only)."""
    built = (report.get("entry_settings") or {}).get(entry.key)
    if built is None:
        built = {key: item.get(key) for key in ("sampling_strategy", "preprocess_fn")}
    now = entry.row_settings()
    return [
        f"{key} is {now.get(key)!r}, the report's build used {built.get(key)!r}"
        for key in built
        if built.get(key) != now.get(key)
    ]


def stream_stage(
    config: str | Path | StageConfig,
    *,
    weights: Mapping[str, float] | None = None,
    entry_sizes: EntrySizes = "count",
    stopping_strategy: str | None = None,
    infinite: bool = False,
    seed: int | None = None,
    rank: int = 0,
    world_size: int = 1,
    shuffle_buffer: int = DEFAULT_SHUFFLE_BUFFER,
    epoch: int = 0,
    transform: RowTransform | None = None,
    decode: bool = True,
    overrides: dict | None = None,
    progress: bool = False,
) -> MixtureStream:
    """The stage of a YAML file streamed from its sources, entries drawn with the YAML's
    `weights:` (or `weights` given here) at read time.

    `infinite=True` repeats every entry forever (LaViDa-O's sampler: the weights hold at any
    horizon; bound the training by steps); otherwise `stopping_strategy` (default: the stage's, or
    `all_exhausted` with weights / `all_exhausted_without_replacement` without) ends the stream.
    Each entry is one shard, so with `world_size > 1` every rank reads every row and keeps every
    `world_size`-th one (`split_dataset_by_node` by examples): correct, but each rank pays the
    whole read. Build the stage for production runs. `progress=True` shows a bar per entry each time
    it is read (the counting pass, then every pass of the mix); off by default, so a training loop's
    output is its own."""
    if not isinstance(config, StageConfig):
        config = load_stage_config(config, overrides=overrides)
    streams = [entry_stream(config, entry, progress) for entry in config.entries]
    sizes = resolve_entry_sizes(config, streams, entry_sizes)
    group_weights = dict(config.weights if weights is None else weights)
    probabilities = entry_probabilities(
        [e.length_group for e in config.entries],
        sizes,
        group_weights,
        config.batch_sizes,
        config.settings.batch_size,
    )
    kept = [i for i, p in enumerate(probabilities) if p > 0]
    if not kept:
        raise EntrySizeError(f"{config.path}: no entry has rows (sizes {sizes}); nothing to stream")
    seed = config.settings.seed if seed is None else seed
    parts = [streams[i].repeat(None) if infinite else streams[i] for i in kept]
    strategy = (
        "first_exhausted"
        if infinite
        else (
            stopping_strategy
            or config.settings.stopping_strategy
            or default_stopping_strategy(bool(group_weights))
        )
    )
    mixed = (
        parts[0]
        if len(parts) == 1
        else datasets.interleave_datasets(
            parts, probabilities=[probabilities[i] for i in kept], seed=seed, stopping_strategy=strategy
        )
    )
    if world_size > 1:
        mixed = split_dataset_by_node(mixed, rank=rank, world_size=world_size, strategy="examples")
    stream = new_stream(
        mixed,
        seed=seed,
        shuffle_buffer=shuffle_buffer,
        transform=transform,
        decode=decode,
        rank=rank,
        epoch=epoch,
    )
    stream.entry_probabilities = {config.entries[i].name: probabilities[i] for i in range(len(sizes))}
    stream.entry_sizes = {e.name: n for e, n in zip(config.entries, sizes)}
    return stream
