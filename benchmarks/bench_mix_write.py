"""Mix + shard writing without a stage table, and re-runs that reuse the work folder.

Part 1, mix + write (`--rows` rows per entry at 1x and 4x, `--entries` entries of synthetic rows in
the stored schema, each with one `--image-bytes` image; `all_exhausted` over random weights).
Each variant runs in its own process, which reports its peak RSS and the bytes it left on the
driver's local disk:
- today: what the build did before: `Dataset.from_parquet` of each entry's files into the Arrow
  cache, `interleave_datasets`, `Dataset.shard` + `write_parquet` of each shard;
- local: `plan_mix` + `write_stage` (shards written one after the other in this process);
- ray: `plan_mix` + `write_stage` with one Ray task per shard (local Ray, `--cpus` CPUs).
Part 2, re-runs (`--engine`, `--image-entries` entries of `--images` JPEG rows each in
`--files-per-entry` files, through the CLI): a fresh build; a build killed at ~50 % of entry 3
(local: by time; Ray: once its first piece group is kept), then re-run; a re-run after changing
only `weights`. Times are compared with the fresh build (with Ray, each CLI run also starts a
local Ray).

    python benchmarks/bench_mix_write.py --rows 50000 --skip 2               # part 1
    python benchmarks/bench_mix_write.py --skip 1 --images 1600              # part 2, local
    python benchmarks/bench_mix_write.py --skip 1 --images 1600 --engine ray # part 2, Ray
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from _data import make_jpegs, make_t2i_parquet, stage_yaml

from hf_mixture.schema import FEATURES

T2I = "preproces_text_to_image_generation_s3"
STRATEGY = "all_exhausted"


def make_entries(folder: Path, entries: int, rows: int, image_bytes: int) -> list[Path]:
    """One parquet file per entry of `rows` rows in FEATURES' schema (256-row row groups, as the
    Ray engine writes), random image bytes."""
    rng = np.random.default_rng(0)
    blob = rng.integers(0, 256, image_bytes * 64, dtype=np.uint8).tobytes()
    paths = []
    for e in range(entries):
        path = folder / f"entry-{e}.parquet"
        with pq.ParquetWriter(path, FEATURES.arrow_schema) as writer:
            for start in range(0, rows, 4096):
                n = min(4096, rows - start)
                writer.write_table(_rows(e, start, n, blob, image_bytes), row_group_size=256)
        paths.append(path)
    return paths


def _rows(entry: int, start: int, n: int, blob: bytes, size: int) -> pa.Table:
    ids = [f"e{entry}/{i}" for i in range(start, start + n)]
    images = [[{"bytes": blob[(i % 64) * size : (i % 64 + 1) * size], "path": None}] for i in range(n)]
    turns = [
        [{"from": "human", "value": "<image>\nDescribe."}, {"from": "gpt", "value": f"row {i}"}] for i in ids
    ]
    data = {name: [None] * n for name in FEATURES}
    data.update(id=ids, source=[f"e{entry}"] * n, task=["t2i"] * n, conversations=turns, images=images)
    data.update(image_gen=[[] for _ in range(n)], image_gen_enc=[[] for _ in range(n)])
    return pa.Table.from_pydict(data, schema=FEATURES.arrow_schema)


def run_variant(variant: str, manifest: str, out: str, cache: str, cpus: int, shards: int) -> dict:
    """One variant of part 1 in this process: seconds, rows, peak RSS (MB)."""
    from hf_mixture.export.entry_files import EntryFiles
    from hf_mixture.export.hub_folder import write_stage
    from hf_mixture.mixing.order import plan_mix
    from hf_mixture.mixing.probabilities import entry_probabilities

    base_rss = _peak_rss_mb()
    files = [EntryFiles.from_dict(Path(manifest).parent, d) for d in json.loads(Path(manifest).read_text())]
    paths = [f.paths[0] for f in files]
    sizes = [f.num_rows for f in files]
    probabilities = entry_probabilities([f"g{i}" for i in range(len(files))], sizes, _weights(len(files)))
    start = time.perf_counter()
    if variant == "today":
        rows = _today(paths, probabilities, out, cache, files, shards)
    else:
        order = plan_mix(sizes, probabilities, seed=42, stopping_strategy=STRATEGY)
        if variant == "ray":
            import ray

            from hf_mixture.engines import make_ray_engine

            ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False)
            engine = make_ray_engine()
            with engine.session() as session:
                session.run(_warm, [cpus] * cpus * 2)  # workers warm, as after the entries of a build
                start = time.perf_counter()  # Ray's start-up is not the step
                write_stage(out, "s", order, files, num_shards=shards, run=session.run)
            ray.shutdown()
        else:
            write_stage(out, "s", order, files, num_shards=shards)
        rows = order.total
    seconds = time.perf_counter() - start
    peak = _peak_rss_mb()
    return {"seconds": seconds, "rows": rows, "peak_rss_mb": peak, "import_rss_mb": base_rss}


def _warm(seconds: float) -> None:
    import hf_mixture.export.shards  # noqa: F401

    time.sleep(seconds / 4)


def _peak_rss_mb() -> float:
    """This process's peak resident size (VmHWM: unlike ru_maxrss, not inherited across exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _today(paths, probabilities, out, cache, files, shards: int) -> int:
    """The driver step as it was: Arrow cache, `interleave_datasets`, shards of the mixed Dataset."""
    import datasets

    from hf_mixture.export.hub_folder import shard_count, shard_name, write_parquet
    from hf_mixture.export.shards import ROW_GROUP_ROWS
    from hf_mixture.mixing.order import plan_mix

    parts = [datasets.Dataset.from_parquet(str(p), features=FEATURES, cache_dir=cache) for p in paths]
    mixed = datasets.interleave_datasets(
        parts, probabilities=probabilities, seed=42, stopping_strategy=STRATEGY
    )
    order = plan_mix([len(p) for p in parts], probabilities, seed=42, stopping_strategy=STRATEGY)
    count = shard_count(order, files, shards)
    Path(out, "s").mkdir(parents=True, exist_ok=True)
    cache_files = [f["filename"] for f in mixed.cache_files]
    for index in range(count):
        shard = mixed.shard(num_shards=count, index=index, contiguous=True)
        write_parquet(shard, Path(out, "s", shard_name(index, count)), ROW_GROUP_ROWS, release=cache_files)
    return len(mixed)


def _entry_files(path: Path):
    from hf_mixture.export.entry_files import EntryFiles, data_bytes

    size = sum(data_bytes(b) for b in pq.ParquetFile(path).iter_batches(batch_size=65536))
    return EntryFiles(str(path.parent), (path.name,), (pq.read_metadata(path).num_rows,), size)


def _weights(n: int) -> dict:
    return {f"g{i}": 100 * (i + 1) for i in range(n)}


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file())


def part_one(args, work: Path) -> None:
    print("-- part 1: mix + write")
    for scale in (1, 4):
        data = work / f"x{scale}"
        data.mkdir(exist_ok=True)
        paths = make_entries(data, args.entries, args.rows * scale, args.image_bytes)
        manifest = data / "entries.json"
        manifest.write_text(json.dumps([_entry_files(p).to_dict() for p in paths]))
        for variant in ("today", "local", "ray"):
            out, cache = data / f"out-{variant}", data / f"cache-{variant}"
            cache.mkdir(exist_ok=True)
            command = [sys.executable, __file__, "--variant", variant, "--cpus", str(args.cpus)]
            command += ["--out", str(out), "--cache", str(cache), "--shards", str(args.shards), str(manifest)]
            result = json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)
            disk = _folder_bytes(cache) / 1e6
            print(
                f"{scale}x {variant:5s}: {result['rows']:,} rows in {result['seconds']:.1f} s "
                f"({result['rows'] / result['seconds']:,.0f} rows/s); "
                f"driver peak RSS {result['peak_rss_mb']:.0f} MB "
                f"(after imports {result['import_rss_mb']:.0f} MB); driver-local disk {disk:.0f} MB; "
                f"shards {_folder_bytes(out / 's') / 1e6:.0f} MB"
            )
        same = all(
            (data / "out-local" / "s" / p.name).read_bytes() == p.read_bytes()
            for p in (data / "out-ray" / "s").glob("train-*")
        )
        print(f"{scale}x: ray shards == local shards byte for byte: {same}")


def part_two(args, work: Path) -> None:
    print(f"-- part 2: re-runs (--engine {args.engine}, CLI)")
    images = make_jpegs(work / "img", args.images, 512)
    entries = []
    for e in range(args.image_entries):
        files = args.files_per_entry
        for f in range(files):  # one piece per file on Ray
            rows = args.images // files
            make_t2i_parquet(
                work / f"img-{e}-{f:02d}.parquet", rows, images[f * rows :], "s3://bench/", seed=e
            )
        entries.append(
            {
                "name": f"e{e}",
                "json_path": f"img-{e}-*.parquet",
                "sampling_strategy": "all",
                "preprocess_fn": T2I,
                "length_group": f"g{e}",
            }
        )
    config = work / "images.yaml"
    config.write_text(
        stage_yaml("images", 256, work / "img", entries) + _weights_yaml(args.image_entries, False)
    )
    extra = ("--engine", args.engine)
    fresh = _cli(config, work / "o-fresh", work / "w-fresh", *extra)
    print(f"fresh build: {fresh:.1f} s, {_rows(work / 'o-fresh'):,} rows", flush=True)
    start = time.perf_counter()
    process = _cli_start(config, work / "o-kill", work / "w-kill", *extra)
    _wait_for_half_of_entry_3(work / "w-kill" / "entries", fresh * (2.5 / args.image_entries), args.engine)
    killed_at = time.perf_counter() - start
    process.send_signal(signal.SIGKILL)
    process.wait()
    rerun = _cli(config, work / "o-kill", work / "w-kill", *extra)
    reused = json.loads((work / "o-kill" / "images" / "build_report.json").read_text())
    print(
        f"killed at {killed_at:.1f} s (~50 % of entry 3 of {args.image_entries}); re-run: {rerun:.1f} s "
        f"= {rerun / fresh:.0%} of fresh; killed + re-run = {(killed_at + rerun) / fresh:.0%} of fresh; "
        f"reused entries {list(reused['reused_entries'])}, piece groups {reused['reused_piece_groups']}",
        flush=True,
    )
    config.write_text(
        stage_yaml("images", 256, work / "img", entries) + _weights_yaml(args.image_entries, True)
    )
    reweight = _cli(config, work / "o-fresh", work / "w-fresh", *extra)
    print(
        f"re-run after changing only weights: {_rows(work / 'o-fresh'):,} rows in {reweight:.2f} s "
        f"= {reweight / fresh:.1%} of the first build "
        f"(goal < 5 %: {'PASS' if reweight / fresh < 0.05 else 'FAIL'})"
    )


def _wait_for_half_of_entry_3(entries: Path, seconds: float, engine: str) -> None:
    """Local: `seconds` (2.5 of the entries' share of the fresh build). Ray: until two entries are
    finished and the third has its first piece group kept."""
    if engine == "local":
        time.sleep(seconds)
        return
    while True:
        finished = [p for p in entries.glob("*/entry.json") if ".part" not in p.parent.name]
        if len(finished) >= 2 and list(entries.glob("*.partial/pieces-*[0-9]/counts.json")):
            return
        time.sleep(0.1)


def _weights_yaml(n: int, changed: bool) -> str:
    """Equal group weights, or (changed) weights that move the shares by up to 25 % (the stage's
    size stays about the same: `all_exhausted` over weights far apart would write many more rows)."""
    weights = [100 + ((25 * (i % 3) - 25) if changed else 0) for i in range(n)]
    return "weights:\n" + "".join(f"  g{i}: {w}\n" for i, w in enumerate(weights))


def _rows(out: Path) -> int:
    return json.loads((out / "images" / "build_report.json").read_text())["rows"]


def _cli_start(config: Path, out: Path, work: Path, *extra: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "hf_mixture.cli.main", "build", str(config), "--out", str(out)]
    env = {**os.environ, "PYTHONPATH": str(_common.REPO)}
    return subprocess.Popen(
        [*command, "--work-dir", str(work), *extra],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _cli(config: Path, out: Path, work: Path, *extra: str) -> float:
    start = time.perf_counter()
    process = _cli_start(config, out, work, *extra)
    _, stderr = process.communicate()
    if process.returncode:
        raise SystemExit(f"the build failed ({process.returncode}):\n{stderr.decode()[-3000:]}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000, help="rows per entry at 1x")
    parser.add_argument("--entries", type=int, default=3)
    parser.add_argument("--image-bytes", type=int, default=2000)
    parser.add_argument("--shards", type=int, default=8, help="output shards in part 1")
    parser.add_argument("--cpus", type=int, default=2)
    parser.add_argument("--images", type=int, default=300, help="JPEG rows per entry in part 2")
    parser.add_argument("--image-entries", type=int, default=4)
    parser.add_argument("--files-per-entry", type=int, default=16, help="part 2 (Ray: one piece each)")
    parser.add_argument("--engine", choices=("local", "ray"), default="local", help="part 2's engine")
    parser.add_argument("--skip", choices=("1", "2"), help="skip part 1 or 2")
    parser.add_argument("--variant", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--cache", help=argparse.SUPPRESS)
    parser.add_argument("paths", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.variant:
        print(
            json.dumps(run_variant(args.variant, args.paths[0], args.out, args.cache, args.cpus, args.shards))
        )
        return
    _common.header("mix + write without a stage table; re-runs from the work folder", args)
    with tempfile.TemporaryDirectory(prefix="bench-mix-write-") as folder:
        if args.skip != "1":
            part_one(args, Path(folder))
        if args.skip != "2":
            part_two(args, Path(folder))


if __name__ == "__main__":
    main()
