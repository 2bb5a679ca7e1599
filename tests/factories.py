"""Tiny real inputs for tests: images, parquet/JSON files and stage YAML files."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import yaml
from PIL import Image


def jpeg_bytes(size: tuple[int, int] = (32, 24), color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A small JPEG of one colour."""
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def write_image(path: Path, size: tuple[int, int] = (32, 24), color=(200, 30, 30)) -> Path:
    """Write a small JPEG at `path` (folders created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(jpeg_bytes(size, color))
    return path


def write_parquet(path: Path, columns: dict) -> Path:
    """Write `columns` (name -> list) as a parquet file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(columns), path)
    return path


def write_json(path: Path, records: list, *, lines: bool = False) -> Path:
    """Write records as a JSON array, or as JSON lines."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "\n".join(json.dumps(r) for r in records) if lines else json.dumps(records)
    path.write_text(text, encoding="utf-8")
    return path


def write_stage(path: Path, entries: list[dict], **top) -> Path:
    """Write a stage YAML file with `datasets: entries` and other top-level keys."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({"datasets": entries, **top}, sort_keys=False), encoding="utf-8")
    return path


def t2i_table(tmp_path: Path, n: int, *, scores=None, sizes=None, name: str = "t2i") -> Path:
    """A t2i parquet of `n` rows with real images under tmp_path/images/<name>/ and the
    LaViDa-O guide's columns; `scores`/`sizes` override fltLaionAesthScore and (h, w)."""
    paths = [
        str(write_image(tmp_path / "images" / name / f"{i:03d}.jpg", color=(i * 9 % 255, 60, 90)))
        for i in range(n)
    ]
    scores = scores if scores is not None else [6.0] * n
    sizes = sizes if sizes is not None else [(1024, 1024)] * n
    return write_parquet(
        tmp_path / f"{name}.parquet",
        {
            "s3_path": paths,
            "caption": [f"caption {name} {i}" for i in range(n)],
            "fltLaionAesthScore": scores,
            "intHeight": [h for h, _ in sizes],
            "intWidth": [w for _, w in sizes],
        },
    )


def t2i_entry(json_path, name: str = "t2i", **keys) -> dict:
    """A LaViDa-O t2i entry for `json_path`."""
    return {
        "name": name,
        "json_path": str(json_path),
        "sampling_strategy": "all",
        "preprocess_fn": "preproces_text_to_image_generation_s3",
        **keys,
    }


def write_tar(path: Path, members: dict[str, bytes]) -> Path:
    """Write a plain tar of `members` (name -> bytes), in the given order."""
    with tarfile.open(path, "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def source_entry(
    path, preprocess: str = "preproces_text_to_image_generation_s3", name: str = "e", **keys
) -> dict:
    """A YAML entry reading `path` with `preprocess` (the generic builder unless `builder=` is given)."""
    return {"name": name, "json_path": str(path), "preprocess_fn": preprocess, **keys}


def build_quietly(tmp_path: Path, *entries: dict):
    """Build stage `s` of `entries` from tmp_path/s.yaml into tmp_path/out (no output printed)."""
    from hf_mixture.build import build_stage

    config = write_stage(tmp_path / "s.yaml", list(entries), stage={"name": "s"})
    return build_stage(config, tmp_path / "out", echo=lambda *_: None)


def written_rows(result) -> list[dict]:
    """The rows a build wrote, from its parquet shards."""
    return [row for path in result.written.files for row in pq.read_table(path).to_pylist()]


def small_t2i_stage(folder: Path, name: str, rows: int) -> Path:
    """`folder/<name>.yaml`: stage `name` of one t2i entry `t` over `rows` real JPEGs."""
    colours = [(i * 50 % 255, 20, 90) for i in range(rows)]
    images = [str(write_image(folder / "img" / name / f"{i}.jpg", color=c)) for i, c in enumerate(colours)]
    captions = [f"c{i}" for i in range(rows)]
    data = write_parquet(folder / f"{name}.parquet", {"s3_path": images, "caption": captions})
    entry = {"name": "t", "json_path": str(data), "sampling_strategy": "all",
             "preprocess_fn": "preproces_text_to_image_generation_s3"}  # fmt: skip
    return write_stage(folder / f"{name}.yaml", [entry], stage={"name": name})


def cli_env(**extra: str) -> dict:
    """The environment for running `python -m hf_mixture.cli.main` on this checkout."""
    repo = Path(__file__).parents[1]
    return {**os.environ, "PYTHONPATH": str(repo), "HF_DATASETS_DISABLE_PROGRESS_BARS": "1", **extra}


def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run `hf-mixture ARGS` in a subprocess (this checkout), output captured as text."""
    command = [sys.executable, "-m", "hf_mixture.cli.main", *args]
    return subprocess.run(command, capture_output=True, text=True, env=cli_env(**(env or {})), timeout=300)


def llava_stage_with_dropped_repairs(folder: Path) -> Path:
    """`folder/s.yaml`: stage `s`, one llava entry of 4 rows without an `<image>` token (each gets
    `repair:image_token_added`), of which row 1's image is missing and row 2's answer is empty
    (both dropped after the fix), plus one text-only row: 3 rows written, 2 of them repaired."""
    turns = [{"from": "human", "value": "What is it?"}, {"from": "gpt", "value": "A cat."}]
    empty_answer = [turns[0], {"from": "gpt", "value": ""}]
    rows = [{"image": str(write_image(folder / "img" / f"{i}.jpg")), "conversations": turns} for i in (0, 3)]
    rows[1:1] = [
        {"image": str(folder / "img" / "missing.jpg"), "conversations": turns},
        {"image": str(write_image(folder / "img" / "2.jpg")), "conversations": empty_answer},
    ]
    rows.append({"conversations": turns})
    data = write_json(folder / "data.json", rows)
    return write_stage(folder / "s.yaml", [{"name": "mine", "json_path": str(data), "builder": "llava"}])
