"""The columns of every file of a glob, for `check`: a later file that lacks a column the entry
reads is found before the build (parquet: the footer; CSV: the header; JSON: the first record)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from hf_mixture.sources.tables import TableReader
from hf_mixture.storage import Storage


def files_lacking(
    storage: Storage, files: Sequence[str], columns: Iterable[str]
) -> list[tuple[str, list[str]]]:
    """(file, the `columns` it lacks) for each of `files` that lacks any; SourceError naming a
    file that cannot be read."""
    wanted = list(dict.fromkeys(columns))
    lacking = []
    for path in files:
        present = set(TableReader(storage, [path]).column_names())
        if not present:  # a file without records: nothing of it reaches the build
            continue
        missing = [c for c in wanted if c not in present]
        if missing:
            lacking.append((path, missing))
    return lacking
