"""Rows/s of `load_mixture` through a 2-worker PyTorch DataLoader vs the same parquet read with
pyarrow + PIL decode in a plain loop. Goal: ratio >= 0.8.

    python benchmarks/bench_dataloader.py                      # a synthetic 256 px stage in a temp folder
    python benchmarks/bench_dataloader.py --mixture out/mixture --stage s2-256

Both sides read every column, decode every `images` / `image_gen` image and collate batches of 32
rows into one RGB uint8 tensor with the same function (`to_tensors`), so the comparison is the
reading path only. The DataLoader side also shuffles (windows of 1000 rows) and pays for its worker
start-up, which is included in its time. Each side runs `--repeat` times, alternating; the best
run counts. Exit code 0 when the goal is met, 1 otherwise.
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from PIL import Image

GOAL = 0.8
IMAGE_COLUMNS = ("images", "image_gen")


def make_stage(folder: Path, stage: str, rows: int, shards: int, size: int) -> None:
    """A stage of `rows` t2i rows with one `size` px JPEG target each, in `shards` files."""
    import datasets

    from hf_mixture.schema import FEATURES, MICRO_CONDITIONS

    rng = np.random.default_rng(0)
    base = np.linspace(0, 255, size, dtype=np.float32)
    images = []
    for i in range(16):  # 16 distinct images, reused: encoding cost is not what is measured
        pixels = base[None, :, None] + base[:, None, None] * (i / 16) + rng.normal(0, 20, (size, size, 3))
        buffer = io.BytesIO()
        Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(buffer, format="JPEG", quality=90)
        images.append(buffer.getvalue())
    prompt = f"Generate an image with the caption: a test picture number {{i}}. {MICRO_CONDITIONS}"

    def record(i: int) -> dict:
        return {
            "id": f"bench/{i}", "source": "bench", "task": "t2i", "length_group": "default",
            "conversations": [
                {"from": "human", "value": prompt.format(i=i)}, {"from": "gpt", "value": "Sure <image_gen>"}
            ],
            "images": [], "image_gen": [{"bytes": images[i % 16], "path": f"{i}.jpg"}], "image_gen_enc": [],
            "pad_image_gen": False, "do_not_mask_text": False, "reweight": None, "gen_score": 6.0,
            "hpsv2": None, "original_width": size, "original_height": size, "license": None,
        }  # fmt: skip

    stage_dir = folder / stage
    stage_dir.mkdir(parents=True, exist_ok=True)
    per_shard = -(-rows // shards)
    for s in range(shards):
        part = [record(i) for i in range(s * per_shard, min(rows, (s + 1) * per_shard))]
        datasets.Dataset.from_list(part, features=FEATURES).to_parquet(
            str(stage_dir / f"train-{s:05d}-of-{shards:05d}.parquet"), batch_size=250
        )
    (folder / "README.md").write_text(
        f"---\nconfigs:\n- config_name: {stage}\n  data_files:\n"
        f"  - split: train\n    path: {stage}/train-*\n---\n",
        encoding="utf-8",
    )


def plain_loop(folder: Path, stage: str, batch_size: int) -> int:
    """pyarrow + PIL: every row of every shard, images decoded, batched like the DataLoader side."""
    rows, batch = 0, []
    for path in sorted((folder / stage).glob("train-*.parquet")):
        for record_batch in pq.ParquetFile(path).iter_batches(batch_size=256):
            for row in record_batch.to_pylist():
                for column in IMAGE_COLUMNS:
                    row[column] = [Image.open(io.BytesIO(image["bytes"])) for image in row[column] or []]
                batch.append(row)
                if len(batch) == batch_size:
                    rows += to_tensors(batch)["rows"]
                    batch = []
    return rows + (to_tensors(batch)["rows"] if batch else 0)


def to_tensors(rows: list[dict]) -> dict:
    """Collate: images -> RGB uint8 arrays -> one tensor per batch (a list when sizes differ).
    Run in the DataLoader workers, so the batch reaches the training process through shared memory."""
    import torch

    arrays = [_rgb_array(image) for row in rows for c in IMAGE_COLUMNS for image in row[c] or []]
    same = len({a.shape for a in arrays}) == 1
    images = torch.from_numpy(np.stack(arrays)) if same else [torch.from_numpy(a) for a in arrays]
    return {"ids": [row["id"] for row in rows], "images": images, "rows": len(rows)}


def _rgb_array(image: Image.Image) -> np.ndarray:
    return np.asarray(image if image.mode == "RGB" else image.convert("RGB"))


def dataloader_loop(folder: Path, stage: str, workers: int, batch_size: int) -> int:
    """`load_mixture` through a torch DataLoader with `workers` workers."""
    import torch.utils.data

    from hf_mixture.streaming import load_mixture

    stream = load_mixture(folder, stage, num_workers=workers, batch_size=batch_size, shuffle_buffer=1000)
    loader = torch.utils.data.DataLoader(
        stream, batch_size=batch_size, num_workers=workers, collate_fn=to_tensors
    )
    return sum(batch["rows"] for batch in loader)


def timed(fn, *args) -> tuple[int, float]:
    start = time.perf_counter()
    rows = fn(*args)
    return rows, time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mixture", type=Path, help="a built mixture folder (default: make a synthetic one)")
    parser.add_argument("--stage", default="bench")
    parser.add_argument("--rows", type=int, default=4000, help="rows of the synthetic stage")
    parser.add_argument("--shards", type=int, default=4, help="files of the synthetic stage")
    parser.add_argument("--size", type=int, default=256, help="image side of the synthetic stage")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each side; the best is kept")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-dataloader-") as tmp:
        folder = args.mixture
        if folder is None:
            folder = Path(tmp)
            make_stage(folder, args.stage, args.rows, args.shards, args.size)
        plain_runs, loader_runs = [], []
        for _ in range(args.repeat):  # alternate, so a change in machine load hits both sides
            plain_runs.append(timed(plain_loop, folder, args.stage, args.batch_size))
            loader_runs.append(timed(dataloader_loop, folder, args.stage, args.workers, args.batch_size))
        plain = min(plain_runs, key=lambda r: r[1])
        loader = min(loader_runs, key=lambda r: r[1])
    if plain[0] != loader[0]:
        print(f"row counts differ: plain loop {plain[0]}, DataLoader {loader[0]}")
        return 1
    plain_rate, loader_rate = plain[0] / plain[1], loader[0] / loader[1]
    ratio = loader_rate / plain_rate
    print(f"rows: {plain[0]}")
    print(f"pyarrow + PIL plain loop:          {plain_rate:10.1f} rows/s")
    print(f"load_mixture + DataLoader({args.workers} workers): {loader_rate:10.1f} rows/s")
    print(f"ratio {ratio:.2f} (goal >= {GOAL}): {'met' if ratio >= GOAL else 'NOT met'}")
    return 0 if ratio >= GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
