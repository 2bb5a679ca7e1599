"""Write a stage in exactly the layout `Dataset.push_to_hub(config_name=stage)` writes.

`<out>/<stage>/train-NNNNN-of-NNNNN.parquet`. Shards are written under a temporary folder
`<out>/.<stage>-tmp<pid>-*` and moved into place (one atomic rename each) only when all are
complete, so the `<stage>/train-*` glob never matches a partial file; stale shards of an earlier
build of the stage are removed after the new ones are in place. A build that was killed leaves
its temporary folder behind; the next build of the stage removes it (when its process is gone).
"""

from __future__ import annotations

import math
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import datasets
import pyarrow.parquet as pq

SPLIT = "train"
MAX_SHARD_BYTES = 500 * 1024**2
ROW_GROUP_BYTES = 32 * 1024**2


@dataclass(frozen=True)
class WrittenStage:
    """The shards of one stage and their sizes."""

    files: tuple[Path, ...]
    num_examples: int
    num_bytes: int
    download_size: int


def shard_name(index: int, count: int, split: str = SPLIT) -> str:
    """`train-00000-of-00002.parquet`."""
    return f"{split}-{index:05d}-of-{count:05d}.parquet"


def data_glob(stage: str, split: str = SPLIT) -> str:
    """The `data_files` path of a stage's split in the README: `s2-256/train-*`."""
    return f"{stage}/{split}-*"


def write_stage(
    dataset: datasets.Dataset,
    out_dir: str | Path,
    stage: str,
    *,
    row_bytes: float,
    num_shards: int | None = None,
) -> WrittenStage:
    """Write `dataset` as the parquet shards of `stage` under `out_dir`; `row_bytes` (average
    encoded row size) sizes shards (<= 500 MB) and row groups (about 32 MB)."""
    out_dir = Path(out_dir)
    stage_dir = out_dir / stage
    stage_dir.mkdir(parents=True, exist_ok=True)
    count = num_shards or max(1, math.ceil(len(dataset) * row_bytes / MAX_SHARD_BYTES))
    count = max(1, min(count, len(dataset)))
    rows_per_group = max(1, min(10_000, int(ROW_GROUP_BYTES / max(row_bytes, 1.0))))
    remove_leftovers(out_dir, stage)
    staging = Path(tempfile.mkdtemp(prefix=staging_prefix(stage), dir=out_dir))
    try:
        names = [shard_name(i, count) for i in range(count)]
        for index, name in enumerate(names):
            shard = dataset.shard(num_shards=count, index=index, contiguous=True)
            shard.to_parquet(str(staging / name), batch_size=rows_per_group)
        _replace_shards(stage_dir, staging, names)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    files = tuple(stage_dir / name for name in names)
    return WrittenStage(
        files=files,
        num_examples=len(dataset),
        num_bytes=_uncompressed_bytes(files),
        download_size=sum(f.stat().st_size for f in files),
    )


def staging_prefix(stage: str, pid: int | None = None) -> str:
    """The name start of a build's temporary folder: `.<stage>-tmp<pid>-`."""
    return f".{stage}-tmp{os.getpid() if pid is None else pid}-"


def remove_leftovers(out_dir: str | Path, stage: str) -> list[Path]:
    """Remove the temporary folders of `stage` that builds which no longer run left in `out_dir`
    (killed mid-write); a running build's folder is kept. Returns what was removed."""
    pattern = re.compile(rf"^\.{re.escape(stage)}-tmp(\d+)-[^/]+$")
    removed = []
    for path in Path(out_dir).glob(f".{glob_escape(stage)}-tmp*"):
        match = pattern.match(path.name)
        if match and path.is_dir() and not _process_alive(int(match.group(1))):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def glob_escape(text: str) -> str:
    """`text` with glob characters taken literally."""
    return re.sub(r"([*?\[])", r"[\1]", text)


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # this process is not building this stage yet: anything of ours is stale
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by another user
    return True


def _replace_shards(stage_dir: Path, staging: Path, names: list[str]) -> None:
    """New shards renamed into place first, then stale ones removed: the glob never matches none."""
    for name in names:
        os.replace(staging / name, stage_dir / name)
    for stale in stage_dir.glob(f"{SPLIT}-*"):
        if stale.name not in names:
            stale.unlink()


def _uncompressed_bytes(files) -> int:
    total = 0
    for path in files:
        metadata = pq.read_metadata(path)
        total += sum(metadata.row_group(i).total_byte_size for i in range(metadata.num_row_groups))
    return total
