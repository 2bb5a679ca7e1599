from __future__ import annotations

import contextlib
import logging
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from hf_mixture.config.load import load_stage_config
from hf_mixture.config.model import StageConfig
from hf_mixture.engines import Engine, Session, open_engine
from hf_mixture.entry_checks import check_sources
from hf_mixture.errors import MixingError, SourceError
from hf_mixture.export.card import card_body
from hf_mixture.export.charts import write_charts
from hf_mixture.export.entry_files import EntryFiles
from hf_mixture.export.folder import save_stage_yaml
from hf_mixture.export.hub_folder import WrittenStage, write_stage
from hf_mixture.export.readme_update import rebuild_readme, withdraw_sizes
from hf_mixture.export.remote_out import RemoteFolder, is_remote, publish_stage
from hf_mixture.export.report import format_examples, format_report, write_report
from hf_mixture.media.http_policy import MediaBudget
from hf_mixture.mixing.interleave import check_draws, warn_empty_entries, warn_zero_share_entries
from hf_mixture.mixing.order import MixOrder, plan_mix
from hf_mixture.mixing.probabilities import default_stopping_strategy, entry_probabilities, group_table
from hf_mixture.progress import StageProgress, closing_line, progress_enabled, quiet_progress
from hf_mixture.redact import redact
from hf_mixture.stats import EntryStats
from hf_mixture.work_dir import EntryCache, entry_key

logger = logging.getLogger(__name__)
DEFAULT_OUT = "out/mixture"


@dataclass(frozen=True)
class BuildResult:
    """What a build wrote and its accounting; `reused`: names of the entries taken from the work
    folder instead of being built; `reused_piece_groups`: entry name -> [piece groups reused,
    piece groups] of the entries a failed build had started (`--engine ray`)."""

    stage: str
    out_dir: Path | str  # the URL for a remote --out (whose written files were local, now removed)
    written: WrittenStage
    entries: tuple[EntryStats, ...]
    report_path: Path
    report_text: str
    reused: tuple[str, ...] = ()
    reused_piece_groups: dict = field(default_factory=dict)


def build_stage(
    config: str | Path | StageConfig,
    out_dir: str | Path = DEFAULT_OUT,
    *,
    overrides: dict | None = None,
    strict: bool = False,
    work_dir: str | Path | None = None,
    fresh: bool = False,
    engine: str | Engine = "local",
    address: str | None = None,
    echo=print,
    progress: bool = True,
) -> BuildResult:
    """Build the stage a YAML file describes into `out_dir` (a folder in the Hub layout).

    `engine` builds each entry's rows and writes the shards (`local`, or `ray` on the Ray cluster
    at `address`: hf_mixture/engines/); the stage order is computed from the entries' row counts
    (mixing/order.py) and each shard reads exactly its rows (export/shards.py). `work_dir` keeps
    every finished entry under a key of what makes it (hf_mixture/work_dir.py) for later builds to
    reuse (`fresh`: build every entry again); None: a temporary folder removed after the build.
    `progress`: an overall line across entries (elapsed, ETA) above per-entry bars; False: no bar."""
    if not isinstance(config, StageConfig):
        config = load_stage_config(config, strict=strict, overrides=overrides)
    if is_remote(out_dir):
        where = {"work_dir": work_dir, "fresh": fresh, "engine": engine, "address": address}
        return _build_to_remote(config, str(out_dir), **where, echo=echo, progress=progress)
    check_sources(config, echo)  # every entry's source-level config checks, before any is built
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    settings = config.settings
    with (
        quiet_progress(not progress),
        _work_folder(work_dir) as root,
        open_engine(engine, address) as session,
    ):
        bar = StageProgress(settings.name, len(config.entries), enabled=progress_enabled())
        cache = EntryCache(root, fresh=fresh)
        outputs, stats, reuse = _build_entries(config, cache, session, echo, bar)
        order, strategy = _mix(config, outputs, stats)
        written = write_stage(
            out_dir,
            settings.name,
            order,
            outputs,
            num_shards=settings.num_shards,
            run=session.run,
            before_publish=lambda: withdraw_sizes(out_dir, settings.name),
        )
    summary = {**_summary(config, strategy, written, stats), **reuse}
    path = write_report(out_dir, settings.name, summary, stats)
    write_charts(out_dir, settings.name)
    save_stage_yaml(out_dir, settings.name, config.text)
    rebuild_readme(out_dir, body=card_body(out_dir))
    text = format_report(summary, stats)
    echo(text)
    examples = format_examples(stats)
    if examples:
        logger.info(examples)  # shown with -v; also in build_report.json under each entry's `examples`
    echo(closing_line(settings.name, out_dir, written.num_examples, written.files, bar.elapsed))
    return BuildResult(settings.name, out_dir, written, tuple(stats), path, text, *reuse.values())


@contextlib.contextmanager
def _work_folder(work_dir: str | Path | None) -> Iterator[Path]:
    """`work_dir` (created), or a temporary folder removed afterwards."""
    if work_dir is not None:
        Path(work_dir).mkdir(parents=True, exist_ok=True)
        yield Path(work_dir)
        return
    with tempfile.TemporaryDirectory(prefix="hf-mixture-") as folder:
        yield Path(folder)


def _build_to_remote(
    config: StageConfig, url: str, *, work_dir, fresh: bool, engine, address, echo, progress: bool = True
) -> BuildResult:
    """Build into a local folder under `work_dir`, then publish the stage to the fsspec URL `url`
    (hf_mixture/export/remote_out.py); options for it: the stage's `storage_options[<scheme>]`."""
    scheme = url.split("://", 1)[0]
    remote = RemoteFolder(url, config.settings.storage_options.get(scheme, {}))
    remote.check_writable()  # a bad URL, fsspec driver, bucket, credentials or permission: before any work
    with tempfile.TemporaryDirectory(prefix="hf-mixture-out-", dir=work_dir) as local:
        where = {"work_dir": work_dir, "fresh": fresh, "engine": engine, "address": address}
        result = build_stage(config, local, **where, echo=echo, progress=progress)
        publish_stage(remote, local, config.settings.name)
    echo(f"published stage {config.settings.name} to {url}")
    return replace(result, out_dir=url)


def _build_entries(
    config: StageConfig, cache: EntryCache, session: Session, echo, bar: StageProgress
) -> tuple[list[EntryFiles], list[EntryStats], dict]:
    """Every entry's files and counts (taken from `cache` when finished before, else built by
    the engine and kept there), and what was reused: `reused_entries` (names) and
    `reused_piece_groups` (name -> [reused, total]); `bar` advances per entry."""
    budget = MediaBudget(config.settings.media_budget_seconds)  # one time budget for the whole build
    outputs, stats, reused, resumed = [], [], [], {}
    for position, entry in enumerate(config.entries, 1):
        prefix = f"[{position}/{len(config.entries)}] {entry.name}: {entry.json_path} ({entry.sampling.text})"
        key = entry_key(config, entry)
        bar.start_entry(f"{entry.name} ({entry.sampling.text})")
        found = cache.load(key)
        if found is not None:
            echo(f"{prefix}: reused from {cache.folder / key}")
            reused.append(entry.name)
        else:
            echo(prefix)
            folder = cache.new_folder(key, keep=session.keeps_pieces)
            files, entry_stats = session.build_entry(config, entry, folder, media_budget=budget)
            found = cache.commit(key, folder, files, entry_stats), entry_stats
            done, groups = session.pieces_reused.get(entry.name, (0, 0))
            if done:
                echo(f"  {entry.name}: {done} of {groups} piece groups reused from {folder}")
                resumed[entry.name] = [done, groups]
        outputs.append(found[0])
        stats.append(found[1])
        bar.entry_done()
    bar.close()
    return outputs, stats, {"reused_entries": tuple(reused), "reused_piece_groups": resumed}


def mix_order(
    config: StageConfig, sizes: Sequence[int], why_empty: Sequence[str] | None = None
) -> tuple[MixOrder, list[float], str]:
    """The stage order for entries of `sizes` rows (mixing/order.py), each entry's probability and
    the stopping strategy used; the build and `hf-mixture plan` mix through here. `why_empty`: per
    entry, what the warning about an empty entry says (None: no warning)."""
    settings = config.settings
    strategy = settings.stopping_strategy or default_stopping_strategy(config.grouped)
    groups = [e.length_group for e in config.entries]
    probabilities = entry_probabilities(
        groups, sizes, config.weights, config.batch_sizes, settings.batch_size
    )
    names = [e.name for e in config.entries]
    if why_empty is not None:
        warn_empty_entries(names, sizes, why_empty, stacklevel=4)
        warn_zero_share_entries(names, sizes, probabilities, stacklevel=4)
    drawn = [n if p > 0 else 0 for n, p in zip(sizes, probabilities)]  # share 0: left out, not drawn
    kept = [i for i, n in enumerate(drawn) if n]
    if len(kept) > 1:
        total = sum(probabilities[i] for i in kept)
        try:
            check_draws(
                [drawn[i] for i in kept],
                [probabilities[i] / total for i in kept],
                strategy,
                [names[i] for i in kept],
            )
        except MixingError as err:
            raise MixingError(f"{config.path}: {err}") from None
    order = plan_mix(
        drawn, probabilities, seed=settings.seed, stopping_strategy=strategy, num_samples=settings.num_samples
    )
    return order, probabilities, strategy


def _mix(config: StageConfig, outputs: Sequence[EntryFiles], stats: list[EntryStats]) -> tuple[MixOrder, str]:
    """The stage order (from the entries' row counts) and the stopping strategy used; each
    entry's written rows and shares are recorded in `stats`."""
    sizes = [o.num_rows for o in outputs]
    order, probabilities, strategy = mix_order(config, sizes, [s.why_empty() for s in stats])
    if order.total == 0:
        raise SourceError(_no_rows_message(config, stats))
    _account_mixing(order, stats, probabilities)
    return order, strategy


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


def _no_rows_message(config: StageConfig, stats: list[EntryStats]) -> str:
    """Why a stage has no rows: every entry's read count and drop reasons."""
    lines = [f"{config.path}: no entry kept any row, so stage {config.settings.name!r} cannot be written:"]
    for entry, entry_stats in zip(config.entries, stats):
        reasons = ", ".join(f"{r} {n}" for r, n in sorted(entry_stats.dropped.items()) if n) or "none"
        lines.append(f"  {entry.label}: read {entry_stats.read} rows; dropped: {reasons}")
        for reason, examples in sorted(entry_stats.examples.items()):
            lines.append(f"    e.g. {reason}: {examples[0]['id'] or '-'}: {examples[0]['message']}")
    return "\n".join(lines)


def _account_mixing(order: MixOrder, stats: list[EntryStats], probabilities: list[float]) -> None:
    for entry_stats, probability, written in zip(stats, probabilities, order.per_entry):
        entry_stats.written = written
        entry_stats.expected_share = probability
        entry_stats.realised_share = written / order.total if order.total else 0.0
        if written > entry_stats.rows:
            entry_stats.mixing_added = written - entry_stats.rows
        elif written < entry_stats.rows:
            entry_stats.dropped["mixing:not_drawn"] += entry_stats.rows - written
            why = "its group's share is 0" if probability == 0 else "the stopping strategy or num_samples"
            entry_stats.note_drop(
                "mixing:not_drawn", None, f"the mix drew {written} of its {entry_stats.rows} rows ({why})"
            )
