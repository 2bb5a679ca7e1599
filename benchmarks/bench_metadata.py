"""Metadata path: LAION-like parquet -> filters -> random:N / dup:K -> text-to-image rows -> parquet.

What "ours" measures: the code a builder runs for an entry (`entry_filters`, `entry_selection`
with its counting pass, `EntryPipeline.run` on `TableReader` batches) with the image stage
skipped (`EntryPipeline(embed_media=False)`: image columns keep their references, no image is
read), and the result written with pyarrow's ParquetWriter. It does not include the `datasets`
builder's Arrow cache write (that is the image path's cost, measured by bench_stage.py).
Our t2i function and `min_size` filter read LaViDa-O's column names (`s3_path`, `intWidth`,
`intHeight`); a LAION source is read with a zero-copy column rename per batch, as a LAION builder
would.

Baselines, same data, same filters/strategies, same row preprocess function (`text_to_image_s3`):
 (i)  datasets: `Dataset.from_parquet`, `.filter` and `.map` with per-row Python functions,
      `.select` for random/dup, `.to_parquet` (how LLaMA-Factory converts rows);
 (ii) LaViDa-O: pandas `read_parquet`, vectorised filters, `df.sample`, `index.repeat`, then per
      row `df.iloc[i].to_dict()` + the preprocess function; the per-row loop runs on at most
      `--row-loop` rows and is extrapolated linearly to all kept rows (said in the output).
Both baselines run on the first `--baseline-rows` source rows (rows/s is the compared figure).
Ours is also given per CPU second (`time.process_time`): on a machine shared with other jobs the
wall-clock rate falls with the load even on a pinned CPU, the CPU-time rate much less.
Ours and baseline (i) alternate, A B A B (`--rounds` pairs, the load average before each printed);
the figures are the means of the rounds. Baseline (ii) runs once (reported, not a goal).
Everything runs pinned to one CPU (Arrow thread pools set to 1).

Goal: ours >= 1M source rows/s end to end, and >= 50x baseline (i).
Default: 2M rows (about a minute). Larger: --rows 20000000 (needs ~3 GB of disk).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import _common
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from hf_mixture.config.model import EntryConfig, StageSettings
from hf_mixture.config.sampling_strategy import parse_sampling_strategy
from hf_mixture.media.fetch import ImageFetcher
from hf_mixture.pipeline import EntryPipeline, entry_filters, entry_selection
from hf_mixture.preprocess.registry import get_preprocess
from hf_mixture.schema import REFERENCE_SCHEMA
from hf_mixture.sources.tables import TableReader
from hf_mixture.stats import EntryStats
from hf_mixture.storage import Storage

T2I = "preproces_text_to_image_generation_s3"
RENAME = {"URL": "s3_path", "TEXT": "caption", "WIDTH": "intWidth", "HEIGHT": "intHeight"}
INVERSE = {ours: laion for laion, ours in RENAME.items()}
AES_CUTOFF, MIN_SIZE = 5.0, 256


def make_laion(path: Path, rows: int, seed: int = 0, row_group: int = 131072) -> None:
    """A LAION-like parquet: URL, TEXT, WIDTH, HEIGHT, fltLaionAesthScore, punsafe (a few nulls)."""
    rng = np.random.default_rng(seed)
    words = np.array("a photo of the red blue cat dog on in with tree house city night old new".split())
    captions = pa.array([" ".join(rng.choice(words, rng.integers(3, 25))) for _ in range(4096)])
    with pq.ParquetWriter(
        path,
        pa.schema(
            [
                ("URL", pa.string()),
                ("TEXT", pa.string()),
                ("WIDTH", pa.int32()),
                ("HEIGHT", pa.int32()),
                ("fltLaionAesthScore", pa.float64()),
                ("punsafe", pa.float32()),
            ]
        ),
    ) as writer:
        for start in range(0, rows, row_group):
            n = min(row_group, rows - start)
            ids = pa.array(np.arange(start, start + n)).cast(pa.string())
            score = rng.normal(5.2, 0.8, n)
            score[rng.random(n) < 0.01] = np.nan
            writer.write_table(
                pa.table(
                    {
                        "URL": pc.binary_join_element_wise("https://img.example.com/", ids, ".jpg", ""),
                        "TEXT": captions.take(pa.array(rng.integers(0, len(captions), n))),
                        "WIDTH": pa.array(rng.integers(120, 2500, n).astype(np.int32)),
                        "HEIGHT": pa.array(rng.integers(120, 2500, n).astype(np.int32)),
                        "fltLaionAesthScore": pa.array(score, from_pandas=True),
                        "punsafe": pa.array(rng.random(n).astype(np.float32)),
                    }
                )
            )


def entry_for(path: Path, strategy: str) -> EntryConfig:
    """The YAML entry the benchmark builds: filters aes_cutoff + min_size, `strategy`, t2i."""
    return EntryConfig(
        index=0,
        name="laion",
        key="laion",
        json_path=str(path),
        files=(str(path),),
        sampling=parse_sampling_strategy(strategy),
        preprocess_fn=T2I,
        process_fn_kwargs={"caption_key": "caption"},
        aes_cutoff=AES_CUTOFF,
        min_size=MIN_SIZE,
    )


def run_ours(path: Path, strategy: str, out: Path) -> tuple[int, int]:
    """The metadata path of our code; returns (source rows read, rows written)."""
    entry, settings = entry_for(path, strategy), StageSettings(name="bench", seed=42)
    reader = TableReader(Storage(base_dir=path.parent), [str(path)], batch_rows=65536)

    def source(columns=None):
        laion = [INVERSE.get(c, c) for c in columns] if columns else None
        for table in reader.iter_tables(laion):
            yield table.rename_columns([RENAME.get(c, c) for c in table.column_names])

    loaded = [RENAME.get(c, c) for c in reader.column_names()]
    filters = entry_filters(entry, loaded)
    stats = EntryStats(
        index=0,
        name="laion",
        key="laion",
        length_group="default",
        preprocess_fn=T2I,
        sampling_strategy=strategy,
    )
    selection = entry_selection(entry, settings, filters, source, reader.metadata_row_count)
    fetcher = ImageFetcher(Storage(base_dir=path.parent), str(path.parent), [str(path.parent)])
    pipeline = EntryPipeline(entry, settings, fetcher, filters, selection, stats, embed_media=False)
    with pq.ParquetWriter(out, REFERENCE_SCHEMA) as writer:
        for table in pipeline.run(source()):
            writer.write_table(table)
    unaccounted = stats.read + stats.dup_added - stats.rows - sum(stats.dropped.values())
    if unaccounted:
        raise RuntimeError(f"{unaccounted} rows unaccounted for: {stats}")
    return stats.read, stats.rows


def _keep_row(row: dict) -> bool:
    score, width, height = row["fltLaionAesthScore"], row["WIDTH"], row["HEIGHT"]
    return score is not None and score == score and score > AES_CUTOFF and min(width, height) >= MIN_SIZE


def _t2i_row(row: dict, rng) -> dict:
    function = get_preprocess(T2I).row
    source = {"s3_path": row["URL"], "caption": row["TEXT"], "fltLaionAesthScore": row["fltLaionAesthScore"]}
    return function(source, rng=rng, caption_key="caption")


def _selection_indices(n_filtered: int, strategy: str) -> np.ndarray:
    kind, _, count = strategy.partition(":")
    if kind == "random":
        return np.sort(np.random.default_rng(42).choice(n_filtered, int(count), replace=False))
    return np.repeat(np.arange(n_filtered), int(count))


def run_datasets_baseline(path: Path, strategy: str, out: Path, cache: Path) -> int:
    """Baseline (i): per-row Python through `datasets.filter` / `datasets.map`; returns rows written."""
    import datasets

    rng = np.random.default_rng(0)
    ds = datasets.Dataset.from_parquet(str(path), cache_dir=str(cache))
    ds = ds.filter(_keep_row)
    ds = ds.select(_selection_indices(len(ds), strategy))
    ds = ds.map(lambda row: _t2i_row(row, rng), remove_columns=ds.column_names)
    ds.to_parquet(str(out))
    return len(ds)


def run_lavida_baseline(path: Path, strategy: str, row_loop: int) -> tuple[float, int]:
    """Baseline (ii): LaViDa-O's pandas path; returns (extrapolated seconds, rows it would write)."""
    import pandas as pd

    with _common.Timer() as vectorised:
        df = pd.read_parquet(path)
        score = df["fltLaionAesthScore"]
        df = df[score > AES_CUTOFF].reset_index(drop=True)
        df = df[(df["HEIGHT"] >= MIN_SIZE) & (df["WIDTH"] >= MIN_SIZE)].reset_index(drop=True)
        kind, _, count = strategy.partition(":")
        if kind == "random":
            df = df.sample(n=int(count), random_state=42).reset_index(drop=True)
        else:
            df = df.loc[df.index.repeat(int(count))].reset_index(drop=True)
    rng, sample = np.random.default_rng(0), min(row_loop, len(df))
    with _common.Timer() as loop:
        records = [_t2i_row(df.iloc[i].to_dict(), rng) for i in range(sample)]
        pa.Table.from_pylist(records)
    return vectorised.seconds + loop.seconds * len(df) / max(sample, 1), len(df)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=2_000_000, help="source rows (ours)")
    parser.add_argument("--baseline-rows", type=int, default=200_000, help="source rows (baselines)")
    parser.add_argument("--row-loop", type=int, default=20_000, help="rows of LaViDa-O's per-row loop")
    parser.add_argument("--dup", type=int, default=2, help="K of dup:K")
    parser.add_argument("--random-share", type=float, default=0.25, help="N of random:N / filtered rows")
    _common.add_run_arguments(parser, "generated data")
    args = parser.parse_args(argv)
    _common.header("metadata path: filters -> sampling -> t2i rows -> parquet (one CPU)", args)
    cpu = _common.pin_to_one_cpu()
    print(f"pinned to CPU {cpu}; Arrow cpu/io threads = 1")
    ok = True
    with _common.work_dir(args.work_dir) as work:
        source, small = work / "laion.parquet", work / "laion-small.parquet"
        with _common.Timer() as made:
            make_laion(source, args.rows)
            make_laion(small, args.baseline_rows)
        print(f"generated {args.rows:,} + {args.baseline_rows:,} rows in {made.seconds:.1f} s")
        for kind in ("random", "dup"):
            ok &= _compare(args, work, source, small, kind)
    return 0 if ok else 1


def _strategy(kind: str, args, path: Path) -> str:
    if kind == "dup":
        return f"dup:{args.dup}"
    table = pq.read_table(path, columns=["fltLaionAesthScore", "WIDTH", "HEIGHT"])
    passing = pc.sum(
        pc.and_(
            pc.greater(table["fltLaionAesthScore"], AES_CUTOFF),
            pc.greater_equal(pc.min_element_wise(table["WIDTH"], table["HEIGHT"]), MIN_SIZE),
        )
    ).as_py()
    return f"random:{int(passing * args.random_share)}"


def _compare(args, work: Path, source: Path, small: Path, kind: str) -> bool:
    strategy, small_strategy = _strategy(kind, args, source), _strategy(kind, args, small)
    print(
        f"\n-- {kind}: ours {strategy!r} on {args.rows:,} rows; baselines {small_strategy!r} on "
        f"{args.baseline_rows:,} rows"
    )
    ours_seconds, base_seconds, ours_cpu = [], [], []
    for round_ in range(args.rounds):  # ours and baseline (i) alternate: A B A B
        load = os.getloadavg()[0]
        cpu_before = time.process_time()
        with _common.Timer() as ours:
            read, written = run_ours(source, strategy, work / f"ours-{kind}.parquet")
        ours_cpu.append(time.process_time() - cpu_before)
        with _common.Timer() as base_i:
            base_out = work / f"base-{kind}.parquet"
            written_i = run_datasets_baseline(small, small_strategy, base_out, work / f"cache-{round_}")
        ours_seconds.append(ours.seconds)
        base_seconds.append(base_i.seconds)
        print(
            f"   round {round_ + 1}: ours {read / ours.seconds:,.0f} source rows/s "
            f"({read / ours_cpu[-1]:,.0f} per CPU second), baseline (i) "
            f"{args.baseline_rows / base_i.seconds:,.0f} rows/s (load before {load:.2f})"
        )
    ours.seconds, base_i.seconds = np.mean(ours_seconds), np.mean(base_seconds)
    lavida_seconds, written_ii = run_lavida_baseline(small, small_strategy, args.row_loop)
    ours_rate, rate_i = read / ours.seconds, args.baseline_rows / base_i.seconds
    rate_ii = args.baseline_rows / lavida_seconds
    print(
        f"ours: {read:,} rows read, {written:,} written in {ours.seconds:.2f} s "
        f"({written / ours.seconds:,.0f} written rows/s)"
    )
    print(f"baseline (i) datasets.map: {written_i:,} written in {base_i.seconds:.2f} s")
    print(
        f"baseline (ii) LaViDa-O: {written_ii:,} rows, {lavida_seconds:.2f} s "
        f"(per-row loop measured on {min(args.row_loop, written_ii):,} rows, extrapolated)"
    )
    ok = _common.report(f"{kind}: ours source rows/s", ours_rate, "rows/s", ">= 1,000,000", ours_rate >= 1e6)
    ok &= _common.report(
        f"{kind}: ours / baseline (i) datasets.map",
        ours_rate / rate_i,
        "x",
        ">= 50",
        ours_rate / rate_i >= 50,
    )
    _common.report(f"{kind}: ours / baseline (ii) LaViDa-O", ours_rate / rate_ii, "x", "(reported)", True)
    print(f"   baseline rates: (i) {rate_i:,.0f} rows/s, (ii) {rate_ii:,.0f} rows/s")
    return ok


if __name__ == "__main__":
    sys.exit(main())
