"""The Ray Data engine: one entry's rows built on a Ray cluster by the local build's own steps.

Per entry (the driver plans, Ray Data runs):

1. pieces (`pieces.py`): row groups of parquet files (offsets from the footers), other files whole;
2. a counting pass when the sampling strategy needs filtered positions or their total, or a
   piece's start is unknown: one Ray read task per piece returns (rows, rows passing the filters);
3. the selection (`plan_selection`, seeded as in the local build) is put in the object store once;
4. the dataset: read tasks (a Datasource, one per piece) read the piece and run
   `EntryPipeline.select` (filters + sampling over global filtered positions) -> `map_batches`
   tasks run `EntryPipeline.records` (preprocess, `<image>` tokens, invariants) -> a streaming
   repartition into `MEDIA_CHUNK_ROWS`-row blocks -> `map_batches` tasks (at most one per cluster
   CPU) run `EntryPipeline.media` (image fetch + check + resize, then `dup:K`); Ray Data's
   streaming executor bounds the blocks in flight (backpressure), `preserve_order` keeps the order;
5. `write_parquet` into the entry's folder in the build's work folder; the files, ordered by
   their first row id (checked not to overlap), with their row counts (parquet footers) are the
   entry's `EntryFiles`: nothing is read back on the driver.

The shards are then written by one Ray task each (`run`, export/shards.py), reading their rows
from those files: the driver only plans.

Every task reports its counters (`EntryStats` fields, and the image step the rows' data size) to
a small actor (`tally.py`) keyed by its piece or batch, so a retried task overwrites rather than
adds; the driver sums them into the entry's stats. Tasks are retried by Ray when their worker dies
(`HF_MIXTURE_TEST_KILL_ONCE`, a marker path: the first image task and the first shard task of a
build kill their worker once, for the tests of that).
Reader drops (e.g. invalid JSON lines) are counted by the main pass only.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import shutil
import tempfile
import uuid
import warnings
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import ray
from ray.data import DataContext, Datasource, ReadTask
from ray.data.block import BlockMetadata

from hf_mixture.config.model import EntryConfig, StageConfig
from hf_mixture.engines import KILL_ONCE_ENV, EngineError
from hf_mixture.engines.local import entry_builder
from hf_mixture.engines.pieces import (
    PIECE_ROWS,
    Piece,
    PieceStart,
    needs_counting,
    piece_starts,
    plan_pieces,
    row_group_tables,
)
from hf_mixture.engines.tally import Tally, add_counts, report, stats_counts
from hf_mixture.errors import HfMixtureError, SamplingError, SourceError
from hf_mixture.export.entry_files import EntryFiles, data_bytes
from hf_mixture.export.hub_folder import _process_alive
from hf_mixture.filters import apply_filters
from hf_mixture.media.http_policy import MediaBudget
from hf_mixture.media.resize import use_libvips
from hf_mixture.pipeline import MEDIA_CHUNK_ROWS, EntryPipeline, entry_filters, needs_count, with_repairs
from hf_mixture.progress import progress_enabled
from hf_mixture.sampling import Selection, entry_seed, plan_selection
from hf_mixture.schema import FEATURES, REFERENCE_SCHEMA, source_row_id
from hf_mixture.sources.tables import parquet_file_for_streaming
from hf_mixture.stats import EntryStats, ReaderDrops

POSITION = "__hf_mixture_position"  # source row position of a selected row, until its id is made
SHARD_TASK_RETRIES = 3
GROUP_MANIFEST = "counts.json"


RAY_LOGGERS = ("ray", "ray.data", "ray.serve", "ray.train", "ray.tune")


def ray_log_level(verbose: bool) -> int:
    """Ray's log level: INFO with the command's -v, else ERROR (its INFO lines are execution plans
    and progress reports, its warnings tuning hints)."""
    return logging.INFO if verbose else logging.ERROR


@contextmanager
def ray_logs(verbose: bool) -> Iterator[None]:
    """While open, Ray's loggers at `ray_log_level(verbose)` and, unless verbose, its Python
    warnings (tuning hints such as concurrency limits) not shown; both restored after."""
    loggers = [logging.getLogger(name) for name in RAY_LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(ray_log_level(verbose))
    with warnings.catch_warnings():
        if not verbose:
            warnings.filterwarnings("ignore", module=r"ray(\..*)?$")
        try:
            yield
        finally:
            for logger, level in zip(loggers, levels):
                logger.setLevel(level)


class RayEngine:
    """Builds entries with Ray Data.

    Args:
        address: the Ray cluster (`ray.init(address=...)`); None: RAY_ADDRESS when set, else a new
            local Ray on this machine. Ignored when Ray is already initialised in this process.
        piece_rows: rows per read piece of a parquet file (whole row groups).
        media_tasks: the most image tasks at once (default: the cluster's CPUs).
        group_pieces: pieces run (and kept, for a re-run to reuse) together (default: 4 per
            cluster CPU).
    """

    keeps_pieces = True  # the entry folder outlives a failed build: finished piece groups are reused

    def __init__(
        self,
        address: str | None = None,
        *,
        piece_rows: int = PIECE_ROWS,
        media_tasks: int | None = None,
        group_pieces: int | None = None,
    ):
        self.address, self.piece_rows, self.media_tasks = address, piece_rows, media_tasks
        self.group_pieces = group_pieces
        self.pieces_reused: dict[str, tuple[int, int]] = {}

    @contextmanager
    def session(self) -> Iterator:
        """This engine (`build_entry`, `run`) with Ray initialised (and shut down after, if started
        here) and Ray Data keeping the order of rows; Ray's logs quiet (`ray_logs`) and its progress
        bars shown only when progress is on (`hf_mixture.progress`)."""
        with ray_logs(verbose=logging.getLogger().isEnabledFor(logging.INFO)):
            yield from self._session()

    def _session(self) -> Iterator:
        started = not ray.is_initialized()
        if started:
            verbose = logging.getLogger().isEnabledFor(logging.INFO)
            try:
                ray.init(address=self.address, log_to_driver=verbose, logging_level=ray_log_level(verbose))
            except (ConnectionError, ValueError, RuntimeError) as err:
                where = self.address or os.environ.get("RAY_ADDRESS") or "a new local Ray"
                raise EngineError(
                    f"cannot start or reach the Ray cluster at {where} ({err}); start it with "
                    "`ray start --head` or pass --address HOST:6379 (see docs/cluster.md)"
                ) from err
        context = DataContext.get_current()
        options = context.execution_options
        previous, options.preserve_order = options.preserve_order, True
        previous_bars, context.enable_progress_bars = context.enable_progress_bars, progress_enabled()
        self._tally = Tally.remote()
        self._kill_once = os.environ.get(KILL_ONCE_ENV)
        try:
            yield self
        finally:
            options.preserve_order, context.enable_progress_bars = previous, previous_bars
            ray.kill(self._tally)
            if started:
                ray.shutdown()

    def run(self, function, items: list) -> list:
        """`function(item)` for each item, one Ray task each (retried if its worker dies)."""
        task = ray.remote(_run_task).options(max_retries=SHARD_TASK_RETRIES)
        return ray.get([task.remote(function, item, self._kill_once) for item in items])

    def build_entry(
        self,
        config: StageConfig,
        entry: EntryConfig,
        folder: str,
        *,
        media_budget: MediaBudget | None = None,
    ) -> tuple[EntryFiles, EntryStats]:
        """One entry's rows as parquet files in `folder` (which the cluster's workers must be able
        to write: a shared filesystem on a multi-node cluster) and its counts. `media_budget` is
        not shared with the workers: each worker process has its own."""
        builder = entry_builder(config, entry, folder, media_budget=media_budget)
        spec = EntrySpec(config, entry, tuple(builder.loaded_columns()), kill_once=self._kill_once)
        filters = spec.filters()
        stats = builder.new_stats(filters)
        try:
            pieces = plan_pieces(entry, builder.storage, builder.PIECES, self.piece_rows)
            counts = _count_pieces(spec, pieces) if needs_counting(entry, pieces, filters) else None
            starts, total = piece_starts(pieces, counts)
            n_rows = total if needs_count(entry) else 2**62
            selection = plan_selection(entry.sampling, n_rows, entry_seed(config.settings.seed, entry.name))
            parts = self._run_groups(spec, pieces, starts, selection, Path(folder))
        except Exception as err:  # noqa: BLE001 - give back our error (naming the entry), not Ray's wrapper
            ours = _entry_error(config, entry, err)
            if ours is err:
                raise
            raise ours from None
        for part in parts:
            add_counts(stats, part)
        files = ordered_files(Path(folder), entry.key, sum(p["data_bytes"] for p in parts))
        if files.num_rows != stats.rows:
            raise EngineError(
                f"{config.path}: {entry.label}: the Ray build wrote {files.num_rows} rows but its tasks "
                f"reported {stats.rows}; a task's counts were lost (rerun; report it if it repeats)"
            )
        return files, stats

    def _run_groups(self, spec: EntrySpec, pieces, starts, selection: Selection, folder: Path) -> list[dict]:
        """Run the pieces a group at a time, each group into `folder/pieces-<rows>-<first>-<last>/`
        (renamed into place with its counts when complete); a group already there (a build that
        failed or was killed after it) is reused. The counters of each group."""
        size = self.group_pieces or 4 * self._media_tasks()
        _remove_dead_groups(folder)
        summed, reused = [], 0
        for first in range(0, len(pieces), size):
            group = pieces[first : first + size]
            final = folder / f"pieces-{self.piece_rows}-{group[0].index:06d}-{group[-1].index:06d}"
            if (final / GROUP_MANIFEST).is_file():
                summed.append(json.loads((final / GROUP_MANIFEST).read_text(encoding="utf-8")))
                reused += 1
                continue
            work = folder / f"{final.name}.tmp-{os.getpid()}"
            shutil.rmtree(work, ignore_errors=True)
            counts = _summed_counts(spec, self._run(spec, group, starts, selection, work))
            work.mkdir(parents=True, exist_ok=True)  # Ray writes no folder for a group without rows
            (work / GROUP_MANIFEST).write_text(json.dumps(counts), encoding="utf-8")
            shutil.rmtree(final, ignore_errors=True)
            os.replace(work, final)
            summed.append(counts)
        self.pieces_reused[spec.entry.name] = (reused, len(summed))
        return summed

    def _run(self, spec: EntrySpec, pieces, starts, selection: Selection, out: Path) -> list[dict]:
        """Run the entry's dataset into parquet files in `out`; the counters of every task."""
        tally = self._tally
        try:
            source = PieceSource(
                pieces, functools.partial(_select_piece, spec, ray.put(selection), tally), starts
            )
            dataset = ray.data.read_datasource(source, override_num_blocks=len(pieces))  # no re-splitting
            dataset = dataset.map_batches(
                _records_batch,
                fn_kwargs={"spec": spec, "tally": tally},
                batch_format="pyarrow",
                batch_size=None,
            )
            # one image batch a block, so that the image step runs on as many CPUs as there are batches
            dataset = dataset.repartition(target_num_rows_per_block=MEDIA_CHUNK_ROWS)
            dataset = dataset.map_batches(
                _media_batch,
                fn_kwargs={"spec": spec, "tally": tally},
                batch_format="pyarrow",
                batch_size=MEDIA_CHUNK_ROWS,
                compute=ray.data.TaskPoolStrategy(size=self._media_tasks()),
            )
            dataset.write_parquet(str(out))
        finally:
            parts = ray.get(tally.take.remote(spec.token))
        return parts

    def _media_tasks(self) -> int:
        return self.media_tasks or max(1, int(ray.cluster_resources().get("CPU", 1)))


@dataclass(frozen=True)
class EntrySpec:
    """What a worker needs to run an entry's steps (small; pickled into every task)."""

    config: StageConfig
    entry: EntryConfig
    loaded_columns: tuple[str, ...]
    token: str = field(default_factory=lambda: uuid.uuid4().hex)  # one entry of one build
    kill_once: str | None = None  # tests: see KILL_ONCE_ENV

    def filters(self) -> list:
        """The entry's filters, as the local build makes them."""
        return entry_filters(self.entry, self.loaded_columns)

    def blank_stats(self) -> EntryStats:
        """Empty counters for one task."""
        e = self.entry
        return EntryStats(e.index, e.name, e.key, e.length_group, e.preprocess_fn, e.sampling.text)

    def builder(self, files: tuple[str, ...]):
        """The entry's builder over `files` (a piece's files, or all of them)."""
        return entry_builder(self.config, replace(self.entry, files=files), _worker_cache())

    def pipeline(self, stats: EntryStats, selection: Selection | None = None, fetcher=None) -> EntryPipeline:
        """The local build's pipeline with `stats`; a step that does not select or fetch images
        passes no selection or fetcher. Images are decoded in the task's threads (one CPU each)."""
        settings = self.config.settings
        return EntryPipeline(
            self.entry, settings, fetcher, self.filters(), selection, stats, decode_processes=1
        )


class PieceSource(Datasource):
    """A Ray Data source with one read task per piece, in piece order; `read(piece, start)` yields
    the piece's blocks."""

    def __init__(self, pieces: list[Piece], read, starts: list[PieceStart] | None = None):
        super().__init__()
        self.pieces, self.read, self.starts = pieces, read, starts

    def estimate_inmemory_data_size(self) -> int | None:
        return None

    def get_read_tasks(self, parallelism: int, per_task_row_limit=None, data_context=None) -> list[ReadTask]:
        tasks = []
        for piece in self.pieces:
            start = self.starts[piece.index] if self.starts is not None else None
            metadata = BlockMetadata(num_rows=None, size_bytes=None, exec_stats=None, input_files=piece.files)
            tasks.append(ReadTask(functools.partial(self.read, piece, start), metadata))
        return tasks


def _count_pieces(spec: EntrySpec, pieces: list[Piece]) -> dict[int, tuple[int, int]]:
    """Piece index -> (rows, rows passing the filters), read with only the filter columns."""
    source = PieceSource(pieces, functools.partial(_count_piece, spec))
    rows = ray.data.read_datasource(source, override_num_blocks=len(pieces)).take_all()
    return {int(r["piece"]): (int(r["rows"]), int(r["passing"])) for r in rows}


def _count_piece(spec: EntrySpec, piece: Piece, start) -> Iterator[pa.Table]:
    filters = spec.filters()
    rows = passing = 0
    if piece.rows is not None and not filters:
        rows = passing = piece.rows
    else:
        needed = sorted({c for f in filters for c in f.columns}) or None
        reader_drops = ReaderDrops()
        for table in _piece_tables(spec, piece, needed, reader_drops):
            rows += len(table)
            passing += (
                int(np.count_nonzero(apply_filters(table, filters, Counter()))) if filters else len(table)
            )
        rows += sum(reader_drops.values())  # source positions count the records the reader dropped
    yield pa.table({"piece": [piece.index], "rows": [rows], "passing": [passing]})


def _select_piece(
    spec: EntrySpec, selection_ref, tally, piece: Piece, start: PieceStart
) -> Iterator[pa.Table]:
    """The piece's selected rows with their source positions (`EntryPipeline.selected`, as a local
    build selects)."""
    stats = spec.blank_stats()
    pipeline = spec.pipeline(stats, ray.get(selection_ref))
    reader_drops = ReaderDrops()
    tables = _piece_tables(spec, piece, spec.entry.columns, reader_drops)
    for rows, positions in pipeline.selected(tables, start.position, start.filtered):
        yield rows.append_column(POSITION, pa.array(positions, pa.int64()))
    stats.dropped.update(reader_drops)
    stats.read += sum(reader_drops.values())
    stats.add_examples(_rebased_examples(reader_drops.examples, spec.entry.key, start.position))
    report(tally, (spec.token, "select", piece.index), stats)


def _rebased_examples(examples: dict, key: str, offset: int) -> dict:
    """A piece's reader-drop examples with the row ids a builder gave (`<key>/<position in the
    piece>`, its builder numbers from 0) moved to source positions (`offset`: the piece's first
    source position), as a local build names them; `<file>:<position>` ids stay as they are."""
    prefix = f"{key}/"

    def rebased(example: dict) -> dict:
        row = str(example.get("id") or "")
        if not (row.startswith(prefix) and row[len(prefix) :].isdigit()):
            return example
        return {**example, "id": f"{prefix}{int(row[len(prefix):]) + offset}"}

    return {reason: [rebased(example) for example in listed] for reason, listed in examples.items()}


def _piece_tables(spec: EntrySpec, piece: Piece, columns, reader_drops: ReaderDrops) -> Iterator[pa.Table]:
    """A piece's source tables (`columns` only); rows the reader dropped are added to `reader_drops`."""
    if piece.row_groups is not None:
        yield from row_group_tables(spec.builder(piece.files).storage, piece, columns)
        return
    builder = spec.builder(piece.files)
    yield from builder.source_tables(columns)
    reader_drops.add(builder.take_reader_drops())  # the builders' per-pass drop counts (builders/base.py)


def _records_batch(batch: pa.Table, spec: EntrySpec, tally) -> pa.Table:
    """`EntryPipeline.records` of one block of selected rows."""
    if not len(batch):
        return with_repairs(REFERENCE_SCHEMA.empty_table())  # as `records` returns them
    positions = batch[POSITION].to_numpy()
    stats = spec.blank_stats()
    records = spec.pipeline(stats).records(batch.drop_columns([POSITION]), positions)
    report(tally, (spec.token, "records", int(positions[0])), stats)
    return records


def _media_batch(batch: pa.Table, spec: EntrySpec, tally) -> pa.Table:
    """`EntryPipeline.media` (fetch, check, resize, embed, then `dup:K`) of a batch of records,
    with the worker process's fetcher and `image_workers` reading threads for this build."""
    if not len(batch):
        return FEATURES.arrow_schema.empty_table()
    _kill_worker_once(spec.kill_once, "media")
    fetcher, executor = _worker_media(spec)
    stats = spec.blank_stats()
    out = spec.pipeline(stats, fetcher=fetcher).media(batch, executor, None)
    report(tally, (spec.token, "media", batch["id"][0].as_py()), stats, data_bytes=data_bytes(out))
    return out


def _summed_counts(spec: EntrySpec, parts: list[dict]) -> dict:
    """The counters of a group's tasks added up (and the rows' data bytes)."""
    stats = spec.blank_stats()
    for part in parts:
        add_counts(stats, part)
    return {**stats_counts(stats), "data_bytes": sum(p.get("data_bytes", 0) for p in parts)}


def _remove_dead_groups(folder: Path) -> None:
    """Remove the unfinished group folders of builds whose process is gone."""
    for path in folder.glob("pieces-*.tmp-*"):
        if not _process_alive(int(path.name.rsplit("-", 1)[1])):
            shutil.rmtree(path, ignore_errors=True)


def _run_task(function, item, kill_once: str | None):
    _kill_worker_once(kill_once, "shard")
    return function(item)


def _kill_worker_once(marker: str | None, step: str) -> None:
    """Tests: end this worker process abruptly the first time a `step` task runs in a build that
    set KILL_ONCE_ENV (the marker file `<marker>.<step>` records that it happened)."""
    if marker and not os.path.exists(f"{marker}.{step}"):
        Path(f"{marker}.{step}").touch()
        os._exit(1)


_MEDIA: dict[str, tuple] = {}


def _worker_media(spec: EntrySpec) -> tuple:
    """This worker process's (fetcher, reading threads) of the build `spec` belongs to: made once,
    kept for the next batches (Ray reuses worker processes); those of an earlier build are closed."""
    if spec.token not in _MEDIA:
        for _, old_executor in _MEDIA.values():
            old_executor.shutdown(wait=False)
        _MEDIA.clear()
        fetcher = spec.builder(tuple(spec.entry.files)).fetcher()
        use_libvips()  # a Ray worker process never forks: resize as the local decode workers do
        _MEDIA[spec.token] = fetcher, ThreadPoolExecutor(max_workers=spec.config.settings.image_workers)
    return _MEDIA[spec.token]


def ordered_files(folder: Path, key: str, size: int) -> EntryFiles:
    """The parquet files Ray wrote into `folder` in row order (sorted by the source position in
    their first id, checked not to overlap), with their row counts; `size`: the rows' data bytes."""
    written = [p for p in folder.glob("pieces-*/*.parquet") if ".tmp-" not in p.parent.name]
    spans = sorted(span for span in map(functools.partial(_id_span, key), written) if span)
    for before, after in zip(spans, spans[1:]):
        if before[1] > after[0]:
            raise EngineError(f"{folder}: parquet files {before[2]} and {after[2]} overlap in row order")
    names = tuple(str(span[2].relative_to(folder)) for span in spans)
    rows = tuple(parquet_file_for_streaming(span[2]).metadata.num_rows for span in spans)
    return EntryFiles(str(folder), names, rows, size)


def _id_span(key: str, path: Path) -> tuple[int, int, Path] | None:
    """(first, last) source positions of the rows of one written file; None when it has none."""
    parquet_file = parquet_file_for_streaming(path)
    groups = [i for i in range(parquet_file.num_row_groups) if parquet_file.metadata.row_group(i).num_rows]
    if not groups:
        return None
    first = parquet_file.read_row_group(groups[0], columns=["id"])["id"][0].as_py()
    last = parquet_file.read_row_group(groups[-1], columns=["id"])["id"][-1].as_py()
    return _position_of(key, first), _position_of(key, last), path


def _position_of(key: str, row_id: str) -> int:
    """The source position in `<key>/<position>[#copy]`."""
    return int(source_row_id(row_id)[len(key) + 1 :])


@functools.cache
def _worker_cache() -> str:
    """A folder for the lock files of builders made in this worker process."""
    return tempfile.mkdtemp(prefix="hf-mixture-ray-")


def _entry_error(config: StageConfig, entry: EntryConfig, err: Exception) -> Exception:
    """The package error behind a Ray failure (Ray wraps exceptions raised in tasks), naming the
    entry; other failures are returned unchanged."""
    seen, cause = set(), err
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, HfMixtureError) and not isinstance(cause, ray.exceptions.RayError):
            if isinstance(cause, (SamplingError, SourceError)):
                return type(cause)(f"{config.path}: {entry.label}: {cause}")
            return cause
        cause = getattr(cause, "cause", None) or cause.__cause__
    return err
