"""Synthetic sources the benchmarks build stages from: t2i parquet files and small JPEGs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from PIL import Image

T2I_SCHEMA = pa.schema(
    [
        ("s3_path", pa.string()),
        ("caption", pa.string()),
        ("fltLaionAesthScore", pa.float64()),
        ("intHeight", pa.int32()),
        ("intWidth", pa.int32()),
    ]
)


def make_jpegs(folder: Path, count: int, short_side: int, seed: int = 0) -> list[str]:
    """`count` small photo-like JPEGs with short side `short_side`; their names."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    names = []
    for i in range(count):
        name = f"{i:06d}.jpg"
        names.append(name)
        if (folder / name).exists():
            continue
        long_side = int(rng.integers(short_side, short_side * 3 // 2 + 1))
        size = (long_side, short_side) if i % 2 else (short_side, long_side)
        coarse = Image.fromarray(rng.integers(0, 256, (6, 8, 3), dtype=np.uint8)).resize(
            size, Image.Resampling.BICUBIC
        )
        grain = Image.effect_noise(size, 20).convert("RGB")
        Image.blend(coarse, grain, 0.1).save(folder / name, "JPEG", quality=90)
    return names


def make_t2i_parquet(
    path: Path, rows: int, image_names: list[str], prefix: str, seed: int = 0, row_group: int = 65536
) -> None:
    """A blip3o-like t2i parquet of `rows` rows whose `s3_path` cycle over `image_names` under
    `prefix`; scores around 5.5 (most pass LaViDa-O's implicit cutoff of 5), sizes 256-2000."""
    rng = np.random.default_rng(seed)
    names = pa.array([f"{prefix}{n}" for n in image_names], pa.string())
    words = np.array("a photo of the red blue cat dog on in with tree house city night old new".split())
    captions = pa.array([" ".join(rng.choice(words, rng.integers(4, 30))) for _ in range(2048)])
    with pq.ParquetWriter(path, T2I_SCHEMA) as writer:
        for start in range(0, rows, row_group):
            n = min(row_group, rows - start)
            index = pa.array((np.arange(start, start + n) % len(names)).astype(np.int64))
            writer.write_table(
                pa.table(
                    {
                        "s3_path": names.take(index),
                        "caption": captions.take(pa.array(rng.integers(0, len(captions), n))),
                        "fltLaionAesthScore": pa.array(rng.normal(5.6, 0.5, n)),
                        "intHeight": pa.array(rng.integers(256, 2000, n).astype(np.int32)),
                        "intWidth": pa.array(rng.integers(256, 2000, n).astype(np.int32)),
                    },
                    schema=T2I_SCHEMA,
                )
            )


def passing_rows(path: Path) -> int:
    """Rows of a t2i parquet above LaViDa-O's implicit aesthetic cutoff (5)."""
    scores = pq.read_table(path, columns=["fltLaionAesthScore"])["fltLaionAesthScore"]
    return int(pc.sum(pc.greater(scores, 5.0)).as_py())


def stage_yaml(name: str, resolution: int, image_dir: Path, entries: list[dict]) -> str:
    """A stage file: `entries` are dicts of entry keys (written as YAML flow mappings)."""
    import json

    lines = [
        "stage:",
        f"  name: {name}",
        f"  resolution: {resolution}",
        "  seed: 42",
        "  path_mappings:",
        f'    "s3://bench/": "{image_dir}/"',
        "datasets:",
    ]
    lines += [f"  - {json.dumps(entry)}" for entry in entries]
    return "\n".join(lines) + "\n"
