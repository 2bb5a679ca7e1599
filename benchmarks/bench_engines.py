"""Per-core rates of the two engines (local, ray) for docs/cluster.md's cost estimate.

Two entries are built, each by both engines, through the engine's per-entry function (no mixing):
- metadata: a LAION-like t2i parquet of `--rows` rows with `aes_cutoff: 8` and `min_size: 512`,
  so (almost) every row is read, filtered and dropped: source rows/s of read + filter + select;
- images: `--images` rows, each its own JPEG (short side 512, resized to 256), all kept:
  images/s of preprocess + read + check + resize + embed.
Ray runs on a local Ray with `--cpus` CPUs, after a warm-up entry (worker processes started).

    python benchmarks/bench_engines.py --rows 2000000 --images 1500 --cpus 2
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import _common
from _data import make_jpegs, make_t2i_parquet, stage_yaml

from hf_mixture.config.load import load_stage_config
from hf_mixture.engines import make_ray_engine, open_engine
from hf_mixture.media.embed import default_decode_processes

T2I = "preproces_text_to_image_generation_s3"


def _stage(folder: Path, rows: int, images: int) -> Path:
    image_dir = folder / "img"
    names = make_jpegs(image_dir, images, 512)
    make_t2i_parquet(folder / "meta.parquet", rows, names, "s3://bench/")
    make_t2i_parquet(folder / "images.parquet", images, names, "s3://bench/")
    make_t2i_parquet(folder / "warm.parquet", 8, names[:8], "s3://bench/")
    entries = [
        {"name": "warm", "json_path": "warm.parquet", "sampling_strategy": "all", "preprocess_fn": T2I},
        {
            "name": "metadata",
            "json_path": "meta.parquet",
            "sampling_strategy": "all",
            "preprocess_fn": T2I,
            "aes_cutoff": 8.0,
            "min_size": 512,
        },
        {
            "name": "images",
            "json_path": "images.parquet",
            "sampling_strategy": "all",
            "preprocess_fn": T2I,
            "aes_cutoff": 0.0,
        },
    ]
    path = folder / "bench.yaml"
    path.write_text(stage_yaml("bench", 256, image_dir, entries))
    return path


def _time_entries(engine, config, cache: str) -> dict:
    times = {}
    with open_engine(engine) as session:
        for entry in config.entries:
            start = time.perf_counter()
            files, stats = session.build_entry(config, entry, tempfile.mkdtemp(dir=cache))
            times[entry.name] = (time.perf_counter() - start, stats.read, files.num_rows)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--images", type=int, default=1500)
    parser.add_argument("--cpus", type=int, default=2)
    args = parser.parse_args()
    import ray

    print(_common.machine())
    with tempfile.TemporaryDirectory(prefix="bench-engines-") as folder:
        config = load_stage_config(_stage(Path(folder), args.rows, args.images))
        ray.init(num_cpus=args.cpus, include_dashboard=False, log_to_driver=False)
        try:
            local_images_cores = default_decode_processes()
            for name, engine, meta_cores, image_cores in (
                ("local", "local", 1, local_images_cores),
                ("ray", make_ray_engine(), args.cpus, args.cpus),
            ):
                times = _time_entries(engine, config, folder)
                meta_s, meta_read, _ = times["metadata"]
                img_s, _, img_rows = times["images"]
                print(
                    f"{name:5s}: metadata {meta_read / meta_s:,.0f} rows/s on {meta_cores} core(s) "
                    f"({meta_read / meta_s / meta_cores:,.0f}/s/core, {meta_s:.1f} s); images "
                    f"{img_rows / img_s:,.1f}/s on {image_cores} core(s) "
                    f"({img_rows / img_s / image_cores:,.1f}/s/core, {img_s:.1f} s)"
                )
        finally:
            ray.shutdown()


if __name__ == "__main__":
    main()
