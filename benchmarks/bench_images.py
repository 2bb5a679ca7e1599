"""Image stage: JPEGs of mixed sizes -> checked, resized to the stage resolution, re-encoded bytes.

Ours: `embed_images` (hf_mixture/media/embed.py) on a table of t2i records whose `image_gen`
references the files, through the real `ImageFetcher`: reading in 8 threads, checking and resizing
in a process pool of one worker per CPU (`decode_pool`), JPEG draft decoding (`check="draft"`).
Baseline: one image at a time, `Image.open`, `.convert("RGB")` (a full decode), `.resize` LANCZOS
to the same size when the short side is larger than the resolution, `.save` JPEG quality 95 (else
the file's bytes are kept, as ours does).

Baseline and ours alternate, A B A B (`--rounds` pairs; the load average before each round is
printed); the ratio is of the mean rates. Also printed once, to show where the speed comes from
(not goals): ours in one thread, ours with threads only (no process pool: Pillow resizes, not
libvips, see hf_mixture/media/resize.py), and ours with `check="full"` (no draft decoding).
Checks that both produce images of the same sizes.

Goal: ours >= 3x the baseline (images/s) on 2 CPUs, at 256 and at 1024.
Default: 200 images, 500-3000 px (about a minute). Larger: --images 2000.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import _common
import numpy as np
from PIL import Image

from hf_mixture.media.embed import decode_pool, default_decode_processes, embed_images
from hf_mixture.media.fetch import ImageFetcher
from hf_mixture.media.images import target_size
from hf_mixture.records import records_to_table
from hf_mixture.storage import Storage


def make_images(folder: Path, count: int, low: int, high: int, seed: int = 0) -> list[Path]:
    """`count` photo-like JPEGs (smooth colour fields plus grain), sides uniform in [low, high]."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(count):
        path = folder / f"{i:05d}.jpg"
        paths.append(path)
        if path.exists():
            continue
        width, height = (int(x) for x in rng.integers(low, high + 1, 2))
        coarse = Image.fromarray(rng.integers(0, 256, (12, 16, 3), dtype=np.uint8)).resize(
            (width, height), Image.Resampling.BICUBIC
        )
        grain = Image.effect_noise((width, height), 24).convert("RGB")
        Image.blend(coarse, grain, 0.15).save(path, "JPEG", quality=90)
    return paths


def baseline(paths: list[Path], short_side: int) -> list[tuple[int, int]]:
    """The plain loop; returns the (width, height) of each output image."""
    sizes = []
    for path in paths:
        image = Image.open(path).convert("RGB")
        if min(image.size) > short_side:
            image = image.resize(target_size(*image.size, short_side), Image.Resampling.LANCZOS)
            buffer = io.BytesIO()
            image.save(buffer, "JPEG", quality=95)
            data = buffer.getvalue()
        else:
            data = path.read_bytes()
        sizes.append(Image.open(io.BytesIO(data)).size)
    return sizes


def ours(paths: list[Path], short_side: int, threads: int, processes: int, check: str) -> list[tuple]:
    """`embed_images` over all images; returns the (width, height) of each output image."""
    root = str(paths[0].parent)
    fetcher = ImageFetcher(Storage(base_dir=root), root, [root])
    records = records_to_table([{"task": "t2i", "conversations": [], "image_gen": [str(p)]} for p in paths])
    with ThreadPoolExecutor(max_workers=threads) as executor:
        table, reasons = embed_images(
            records,
            fetcher,
            short_side=short_side,
            executor=executor,
            decoder=decode_pool(processes),
            check=check,
        )
    if any(r is not None for r in reasons):
        raise RuntimeError(f"images dropped: {set(reasons) - {None}}")
    cells = table["image_gen"].to_pylist()
    return [Image.open(io.BytesIO(row[0]["bytes"])).size for row in cells]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--min-side", type=int, default=500)
    parser.add_argument("--max-side", type=int, default=3000)
    parser.add_argument("--resolutions", default="256,1024")
    parser.add_argument("--threads", type=int, default=8, help="reading threads (stage image_workers)")
    parser.add_argument("--processes", type=int, default=default_decode_processes())
    _common.add_run_arguments(parser, "the generated images")
    args = parser.parse_args(argv)
    _common.header("image stage: check + resize + re-encode", args)
    ok = True
    with _common.work_dir(args.work_dir) as work:
        with _common.Timer() as made:
            paths = make_images(work / "images", args.images, args.min_side, args.max_side)
        megabytes = sum(p.stat().st_size for p in paths) / 1e6
        print(f"{len(paths)} JPEGs, {megabytes:.0f} MB, ready in {made.seconds:.1f} s")
        decode_pool(args.processes)  # start the workers before timing (once per build)
        for short_side in (int(r) for r in args.resolutions.split(",")):
            ok &= _compare(paths, short_side, args)
    return 0 if ok else 1


def _compare(paths: list[Path], short_side: int, args) -> bool:
    """The baseline and ours (default) alternated, A B A B (`--rounds` pairs), then the
    informational variants once; the ratio is of the mean images/s of the rounds."""
    n = len(paths)
    print(f"\n-- short side {short_side}")
    default = (args.threads, args.processes, "draft")
    baseline_rates, default_rates = [], []
    for round_ in range(args.rounds):
        load = os.getloadavg()[0]
        with _common.Timer() as base:
            expected = baseline(paths, short_side)
        baseline_rates.append(n / base.seconds)
        default_rates.append(_rate(paths, short_side, default, expected))
        print(
            f"   round {round_ + 1}: baseline {baseline_rates[-1]:6.1f} images/s, "
            f"ours {default_rates[-1]:6.1f}"
            f" images/s (load before {load:.2f})"
        )
    variants = {
        "ours: 1 thread, draft": (1, 1, "draft"),
        "ours: threads only, draft": (args.threads, 1, "draft"),
        "ours: threads + processes, full decode": (args.threads, args.processes, "full"),
    }
    rates = {
        "baseline (PIL, one at a time)": sum(baseline_rates) / len(baseline_rates),
        "ours: threads + processes, draft (default)": sum(default_rates) / len(default_rates),
    }
    rates.update({name: _rate(paths, short_side, variant, expected) for name, variant in variants.items()})
    for name, rate in rates.items():
        print(f"   {name:<46} {rate:8.1f} images/s")
    ratio = rates["ours: threads + processes, draft (default)"] / rates["baseline (PIL, one at a time)"]
    return _common.report(f"{short_side}: ours / baseline", ratio, "x", ">= 3", ratio >= 3)


def _rate(paths: list[Path], short_side: int, variant: tuple, expected: list[tuple]) -> float:
    """Images/s of `ours` with (threads, processes, check); its sizes checked against `expected`."""
    with _common.Timer() as timer:
        sizes = ours(paths, short_side, *variant)
    mismatched = sum(a != b for a, b in zip(sizes, expected))
    if mismatched:
        raise RuntimeError(f"{variant}: {mismatched} images differ in size from the baseline's")
    return len(paths) / timer.seconds


if __name__ == "__main__":
    sys.exit(main())
