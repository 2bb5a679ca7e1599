"""`StageStream`: the rows of a built stage for one rank, in the epoch's global order (`order.py`).

- every rank reads the same number of rows per epoch (its stride of the global order, the
  remainder repeated or dropped: `order.REMAINDERS`); `len()` is that number (rows mode) or the
  steps of the epoch (group mode);
- each epoch is a fresh seeded order over the whole stage; a reader holds one window of encoded
  rows (at least `shuffle_buffer` rows, at least one row group);
- the state is the epoch and the global count of positions consumed (`consumed`), so a state
  resumes exactly, and a `global_state` resumes at any world size, worker count or batch size
  (mosaicml-streaming's elastic rule);
- group mode (`groups=`): one length group per step for every rank (LaViDa-O's sampler,
  lavida-o-loader.md 1.4), `rows per step` rows of it per rank, each item a list of rows.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from hf_mixture.errors import HfMixtureError
from hf_mixture.streaming.order import (
    REMAINDERS,
    Reader,
    epoch_length,
    epoch_windows,
    reader_plan,
    rows_per_worker,
    window_permutation,
)
from hf_mixture.streaming.rows import (
    RowPreparer,
    in_worker,
    read_epoch,
    shared_epoch,
    worker_info,
    write_epoch,
)
from hf_mixture.streaming.stage_files import StageFiles
from hf_mixture.streaming.transforms import RowTransform

STATE_VERSION = 2
STATE_KIND = "hf-mixture stage stream"


class StateMismatchError(HfMixtureError, ValueError):
    """A saved stream state does not fit the stream it is loaded into."""


@dataclass(frozen=True)
class GroupBatches:
    """Group mode: per length group (sorted names), the rows one rank takes per step, the
    per-step probability, and each block's rows as group indices."""

    names: tuple[str, ...]
    rows_per_step: tuple[int, ...]
    step_probability: tuple[float, ...]
    codes: tuple[np.ndarray, ...]


class StageStream(RowPreparer):
    """Rows (or single-group batches) of a built stage for one rank; resumable, elastic.

    Args:
        files: the stage's files and row groups (`stage_files`).
        seed, shuffle_buffer: the global order (the same on every rank).
        transform, decode: per row, after the shuffle.
        rank, world_size: this process's place in the job.
        batch_size: the DataLoader's batch size (rows mode) or the per-device batch of LaViDa-O
            (group mode); DataLoader workers yield whole batches of the rank's order.
        remainder: "repeat" or "drop" (order.REMAINDERS).
        epoch: the starting epoch.
        groups: group mode when given.
    """

    def __init__(
        self,
        files: StageFiles,
        *,
        seed: int = 42,
        shuffle_buffer: int = 1000,
        transform: RowTransform | None = None,
        decode: bool = True,
        rank: int = 0,
        world_size: int = 1,
        batch_size: int = 1,
        remainder: str = "repeat",
        epoch: int = 0,
        groups: GroupBatches | None = None,
    ):
        if shuffle_buffer < 1:
            raise ValueError(f"shuffle_buffer must be >= 1 (1 = no shuffle), got {shuffle_buffer}")
        if remainder not in REMAINDERS:
            raise ValueError(f"remainder must be one of {REMAINDERS}, got {remainder!r}")
        super().__init__(files.features, seed=seed, transform=transform, decode=decode)
        self.files, self.shuffle_buffer, self.remainder = files, int(shuffle_buffer), remainder
        self.rank, self.world_size, self.batch_size = int(rank), int(world_size), int(batch_size)
        self.groups = groups
        self._epoch_box = shared_epoch(epoch)
        self._pending: dict | None = None
        self._state: dict | None = None

    # ---- epochs and sizes --------------------------------------------------------------------

    @property
    def epoch(self) -> int:
        return read_epoch(self._epoch_box)

    def set_epoch(self, epoch: int) -> None:
        """Start epoch `epoch` at the next iteration; a state loaded for another epoch is dropped."""
        if int(epoch) != self.epoch:
            self._state = None
            if self._pending is not None and self._pending["epoch"] != int(epoch):
                self._pending = None
        write_epoch(self._epoch_box, epoch)

    @property
    def features(self):
        return self.files.features

    @property
    def rows(self) -> int:
        """Rows of the stage."""
        return self.files.rows

    def epoch_positions(self, world_size: int | None = None) -> int:
        """Positions of the epoch's order the job consumes: rows (a multiple of the world size) in
        rows mode, steps in group mode."""
        world_size = world_size or self.world_size
        if self.groups is None:
            return epoch_length(self.rows, world_size, self.remainder)
        return len(self._schedule(self.epoch, world_size)[0])

    def __len__(self) -> int:
        """Rows this rank reads per epoch (rows mode) or steps per epoch (group mode)."""
        if self.groups is None:
            return self.epoch_positions() // self.world_size
        return self.epoch_positions()

    # ---- state -------------------------------------------------------------------------------

    def state_dict(self) -> dict:
        """Where the stream is: epoch and `consumed` (global positions consumed by the job:
        rows, or steps in group mode), with what fixes the order and the reader."""
        if self._pending is not None:
            return copy.deepcopy(self._pending)
        if self._state is not None:
            return dict(self._state)
        return self._position(self.epoch, 0, None, self.epoch_positions())

    def _position(self, epoch: int, consumed: int, reader: Reader | None, length: int) -> dict:
        return {
            "version": STATE_VERSION,
            "kind": STATE_KIND,
            "scope": "worker",
            "mode": "rows" if self.groups is None else "groups",
            "seed": self.seed,
            "shuffle_buffer": self.shuffle_buffer,
            "remainder": self.remainder,
            "rows": self.rows,
            "epoch": epoch,
            "consumed": consumed,
            "length": length,
            "world_size": self.world_size,
            "workers": reader.workers if reader else None,
            "batch_size": self.batch_size,
        }

    def load_state_dict(self, state: dict) -> None:
        """Resume after the position the state was saved at (its epoch is adopted: `set_epoch` in
        the main process, the next iteration in a DataLoader worker). A state saved at the end of
        epoch `e` into a stream already set to epoch `e + 1` is a no-op."""
        check_order(state, self)
        if state["consumed"] >= state["length"] and int(state["epoch"]) + 1 == self.epoch:
            self._pending = None
            return
        if not in_worker():  # a worker's epoch is shared with the main process: leave it alone
            self.set_epoch(int(state["epoch"]))
        self._pending = copy.deepcopy(state)

    # ---- iteration ---------------------------------------------------------------------------

    def __iter__(self) -> Iterator:
        worker, workers = worker_info()
        reader = Reader(self.rank, self.world_size, worker, workers, self.batch_size)
        start = self._pending
        self._pending = None
        consumed = check_reader(start, self, reader) if start else 0
        epoch = int(start["epoch"]) if start else self.epoch
        length = self.epoch_positions()
        self._state = self._position(epoch, consumed, reader, length)
        if self.groups is None:
            return self._rows(epoch, reader, consumed, length)
        return self._group_batches(epoch, reader, consumed, length)

    def _rows(self, epoch: int, reader: Reader, consumed: int, length: int) -> Iterator[dict]:
        first = -(-(consumed - reader.rank) // reader.world_size)
        windows = epoch_windows(self.files.blocks, self.seed, epoch, self.shuffle_buffer)
        for window, local, ranks_rows in reader_plan(windows, self.rows, length, reader, first):
            table = self._window_table(window)
            order = window_permutation(window, self.seed, epoch, self.shuffle_buffer)
            for row, k in zip(table.take(pa.array(order[local])).to_pylist(), ranks_rows.tolist()):
                self._state = self._position(epoch, reader.world_size * (k + 1), reader, length)
                yield self._prepare(row, epoch)

    def _window_table(self, window) -> pa.Table:
        return pa.concat_tables([self.files.read_block(block) for block in window.blocks])

    # ---- group mode --------------------------------------------------------------------------

    def _schedule(self, epoch: int, world_size: int) -> tuple[np.ndarray, np.ndarray]:
        """Group index and the group's own step count of every step of the epoch: each group gets
        ceil (repeat) or floor (drop) of its rows / (world_size x rows per step) steps, placed at
        jittered even intervals (seeded), so groups advance together and every row is used."""
        group_rows = np.bincount(np.concatenate(self.groups.codes), minlength=len(self.groups.names))
        keys, group_of, nth = [], [], []
        rng = np.random.default_rng([self.seed & 0xFFFFFFFF, epoch, 2])
        for g, rows in enumerate(group_rows.tolist()):
            per_step = world_size * self.groups.rows_per_step[g]
            steps = -(-rows // per_step) if self.remainder == "repeat" else rows // per_step
            keys.append((np.arange(steps) + rng.random(steps)) / max(steps, 1))
            group_of.append(np.full(steps, g))
            nth.append(np.arange(steps))
        order = np.argsort(np.concatenate(keys), kind="stable")
        return np.concatenate(group_of)[order], np.concatenate(nth)[order]

    def _group_positions(self, windows, epoch: int) -> list[np.ndarray]:
        """Per group, the global positions of its rows in the epoch's order."""
        codes = {(b.file, b.row_group): c for b, c in zip(self.files.blocks, self.groups.codes)}
        ordered = []
        for window in windows:
            window_codes = np.concatenate([codes[(b.file, b.row_group)] for b in window.blocks])
            ordered.append(window_codes[window_permutation(window, self.seed, epoch, self.shuffle_buffer)])
        everything = np.concatenate(ordered) if ordered else np.zeros(0, np.int32)
        return [np.flatnonzero(everything == g) for g in range(len(self.groups.names))]

    def _group_batches(self, epoch: int, reader: Reader, consumed: int, length: int) -> Iterator[list[dict]]:
        windows = epoch_windows(self.files.blocks, self.seed, epoch, self.shuffle_buffer)
        starts = np.array([w.start for w in windows])
        positions = self._group_positions(windows, epoch)
        group_of, nth = self._schedule(epoch, reader.world_size)
        per_step = [reader.world_size * m for m in self.groups.rows_per_step]
        done = np.bincount(group_of[:consumed], minlength=len(positions))
        cache: dict[int, tuple[pa.Table, np.ndarray]] = {}
        for step in range(consumed, len(group_of)):
            g = int(group_of[step])
            done[g] += 1
            if step % reader.workers != reader.worker:
                continue
            per_rank = self.groups.rows_per_step[g]
            first = int(nth[step]) * per_step[g] + reader.rank * per_rank
            wanted = positions[g][np.arange(first, first + per_rank) % len(positions[g])]
            batch = [self._row_at(int(p), windows, starts, cache, epoch) for p in wanted]
            next_rows = [
                int(positions[h][done[h] * per_step[h]])
                for h in range(len(positions))
                if done[h] * per_step[h] < len(positions[h])
            ]
            if next_rows:  # windows before every group's next row are not read again this epoch
                keep_from = int(np.searchsorted(starts, min(next_rows), side="right") - 1)
                for w in [w for w in cache if w < keep_from]:
                    del cache[w]
            self._state = self._position(epoch, step + 1, reader, length)
            yield batch

    def _row_at(self, position: int, windows, starts, cache: dict, epoch: int) -> dict:
        w = int(np.searchsorted(starts, position, side="right") - 1)
        if w not in cache:
            order = window_permutation(windows[w], self.seed, epoch, self.shuffle_buffer)
            cache[w] = (self._window_table(windows[w]), order)
        table, order = cache[w]
        row = table.slice(int(order[position - starts[w]]), 1).to_pylist()[0]
        return self._prepare(row, epoch)


def check_order(state: dict, stream: StageStream) -> None:
    """StateMismatchError unless `state` is a StageStream state of the same order (seed, shuffle
    buffer, remainder, stage rows, mode)."""
    ours = isinstance(state, dict) and state.get("kind") == STATE_KIND
    if not ours or state.get("version") != STATE_VERSION:
        raise StateMismatchError(
            f"not a load_mixture stream state (expected a dict with kind {STATE_KIND!r}, version "
            f"{STATE_VERSION}; got {type(state).__name__} {str(state)[:80]}); save it with state_dict() "
            "of this version, or pass a StatefulDataLoader state through global_state()"
        )
    saved = {k: state.get(k) for k in ("seed", "shuffle_buffer", "remainder", "rows", "mode")}
    now = {
        "seed": stream.seed,
        "shuffle_buffer": stream.shuffle_buffer,
        "remainder": stream.remainder,
        "rows": stream.rows,
        "mode": "rows" if stream.groups is None else "groups",
    }
    changed = [f"{k}={saved[k]!r} (now {now[k]!r})" for k in now if saved[k] != now[k]]
    if changed:
        raise StateMismatchError(
            f"the state was saved with {', '.join(changed)}: these fix the order of an epoch, resume "
            "with the same values (and the same stage)"
        )


def check_reader(state: dict, stream: StageStream, reader: Reader) -> int:
    """The position to resume from; StateMismatchError when a worker's own state meets another
    world size, worker count or batch size (only a `global_state` is elastic), or a group-mode
    state meets another world size or batch size."""
    saved = (state["world_size"], state["workers"], state["batch_size"])
    now = (reader.world_size, reader.workers, reader.batch_size)
    fixed = ("world_size", "workers", "batch_size")
    if state["scope"] == "global":
        fixed, saved, now = (fixed[0], fixed[2]), (saved[0], saved[2]), (now[0], now[2])
        if state["mode"] == "rows":
            return int(state["consumed"])
    differ = [f"{k}={a} (now {b})" for k, a, b in zip(fixed, saved, now) if a is not None and a != b]
    if differ:
        fix = (
            "a group-mode state resumes only at the same world size and batch size"
            if state["mode"] == "groups"
            else "to resume at another world size, worker count or batch size load "
            "`global_state(checkpoint)` into the stream before making the DataLoader (docs/streaming.md)"
        )
        raise StateMismatchError(f"this DataLoader worker's state was saved with {', '.join(differ)}: {fix}")
    return int(state["consumed"])


def global_state(state: Mapping) -> dict:
    """The job's position from a `StatefulDataLoader.state_dict()` (or a stream's own state): the
    furthest of the worker states it holds (the batches before it were all delivered), marked
    elastic: `stream.load_state_dict(global_state(...))` resumes at any world size, worker count
    and batch size (rows mode) without repeating or skipping a row. ValueError when it holds none."""
    found = [s for s in _stream_states(state)]
    if not found:
        raise StateMismatchError(
            "no load_mixture stream state inside this state: pass `loader.state_dict()` of a "
            "StatefulDataLoader over load_mixture(...), or the stream's own state_dict()"
        )
    furthest = max(found, key=lambda s: (s["epoch"], s["consumed"]))
    return {**copy.deepcopy(furthest), "scope": "global", "workers": None}


def _stream_states(value) -> Iterator[dict]:
    if isinstance(value, Mapping):
        if value.get("kind") == STATE_KIND:
            yield dict(value)
            return
        for item in value.values():
            yield from _stream_states(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _stream_states(item)


class ShardError(HfMixtureError, ValueError):
    """A stage has fewer rows than ranks: some rank would get nothing."""


class IdleWorkersWarning(UserWarning):
    """A rank's rows do not give every DataLoader worker a batch: some workers read nothing."""


def warn_small_ranks(stream: StageStream, num_workers: int, what: str) -> None:
    """IdleWorkersWarning when, on the rank with the fewest rows, some DataLoader worker is dealt no
    batch (workers read whole batches in turn, the last one may be short: `order.worker_of`)."""
    if stream.groups is not None:
        return
    workers = max(1, num_workers)
    fewest = stream.epoch_positions() // stream.world_size
    idle = int(np.count_nonzero(rows_per_worker(fewest, stream.batch_size, workers) == 0))
    if idle:
        warnings.warn(
            f"{what}: {fewest} row(s) per rank make {-(-fewest // stream.batch_size)} batch(es) of up to "
            f"{stream.batch_size} for {workers} worker(s): {idle} worker(s) will read nothing; use "
            "fewer workers or a smaller batch_size",
            IdleWorkersWarning,
            stacklevel=3,
        )
