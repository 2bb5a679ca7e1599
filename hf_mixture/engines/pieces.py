"""An entry's source cut into pieces that are read independently and in order; each piece knows
where its rows start among the entry's rows and among the rows that pass the filters.

Positions are what ids (`<entry key>/<source row position>`), per-row seeds and the sampling
strategy (first/end/random over filtered positions) are made of, so a piece must know its offsets
before it selects a row. Row counts come from parquet footers when the pieces are row groups;
otherwise (JSON/CSV files, filters whose pass count is needed) from a counting pass.

Cut points, as the entry's builder declares (`PIECES`): `row_groups` (the generic `tabular`
builder) cuts a parquet file at row groups (about `piece_rows` rows a piece), any other file is one
piece; `files` (the per-source builders: webdataset tars, JSON/JSONL files, the source layouts, each
file read on its own) makes each file a piece; `none` (a builder that joins files) reads the whole
entry as one piece.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from hf_mixture.config.model import EntryConfig
from hf_mixture.errors import SourceError
from hf_mixture.filters import RowFilter
from hf_mixture.pipeline import needs_count
from hf_mixture.sources.tables import DEFAULT_BATCH_ROWS, file_format, parquet_file_for_streaming
from hf_mixture.storage import Storage, is_remote

PIECE_ROWS = 262_144


@dataclass(frozen=True)
class Piece:
    """Rows read together: `files` in order, or only `row_groups` of the parquet file `files[0]`;
    `rows` is known (from footers) only for row-group pieces."""

    index: int
    files: tuple[str, ...]
    row_groups: tuple[int, ...] | None = None
    rows: int | None = None


@dataclass(frozen=True)
class PieceStart:
    """Where a piece's rows start: among the entry's rows and among those passing the filters."""

    position: int
    filtered: int


CUTS = ("none", "files", "row_groups")


def plan_pieces(entry: EntryConfig, storage: Storage, cut: str, piece_rows: int = PIECE_ROWS) -> list[Piece]:
    """The pieces of `entry` in source order; `cut` (one of CUTS, the builder's `PIECES`): `none`,
    one piece; `files`, each file a piece; `row_groups`, each file a piece, parquet files each run of
    row groups of about `piece_rows` rows."""
    if cut not in CUTS:
        raise ValueError(f"unknown piece cut {cut!r}; use one of {', '.join(CUTS)}")
    if cut == "none":
        return [Piece(0, tuple(entry.files))]
    pieces: list[Piece] = []
    for path in entry.files:
        if cut == "files" or file_format(path) != "parquet":
            pieces.append(Piece(len(pieces), (path,)))
            continue
        for groups, rows in _row_group_runs(_row_group_rows(storage, path), piece_rows):
            pieces.append(Piece(len(pieces), (path,), groups, rows))
    return pieces


def needs_counting(entry: EntryConfig, pieces: Sequence[Piece], filters: Sequence[RowFilter]) -> bool:
    """Whether a counting pass must run before selecting: a piece's start is unknown (a file after
    the first without a footer count), or the strategy depends on filtered positions or their total."""
    unknown = any(p.rows is None for p in pieces[:-1])
    positional = entry.sampling.kind not in ("all", "dup")
    total_unknown = needs_count(entry) and (bool(filters) or any(p.rows is None for p in pieces))
    return unknown or (bool(filters) and positional) or total_unknown


def piece_starts(
    pieces: Sequence[Piece], counts: dict[int, tuple[int, int]] | None
) -> tuple[list[PieceStart], int | None]:
    """Each piece's start and the entry's filtered row total, from `counts` (piece index -> (rows,
    passing), a counting pass) or, without it, from the footer counts (filtered = all rows: the
    strategy does not depend on filtered positions then, see `needs_counting`). The total is None
    when the last piece's size is unknown."""
    if counts is not None:
        rows = [counts[p.index][0] for p in pieces]
        passing = [counts[p.index][1] for p in pieces]
    else:
        rows = [p.rows for p in pieces]
        passing = rows
    starts, total = _starts(rows), _starts(passing)
    return [PieceStart(int(a), int(b)) for a, b in zip(starts, total)], (
        None if passing and passing[-1] is None else int(sum(passing))
    )


def row_group_tables(storage: Storage, piece: Piece, columns: Sequence[str] | None) -> Iterator[pa.Table]:
    """The rows of a row-group piece, `DEFAULT_BATCH_ROWS` at a time (as `TableReader` reads
    parquet); SourceError naming the file when it cannot be read."""
    path = piece.files[0]
    try:
        source = storage.open(path) if is_remote(path) else path
        parquet_file = parquet_file_for_streaming(source)
        batches = parquet_file.iter_batches(
            batch_size=DEFAULT_BATCH_ROWS,
            row_groups=list(piece.row_groups),
            columns=list(columns) if columns else None,
        )
        for batch in batches:
            yield pa.Table.from_batches([batch])
    except (OSError, ValueError, pa.ArrowException) as err:
        groups = f"{piece.row_groups[0]}-{piece.row_groups[-1]}"
        raise SourceError(f"{path}: cannot read row groups {groups} ({type(err).__name__}: {err})") from err


def _row_group_rows(storage: Storage, path: str) -> list[int]:
    try:
        with storage.open(path) as handle:
            metadata = pq.read_metadata(handle)
    except (OSError, ValueError, pa.ArrowException) as err:
        raise SourceError(f"{path}: cannot read the parquet footer ({type(err).__name__}: {err})") from err
    return [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)]


def _row_group_runs(group_rows: Sequence[int], piece_rows: int) -> Iterator[tuple[tuple[int, ...], int]]:
    """Consecutive row groups holding about `piece_rows` rows together (at least one group each)."""
    run: list[int] = []
    rows = 0
    for index, n in enumerate(group_rows):
        run.append(index)
        rows += n
        if rows >= piece_rows:
            yield tuple(run), rows
            run, rows = [], 0
    if run:
        yield tuple(run), rows


def _starts(sizes: Sequence[int | None]) -> np.ndarray:
    """Exclusive prefix sums: where each piece starts (a start after an unknown size is invalid,
    which `needs_counting` rules out)."""
    known = np.array([0 if s is None else s for s in sizes], dtype=np.int64)
    return np.concatenate([[0], np.cumsum(known)[:-1]]) if len(known) else known
