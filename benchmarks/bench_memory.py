"""Peak memory of whole builds: `random:N` out of a big source, and `dup:K` over many rows.

Each build runs `build_stage` in a fresh child process (`python bench_memory.py --child ...`).
The child reports (1) its peak RSS from `resource.getrusage(RUSAGE_SELF).ru_maxrss` plus the
largest of its decode workers (`RUSAGE_CHILDREN`), and (2) the peak of its anonymous memory
(`RssAnon` in /proc/self/status, sampled every 20 ms by a thread): `ru_maxrss` also counts the
pages of memory-mapped files the process touched (the `datasets` Arrow cache is memory-mapped),
which the kernel can drop at any time; `RssAnon` is the memory the build itself holds. No psutil:
the standard library and /proc give both numbers.

Each case runs on a source and on a source twice as large, to see whether memory grows with the
source.

Goals: peak RSS <= 1 GB, and <= 10 % higher when the source doubles.
Default: random:20000 out of 1M / 2M rows, dup:3 over 100k / 200k rows, 32 px images (a couple
of minutes). The figures asked for: --random-source 10000000 --random-n 100000 --dup-source 1000000
(about 15 minutes on 2 CPUs; most of it is checking the 3M embedded images of dup:3).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

import _common
import _data


def _rss_anon_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1])
    return 0


def child(config: Path, out: Path) -> None:
    """Build `config` into `out` and print the memory figures as JSON."""
    from hf_mixture.build import build_stage

    peak_anon, done = [0], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak_anon[0] = max(peak_anon[0], _rss_anon_kb())
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    result = build_stage(config, out, echo=lambda *_: None)
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(
        json.dumps(
            {
                "rows": result.written.num_examples,
                "seconds": seconds,
                "maxrss_kb": own,
                "worker_maxrss_kb": workers,
                "peak_anon_kb": peak_anon[0],
            }
        )
    )


def measure(work: Path, name: str, rows: int, strategy: str, images: list[str]) -> dict:
    """Build a one-entry stage over a `rows`-row source in a child process; its figures."""
    source = work / f"{name}.parquet"
    if not source.exists():
        _data.make_t2i_parquet(source, rows, images, "s3://bench/")
    entry = {
        "name": name,
        "json_path": str(source),
        "sampling_strategy": strategy,
        "preprocess_fn": "preproces_text_to_image_generation_s3",
    }
    config = work / f"{name}.yaml"
    config.write_text(_data.stage_yaml(f"mem-{name}", 32, work / "images", [entry]))
    done = subprocess.run(
        [sys.executable, __file__, "--child", str(config), str(work / f"out-{name}")],
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise RuntimeError(f"build of {config} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _show(label: str, figures: dict) -> None:
    print(
        f"   {label:<34} rows {figures['rows']:>9,}  {figures['seconds']:7.1f} s  "
        f"maxrss {figures['maxrss_kb'] / 1024:7.0f} MB  anon {figures['peak_anon_kb'] / 1024:7.0f} MB  "
        f"decode worker maxrss {figures['worker_maxrss_kb'] / 1024:5.0f} MB"
    )


def case(work: Path, label: str, rows: int, strategy: str, images: list[str]) -> bool:
    """One strategy on a source and on one twice as large, against both goals."""
    print(f"\n-- {label}")
    small = measure(work, f"{label}-x1", rows, strategy, images)
    _show(f"{strategy} over {rows:,}", small)
    large = measure(work, f"{label}-x2", 2 * rows, strategy, images)
    _show(f"{strategy} over {2 * rows:,}", large)
    ok = True
    for key, what in (("maxrss_kb", "peak RSS"), ("peak_anon_kb", "peak anonymous RSS")):
        peak = max(small[key], large[key]) / 1024
        growth = large[key] / small[key] - 1
        passed_peak = _common.report(f"{label}: {what}", peak, "MB", "<= 1024 MB", peak <= 1024)
        passed_growth = _common.report(
            f"{label}: {what} growth x2 source", 100 * growth, "%", "<= 10 %", growth <= 0.10
        )
        ok &= passed_peak and passed_growth
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--random-source", type=int, default=1_000_000)
    parser.add_argument("--random-n", type=int, default=20_000)
    parser.add_argument("--dup-source", type=int, default=100_000)
    parser.add_argument("--dup", type=int, default=3)
    parser.add_argument("--distinct-images", type=int, default=500)
    parser.add_argument("--work-dir", help="keep generated data here (default: a temp folder)")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(Path(args.child[0]), Path(args.child[1]))
        return 0
    _common.header("peak memory of builds (child processes)", args)
    with _common.work_dir(args.work_dir) as work:
        images = _data.make_jpegs(work / "images", args.distinct_images, 32)
        ok = case(work, "random", args.random_source, f"random:{args.random_n}", images)
        ok &= case(work, "dup", args.dup_source, f"dup:{args.dup}", images)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
