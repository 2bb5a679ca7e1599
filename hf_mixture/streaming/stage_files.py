"""The parquet files of a built stage and their row groups: what `load_mixture` reads.

`stage_files` resolves the files of a stage the way `datasets.load_dataset(repo, stage)` does
(`load_dataset_builder(...).config.data_files`: local paths, or `hf://` URLs for a Hub repo), then
reads each file's footer for its row groups. `StageFiles.read_block` reads one row group.
"""

from __future__ import annotations

import json
import os
import posixpath
from dataclasses import dataclass, field
from pathlib import Path

import datasets
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from hf_mixture.errors import HfMixtureError
from hf_mixture.export.report import REPORT_NAME
from hf_mixture.storage import Storage
from hf_mixture.streaming.order import Block

OPEN_FILES = 8  # parquet files a reader keeps open


class StageNotFoundError(HfMixtureError, ValueError):
    """The repo or folder has no config with the stage's name."""


@dataclass
class StageFiles:
    """A stage's files, row groups (`blocks`, in file order) and features; picklable (files are
    reopened in each DataLoader worker)."""

    files: tuple[str, ...]
    blocks: tuple[Block, ...]
    features: datasets.Features
    storage: Storage
    _open: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def rows(self) -> int:
        return sum(b.rows for b in self.blocks)

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_open": {}}

    def parquet(self, index: int) -> pq.ParquetFile:
        """File `index`, opened once per process (at most OPEN_FILES at a time). A forked
        DataLoader worker opens its own: a file object shared with the parent shares its offset."""
        if self._open.get("pid") != os.getpid():
            self._open.clear()
            self._open["pid"] = os.getpid()
        if index not in self._open:
            if len(self._open) > OPEN_FILES:
                self._open.pop(next(k for k in self._open if k != "pid"))[1].close()
            handle = self.storage.open(self.files[index])
            self._open[index] = (pq.ParquetFile(handle), handle)
        return self._open[index][0]

    def close(self) -> None:
        """Close the files this process opened."""
        for key, opened in list(self._open.items()):
            if key != "pid" and os.getpid() == self._open.get("pid"):
                opened[1].close()
        self._open.clear()

    def read_block(self, block: Block, columns: list[str] | None = None) -> pa.Table:
        """One row group as an Arrow table."""
        return self.parquet(block.file).read_row_group(block.row_group, columns=columns)

    def column_codes(self, column: str) -> tuple[list[str], list[np.ndarray]]:
        """The distinct values of a string column (sorted) and, per block, each row's value index."""
        values = [self.read_block(b, [column])[column].to_numpy(zero_copy_only=False) for b in self.blocks]
        names = sorted({str(v) for part in values for v in np.unique(part.astype(str))})
        lookup = {name: i for i, name in enumerate(names)}
        return names, [np.array([lookup[str(v)] for v in part], dtype=np.int32) for part in values]

    def report(self) -> dict | None:
        """The stage's build report (`build_report.json` next to its files), or None."""
        path = posixpath.join(posixpath.dirname(self.files[0]), REPORT_NAME)
        try:
            with self.storage.open(path) as handle:
                return json.loads(handle.read())
        except (FileNotFoundError, OSError):
            return None


def stage_files(
    source: str, stage: str, *, split: str, revision: str | None, token: str | bool | None
) -> StageFiles:
    """The files and row groups of `stage` in the repo or folder `source`; StageNotFoundError
    when it has no such config."""
    if Path(source).is_dir():  # datasets reads a relative "." as a Hub repo id
        source = str(Path(source).absolute())
    try:
        builder = datasets.load_dataset_builder(source, stage, revision=revision, token=token)
    except ValueError as err:
        if "BuilderConfig" in str(err) and "not found" in str(err):
            raise StageNotFoundError(
                f"{source} has no stage {stage!r} ({err}); build it with `hf-mixture build <stage.yaml> "
                f"--out {source}` or pick one of the configs its README lists"
            ) from err
        raise
    files = tuple(str(f) for f in (builder.config.data_files or {}).get(split, []))
    if not files:
        raise StageNotFoundError(f"stage {stage!r} of {source} has no {split!r} files")
    options = {"hf": {"token": token}} if isinstance(token, str) else {}
    storage = Storage(base_dir=Path.cwd(), storage_options=options)
    stage_data = StageFiles(files, (), datasets.Features(), storage)
    blocks = []
    for index in range(len(files)):
        metadata = stage_data.parquet(index).metadata
        blocks += [Block(index, g, metadata.row_group(g).num_rows) for g in range(metadata.num_row_groups)]
    stage_data.blocks = tuple(blocks)
    stage_data.features = datasets.Features.from_arrow_schema(stage_data.parquet(0).schema_arrow)
    stage_data.close()
    return stage_data
