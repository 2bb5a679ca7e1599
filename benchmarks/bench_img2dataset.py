"""Side by side with img2dataset: photo-like JPEGs fetched over HTTP, resized, stored.

Setup (img2dataset is NOT a dependency of this project; it gets its own virtual environment):

    python -m venv /tmp/i2d && /tmp/i2d/bin/pip install img2dataset
    python benchmarks/bench_img2dataset.py --img2dataset /tmp/i2d/bin/img2dataset

Input: `--distinct` photo-like JPEGs (smooth colour fields plus grain, sides uniform in 500-3000 px,
bench_images.make_images), served as `--images` different URLs (URL i is file i % distinct) by
`python -m http.server` on 127.0.0.1 in its own process (its CPU is counted on neither side). A
parquet of `URL, TEXT, WIDTH, HEIGHT, punsafe, pwatermark` lists them.

- ours: `hf-mixture build` of a stage with one `laion` entry over that parquet
  (`preproces_text_to_image_generation_s3`, `image_workers: 16`, `resolution: R`): fetch, check,
  resize the short side to R when larger (aspect kept), JPEG q95, Hub-layout parquet shards.
- img2dataset: `--input_format parquet --url_col URL --caption_col TEXT --output_format parquet
  --processes_count 2 --thread_count 16 --image_size R --resize_mode keep_ratio
  --resize_only_if_bigger True --skip_reencode True --number_sample_per_shard images/2` (two shards:
  one per process; `skip_reencode` keeps the bytes of images not resized, as ours does); its other
  options at their defaults (JPEG q95, sha256 hashes, OpenCV INTER_AREA downscaling).

Each side runs as a child process; runs alternate ours, img2dataset, ours, img2dataset (`--rounds`).
Printed per run: wall seconds, images/s, CPU seconds per image (user + system of the child and the
processes it waited for: `os.wait4`), peak RSS (the sum over the child's process tree, sampled every
20 ms from /proc, and the largest single process), and the load average before the run. Every
output image's size is checked to be the same on both sides. Goal: ours >= 1.5x img2dataset's
images/s (the mean of the rounds) at each resolution.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import _common
import pyarrow as pa
import pyarrow.parquet as pq
from bench_images import make_images
from PIL import Image

GOAL = 1.5


def serve(folder: Path) -> tuple[subprocess.Popen, str]:
    """`python -m http.server` for `folder` on a free 127.0.0.1 port; (process, base URL)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(folder)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            break
        except OSError:
            time.sleep(0.05)
    return server, f"http://127.0.0.1:{port}"


def url_parquet(path: Path, served: Path, base: str, count: int, distinct: list[Path]) -> None:
    """`count` URLs (link i -> distinct file i % len(distinct)) in a LAION-like parquet."""
    links = served / "img"
    links.mkdir(parents=True, exist_ok=True)
    urls, widths, heights = [], [], []
    for i in range(count):
        source = distinct[i % len(distinct)]
        link = links / f"{i:06d}.jpg"
        if not link.exists():
            link.symlink_to(source)
        width, height = Image.open(source).size
        urls.append(f"{base}/img/{link.name}")
        widths.append(width)
        heights.append(height)
    table = pa.table(
        {
            "URL": urls,
            "TEXT": [f"a photo number {i}" for i in range(count)],
            "WIDTH": widths,
            "HEIGHT": heights,
            "punsafe": [0.01] * count,
            "pwatermark": [0.01] * count,
        }
    )
    pq.write_table(table, path)


def ours_command(parquet: Path, out: Path, resolution: int, workers: int) -> list[str]:
    stage = out.parent / f"{out.name}.yaml"
    stage.write_text(
        "stage:\n  name: bench\n"
        f"  resolution: {resolution}\n  image_workers: {workers}\n"
        "datasets:\n"
        f"  - {{name: laion, json_path: '{parquet}', builder: laion, sampling_strategy: all, "
        "preprocess_fn: preproces_text_to_image_generation_s3}\n"
    )
    code = "import sys; from hf_mixture.cli.main import main; sys.exit(main())"
    return [sys.executable, "-c", code, "build", str(stage), "--out", str(out)]


def img2dataset_command(
    binary: str, parquet: Path, out: Path, resolution: int, count: int, args
) -> list[str]:
    return [
        binary,
        f"--url_list={parquet}",
        "--input_format=parquet",
        "--url_col=URL",
        "--caption_col=TEXT",
        f"--output_folder={out}",
        "--output_format=parquet",
        f"--processes_count={args.processes}",
        f"--thread_count={args.threads}",
        f"--image_size={resolution}",
        "--resize_mode=keep_ratio",
        "--resize_only_if_bigger=True",
        "--skip_reencode=True",
        f"--number_sample_per_shard={max(1, count // args.processes)}",
    ]


def _tree_rss(root: int) -> tuple[int, int]:
    """(sum, max) of VmRSS in bytes over `root` and its descendants."""
    pids, total, largest = [root], 0, 0
    while pids:
        pid = pids.pop()
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            for task in Path(f"/proc/{pid}/task").iterdir():
                pids += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) * 1024
                total, largest = total + rss, max(largest, rss)
    return total, largest


def run(command: list[str], env: dict) -> dict:
    """Run `command`; wall s, CPU s (user+sys of it and its reaped children), peak tree RSS."""
    load = os.getloadavg()[0]
    start = time.perf_counter()
    child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peaks = [0, 0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            total, largest = _tree_rss(child.pid)
            peaks[0], peaks[1] = max(peaks[0], total), max(peaks[1], largest)
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stderr = child.stderr.read()
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    done.set()
    sampler.join()
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise RuntimeError(f"{command[0]} exited {child.returncode}: {stderr.decode()[-2000:]}")
    return {
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "rss": peaks[0],
        "largest": peaks[1],
        "load": load,
    }


def ours_sizes(out: Path) -> dict[str, tuple[int, int]]:
    """File name -> stored (width, height), from the built shards."""
    table = pq.read_table(sorted(out.glob("bench/train-*.parquet")), columns=["image_gen"])
    cells = [cell[0] for cell in table["image_gen"].to_pylist()]
    return {cell["path"].rsplit("/", 1)[-1]: Image.open(io.BytesIO(cell["bytes"])).size for cell in cells}


def img2dataset_sizes(out: Path) -> dict[str, tuple[int, int]]:
    table = pq.read_table(sorted(out.glob("*.parquet")), columns=["url", "width", "height", "status"])
    rows = [r for r in table.to_pylist() if r["status"] == "success"]
    return {r["url"].rsplit("/", 1)[1]: (r["width"], r["height"]) for r in rows}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--img2dataset", default=shutil.which("img2dataset") or "/tmp/i2d/bin/img2dataset")
    parser.add_argument("--images", default="300,1200", help="URL counts, comma-separated")
    parser.add_argument("--distinct", type=int, default=300, help="distinct JPEG files behind the URLs")
    parser.add_argument("--resolutions", default="256,1024")
    parser.add_argument("--image-workers", type=int, default=16, help="ours: stage image_workers")
    parser.add_argument("--processes", type=int, default=2, help="img2dataset processes_count")
    parser.add_argument("--threads", type=int, default=16, help="img2dataset thread_count")
    _common.add_run_arguments(parser, "the generated images")
    args = parser.parse_args(argv)
    if not Path(args.img2dataset).exists():
        print(f"img2dataset not found at {args.img2dataset}; set it up as the docstring says")
        return 2
    _common.header("ours (laion entry) vs img2dataset: HTTP fetch + resize + store", args)
    env = {**os.environ, "PYTHONPATH": str(_common.REPO), "HF_DATASETS_DISABLE_PROGRESS_BARS": "1"}
    ok = True
    with _common.work_dir(args.work_dir) as work:
        distinct = make_images(work / "images", args.distinct, 500, 3000)
        server, base = serve(work / "served")
        try:
            for count in (int(n) for n in args.images.split(",")):
                parquet = work / f"urls-{count}.parquet"
                url_parquet(parquet, work / "served", base, count, distinct)
                for resolution in (int(r) for r in args.resolutions.split(",")):
                    ok &= _case(work, parquet, count, resolution, env, args)
        finally:
            server.terminate()
            server.wait()
    return 0 if ok else 1


def _case(work: Path, parquet: Path, count: int, resolution: int, env: dict, args) -> bool:
    print(f"\n-- {count} images, short side {resolution}")
    results: dict[str, list[dict]] = {"ours": [], "img2dataset": []}
    sizes = {}
    for round_ in range(args.rounds):
        for side in ("ours", "img2dataset"):
            out = work / f"out-{side}-{count}-{resolution}-{round_}"
            shutil.rmtree(out, ignore_errors=True)
            if side == "ours":
                command = ours_command(parquet, out, resolution, args.image_workers)
            else:
                command = img2dataset_command(args.img2dataset, parquet, out, resolution, count, args)
            result = run(command, env)
            results[side].append(result)
            print(
                f"   {side:<12} round {round_ + 1}: {result['wall']:6.2f} s  "
                f"{count / result['wall']:7.1f} img/s  "
                f"{result['cpu'] / count * 1000:6.1f} ms CPU/img  peak RSS {result['rss'] / 1e6:6.0f} MB "
                f"(largest process {result['largest'] / 1e6:5.0f} MB)  load before {result['load']:.2f}"
            )
            if round_ == 0:
                sizes[side] = ours_sizes(out) if side == "ours" else img2dataset_sizes(out)
            shutil.rmtree(out, ignore_errors=True)
    _check_sizes(sizes, count)
    rate = {side: sum(count / r["wall"] for r in runs) / len(runs) for side, runs in results.items()}
    cpu = {side: sum(r["cpu"] for r in runs) / len(runs) / count * 1000 for side, runs in results.items()}
    print(
        f"   mean: ours {rate['ours']:.1f} img/s ({cpu['ours']:.1f} ms CPU/img), "
        f"img2dataset {rate['img2dataset']:.1f} img/s ({cpu['img2dataset']:.1f} ms CPU/img)"
    )
    ratio = rate["ours"] / rate["img2dataset"]
    return _common.report(
        f"{count} @ {resolution}: ours / img2dataset", ratio, "x", f">= {GOAL}", ratio >= GOAL
    )


def _check_sizes(sizes: dict, count: int) -> None:
    ours, theirs = sizes["ours"], sizes["img2dataset"]
    if len(ours) != count or len(theirs) != count:
        raise RuntimeError(f"images stored: ours {len(ours)}, img2dataset {len(theirs)}, expected {count}")
    differ = [name for name in ours if ours[name] != theirs.get(name)]
    if differ:
        example = differ[0]
        raise RuntimeError(
            f"{len(differ)} sizes differ, e.g. {example}: {ours[example]} vs {theirs.get(example)}"
        )
    print(f"   all {count} output sizes identical on both sides")


if __name__ == "__main__":
    sys.exit(main())
