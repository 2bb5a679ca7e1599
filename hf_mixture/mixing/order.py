"""The interleave order of a stage, computed from the entries' row counts alone.

`datasets.interleave_datasets` (map-style, datasets 5.2, `arrow_dataset._interleave_map_style_datasets`)
with probabilities draws the source of each output row with `np.random.default_rng(seed)`,
`rng.choice(n_sources, size=1000, p=probabilities)` block after block; the k-th draw of source s
takes its row k (`all_exhausted`, `first_exhausted`: k modulo its length, restarting the source),
or nothing once s is exhausted (`all_exhausted_without_replacement`). It stops after the draw that
exhausts the first (`first_exhausted`) or the last (the other two) source. The order is therefore a
function of (lengths, probabilities, seed, strategy): `MixOrder` reproduces it without any row.

Memory: the driver walks the draws once (`plan_mix`) keeping per-source counters and, every
`SUPERBLOCK_DRAWS` draws, a checkpoint (generator state + counters), thinned to the checkpoints the
shards start from (`MixOrder.cut`): O(sources + shards) after planning. A shard's rows are then
regenerated from its checkpoint (`MixOrder.rows`), on any machine.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np

DRAW_BLOCK = 1000  # datasets draws sources 1000 at a time
SUPERBLOCK_DRAWS = 64 * DRAW_BLOCK  # draws walked per numpy step (and between checkpoints)
STRATEGIES = ("first_exhausted", "all_exhausted", "all_exhausted_without_replacement")


@dataclass(frozen=True)
class Checkpoint:
    """Where a walk of the draws can resume: generator state before a superblock, per-source
    draw counts before it, and the output rows emitted before it."""

    state: dict
    drawn: tuple[int, ...]
    row: int


@dataclass(frozen=True)
class MixOrder:
    """The stage's row order: `total` rows, `per_entry` rows from each entry, and how to
    regenerate rows [start, stop) (`rows`). `kind` is `interleave`, or `concat` when one entry
    has rows (no draws: its rows in order, as `mix_entries` keeps a single part)."""

    kind: str
    lengths: tuple[int, ...]
    probabilities: tuple[float, ...]
    seed: int
    replace: bool
    total: int
    per_entry: tuple[int, ...]
    checkpoints: tuple[Checkpoint, ...] = ()
    kept: tuple[int, ...] = ()  # entry index of each drawn source (entries with rows)
    superblock: int = SUPERBLOCK_DRAWS  # draws per walking step and between checkpoints

    def rows(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        """(entry index, row within the entry) of output rows [start, stop), int64 arrays."""
        chunks = list(self.chunks(start, stop, max(1, stop - start)))
        if not chunks:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        return chunks[0][:2]

    def chunks(self, start: int, stop: int, size: int) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """`rows` of [start, stop) in consecutive pieces of `size` rows (the last may be shorter),
        walking the draws once, with a third array: each row's repeat index (0 for a row's first
        draw, k for its k-th draw again under `all_exhausted`: the draw's rank // the entry's rows)."""
        stop = min(stop, self.total)
        if self.kind == "concat":
            (entry,) = [i for i, n in enumerate(self.per_entry) if n]
            for first in range(start, stop, size):
                last = min(first + size, stop)
                n = last - first
                yield (
                    np.full(n, entry, np.int64),
                    np.arange(first, last, dtype=np.int64),
                    np.zeros(n, np.int64),
                )
            return
        if stop <= start:
            return
        point = max((c for c in self.checkpoints if c.row <= start), key=lambda c: c.row)
        kept = np.asarray(self.kept, np.int64)
        pending_s, pending_r, pending_k, held, row = [], [], [], 0, point.row
        for block_sources, block_rows, block_repeats in _walk(self, point):
            lo, hi = max(start - row, 0), min(stop - row, len(block_sources))
            row += len(block_sources)
            if hi > lo:
                pending_s.append(kept[block_sources[lo:hi]])
                pending_r.append(block_rows[lo:hi])
                pending_k.append(block_repeats[lo:hi])
                held += hi - lo
            while held >= size or (row >= stop and held):
                sources, rows = np.concatenate(pending_s), np.concatenate(pending_r)
                repeats = np.concatenate(pending_k)
                yield sources[:size], rows[:size], repeats[:size]
                pending_s, pending_r, pending_k = [sources[size:]], [rows[size:]], [repeats[size:]]
                held = max(0, held - size)
            if row >= stop:
                return

    def cut(self, starts: Sequence[int]) -> MixOrder:
        """This order keeping only the checkpoints needed to start at `starts` (output rows)."""
        if self.kind == "concat":
            return self
        keep = {max((c for c in self.checkpoints if c.row <= s), key=lambda c: c.row).row for s in starts}
        return replace(self, checkpoints=tuple(c for c in self.checkpoints if c.row in keep))


def plan_mix(
    lengths: Sequence[int],
    probabilities: Sequence[float],
    *,
    seed: int,
    stopping_strategy: str,
    num_samples: int | None = None,
    superblock_draws: int = SUPERBLOCK_DRAWS,
) -> MixOrder:
    """The order `datasets.interleave_datasets(parts, probabilities, seed, stopping_strategy)`
    gives parts of `lengths` rows, cut to its first `num_samples` rows; entries with 0 rows are
    left out of the draws (as `mix_entries` leaves them out). ValueError when the strategy is not
    one of STRATEGIES, or when an entry with rows can never be drawn but must be exhausted."""
    if stopping_strategy not in STRATEGIES:
        raise ValueError(
            f"unknown stopping strategy {stopping_strategy!r}; use one of {', '.join(STRATEGIES)}"
        )
    lengths = tuple(int(n) for n in lengths)
    kept = [i for i, n in enumerate(lengths) if n]
    limit = num_samples
    if len(kept) <= 1:
        total = lengths[kept[0]] if kept else 0
        total = total if limit is None else min(total, limit)
        per_entry = tuple(total if i in kept else 0 for i in range(len(lengths)))
        return MixOrder("concat", lengths, tuple(probabilities), seed, False, total, per_entry)
    p = [float(probabilities[i]) for i in kept]
    sub = [lengths[i] for i in kept]
    drawable = np.asarray(p) > 0
    if stopping_strategy != "first_exhausted" and not drawable.all():
        never = [kept[i] for i in np.flatnonzero(~drawable)]
        raise ValueError(f"entries {never} have rows but probability 0: {stopping_strategy} never ends")
    order = MixOrder(
        "interleave",
        tuple(sub),
        tuple(p),
        seed,
        stopping_strategy != "all_exhausted_without_replacement",
        total=0,
        per_entry=(),
        kept=tuple(kept),
        superblock=superblock_draws,
    )
    total, per_kept, checkpoints = _first_walk(order, stopping_strategy, limit)
    per_entry = [0] * len(lengths)
    for slot, i in enumerate(kept):
        per_entry[i] = int(per_kept[slot])
    return replace(order, total=total, per_entry=tuple(per_entry), checkpoints=checkpoints)


def _first_walk(order: MixOrder, strategy: str, limit: int | None):
    """Walk the draws to the stop (or `limit` rows): (total rows, rows per source, checkpoints)."""
    lengths = np.asarray(order.lengths, np.int64)
    drawable = np.asarray(order.probabilities) > 0
    rng = np.random.default_rng(order.seed)
    drawn = np.zeros(len(lengths), np.int64)
    per_source = np.zeros(len(lengths), np.int64)
    checkpoints, total = [], 0
    while True:
        checkpoints.append(Checkpoint(rng.bit_generator.state, tuple(int(x) for x in drawn), total))
        draws = _superblock(rng, order)
        ranks = _ranks(draws, drawn)
        stop = _stop_index(draws, ranks, drawn, lengths, drawable, strategy)
        end = len(draws) if stop is None else stop + 1
        valid = ranks[:end] < lengths[draws[:end]] if not order.replace else np.ones(end, bool)
        emitted = draws[:end][valid]
        if limit is not None and total + len(emitted) >= limit:
            emitted = emitted[: limit - total]
            stop = 0
        per_source += np.bincount(emitted, minlength=len(lengths))
        total += len(emitted)
        drawn += np.bincount(draws, minlength=len(lengths))
        if stop is not None:
            return total, per_source, tuple(checkpoints)


def _stop_index(draws, ranks, drawn, lengths, drawable, strategy) -> int | None:
    """Index in `draws` of the draw after which datasets stops, or None if not in this superblock.
    A source is exhausted at its max(length, 1)-th draw (rank length - 1)."""
    need = np.maximum(lengths, 1) - 1  # rank of the exhausting draw
    after = drawn + np.bincount(draws, minlength=len(lengths))
    if strategy == "first_exhausted":
        if not (after[drawable] > need[drawable]).any():
            return None
        hits = np.flatnonzero(drawable[draws] & (ranks == need[draws]))
        return int(hits.min())
    if not (after > need).all():
        return None
    fresh = drawn <= need  # exhausted within this superblock
    hits = np.flatnonzero(fresh[draws] & (ranks == need[draws]))
    return int(hits.max())


def _walk(order: MixOrder, point: Checkpoint) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(source, row, repeat index) of the output rows from `point` on, one superblock at a time
    (endless: the caller stops at `order.total`)."""
    rng = np.random.default_rng(order.seed)
    rng.bit_generator.state = point.state
    lengths = np.asarray(order.lengths, np.int64)
    drawn = np.asarray(point.drawn, np.int64)
    while True:
        draws = _superblock(rng, order)
        ranks = _ranks(draws, drawn)
        drawn = drawn + np.bincount(draws, minlength=len(lengths))
        if order.replace:
            yield draws, ranks % lengths[draws], ranks // lengths[draws]
        else:
            valid = ranks < lengths[draws]
            yield draws[valid], ranks[valid], np.zeros(int(valid.sum()), np.int64)


def _superblock(rng: np.random.Generator, order: MixOrder) -> np.ndarray:
    """The next `order.superblock` source draws, consumed exactly as datasets does (1000 at a time)."""
    p, n = np.asarray(order.probabilities, np.float64), len(order.probabilities)
    blocks = [rng.choice(n, size=DRAW_BLOCK, p=p) for _ in range(max(1, order.superblock // DRAW_BLOCK))]
    return np.concatenate(blocks).astype(np.int64)


def _ranks(draws: np.ndarray, drawn: np.ndarray) -> np.ndarray:
    """For each draw, how many draws of its source came before it (overall)."""
    small = draws.astype(np.uint16) if len(drawn) <= 65536 else draws  # 16-bit keys: a radix sort
    order = np.argsort(small, kind="stable")
    counts = np.bincount(draws, minlength=len(drawn))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    ranks = np.empty(len(draws), np.int64)
    ranks[order] = np.arange(len(draws)) - np.repeat(starts, counts)
    return ranks + drawn[draws]
