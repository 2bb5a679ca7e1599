"""Config checks that need the entries' sources, so `check` finds everything `build` would stop on,
and `build` stops before it builds any entry (not after the earlier entries were built):

- `random:N` above the rows that pass the filters: a counting pass over the filter columns of
  each entry with an absolute `random:N` (the only strategy that cannot clamp);
- image references whose scheme needs a package that is not installed (e.g. `s3://` without
  s3fs): the first PROBE_ROWS rows of each entry are turned into records (no image is read) and
  the scheme of every reference is checked.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable

import numpy as np
import pyarrow as pa

from hf_mixture.config.load import image_driver_problem
from hf_mixture.config.model import EntryConfig, StageConfig
from hf_mixture.config.yaml_source import read_yaml
from hf_mixture.engines.local import entry_builder
from hf_mixture.errors import ConfigError, HfMixtureError, SamplingError, SourceError
from hf_mixture.media.images import MediaError
from hf_mixture.pipeline import EntryPipeline, entry_filters, entry_selection
from hf_mixture.sampling import Selection

PROBE_ROWS = 64  # rows of each entry whose image references are checked before building


def needs_count_check(entry: EntryConfig) -> bool:
    """Whether `entry`'s sampling strategy can fail on the filtered row count (`random:N`)."""
    return entry.sampling.kind == "random" and entry.sampling.percent is None


def check_sources(config: StageConfig, echo: Callable[[str], None] = print) -> None:
    """ConfigError listing every entry whose `random:N` asks for more rows than pass its filters,
    or whose first image references need a missing package; `echo` says what is read."""
    counted = [e.name for e in config.entries if needs_count_check(e)]
    if counted:
        echo(f"counting the filtered rows of {', '.join(counted)} (random:N needs the count)")
    problems = []
    with tempfile.TemporaryDirectory(prefix="hf-mixture-check-") as cache:
        for entry in config.entries:
            builder = entry_builder(config, entry, cache)
            if needs_count_check(entry):
                problems += _sampling_problems(config, entry, builder)
            problems += _reference_problems(config, entry, builder)
    if problems:
        raise ConfigError(problems, str(config.path))


def _where(config: StageConfig, entry: EntryConfig, key: str) -> str:
    try:
        line = read_yaml(config.path).line_of(("datasets", entry.index, key))
    except (ConfigError, OSError):
        line = None
    return f"{config.path}:{line}" if line else str(config.path)


def _sampling_problems(config: StageConfig, entry: EntryConfig, builder) -> list[str]:
    filters = entry_filters(entry, builder.loaded_columns())
    try:
        entry_selection(entry, config.settings, filters, builder.source_tables, builder.metadata_row_count)
    except SamplingError as err:
        return [f"{_where(config, entry, 'sampling_strategy')}: {entry.label}: sampling_strategy: {err}"]
    except SourceError as err:  # the counting pass met a file that cannot be read
        return [f"{_where(config, entry, 'json_path')}: {entry.label}: json_path: {err}"]
    finally:
        builder.take_reader_drops()
    return []


def _reference_problems(config: StageConfig, entry: EntryConfig, builder) -> list[str]:
    """Missing packages for the schemes of the image references of the entry's first rows."""
    references = _first_references(config, entry, builder)
    fetcher = builder.fetcher()
    found: dict[str, str] = {}
    for ref in references:
        try:
            location = fetcher.location(ref)
        except MediaError:  # refused or unusable references are counted by the build
            continue
        missing = image_driver_problem(fetcher.storage, location)
        if missing and missing not in found:
            found[missing] = ref
    return [
        f"{_where(config, entry, 'json_path')}: {entry.label}: images such as {ref!r}: {missing}"
        for missing, ref in found.items()
    ]


def _first_references(config: StageConfig, entry: EntryConfig, builder) -> list[str]:
    """The image references of the entry's first PROBE_ROWS source rows (empty when they cannot
    be made: the build then counts those rows by reason, as it does for any row)."""
    try:
        table = next(iter(builder.source_tables(entry.columns)), None)
        if table is None or not len(table):
            return []
        rows = table.slice(0, PROBE_ROWS)
        filters = entry_filters(entry, builder.loaded_columns())
        pipeline = EntryPipeline(
            entry,
            config.settings,
            builder.fetcher(),
            filters,
            Selection(0, len(rows)),
            builder.new_stats(filters),
            embed_media=False,
        )
        records = pipeline.records(rows, np.arange(len(rows)))
    except (HfMixtureError, OSError, ValueError, TypeError, KeyError, pa.ArrowException):
        return []
    finally:
        builder.take_reader_drops()
    cells = records["images"].to_pylist() + records["image_gen"].to_pylist()
    return [ref for refs in cells for ref in refs or [] if isinstance(ref, str)]
