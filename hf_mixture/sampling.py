"""Which filtered rows a sampling strategy keeps, without holding the source in memory.

Positions are counted over the rows that pass the filters, as in LaViDa-O (percentages are of the
filtered length). `random` draws a seeded sample and keeps the source order of the rows drawn.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from hf_mixture.config.sampling_strategy import SamplingStrategy
from hf_mixture.errors import SamplingError

BLOCK_ROWS = 1 << 20  # filtered positions per block of a random sample
HYPERGEOMETRIC_LIMIT = 10**9  # numpy's bound on each population of a hypergeometric draw


class RandomSample:
    """`count` of `n_rows` filtered positions drawn uniformly without replacement, in blocks of
    BLOCK_ROWS positions: how many fall in each block is drawn once (`_split_count`), the positions
    inside a block only when a batch reaches it. Memory stays O(block) however large the source
    (drawing from all positions at once costs 8 bytes per row: 16 GB for LAION-2B), and the draw
    does not depend on how the source is batched."""

    def __init__(self, count: int, n_rows: int, seed: list[int]):
        self.count, self.n_rows, self.seed = count, n_rows, list(seed)
        sizes = np.full(-(-n_rows // BLOCK_ROWS), BLOCK_ROWS, dtype=np.int64)
        if len(sizes):
            sizes[-1] = n_rows - BLOCK_ROWS * (len(sizes) - 1)
        self.per_block = _split_count(count, sizes, np.random.default_rng(self.seed))
        self._cached: tuple[int, np.ndarray] | None = None

    def block_positions(self, block: int) -> np.ndarray:
        """The sorted positions drawn in `block` (absolute filtered positions)."""
        if self._cached is None or self._cached[0] != block:
            size = min(BLOCK_ROWS, self.n_rows - block * BLOCK_ROWS)
            rng = np.random.default_rng([*self.seed, block])
            drawn = np.sort(rng.choice(size, size=int(self.per_block[block]), replace=False))
            self._cached = (block, drawn.astype(np.int64) + block * BLOCK_ROWS)
        return self._cached[1]


def _split_count(count: int, sizes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """How many of `count` positions drawn without replacement fall in each block of `sizes`:
    block by block, hypergeometric given the rows left (binomial once the rows after a block pass
    numpy's 1e9 limit, clamped so the counts always add up to `count`)."""
    per_block = np.zeros(len(sizes), dtype=np.int64)
    rows_left, left = int(sizes.sum()), count
    for block, size in enumerate(int(s) for s in sizes):
        if left == 0:
            break
        others = rows_left - size
        if others == 0:
            drawn = left
        elif others < HYPERGEOMETRIC_LIMIT:
            drawn = int(rng.hypergeometric(size, others, left))
        else:
            drawn = min(size, max(left - others, int(rng.binomial(left, size / rows_left))))
        per_block[block], left, rows_left = drawn, left - drawn, others
    return per_block


@dataclass(frozen=True)
class Selection:
    """The filtered positions kept: the range [start, stop), or the positions of `sample`."""

    start: int
    stop: int
    sample: RandomSample | None = None

    @property
    def size(self) -> int:
        """How many filtered rows are kept."""
        return self.sample.count if self.sample is not None else self.stop - self.start

    def pick(self, first: int, count: int) -> np.ndarray:
        """Indices in [0, count) of the kept rows among filtered positions first..first+count."""
        if self.sample is None:
            low, high = max(self.start, first), min(self.stop, first + count)
            return np.arange(low - first, max(high - first, low - first), dtype=np.int64)
        if count <= 0:
            return np.zeros(0, dtype=np.int64)
        chosen = []
        last = min(first + count, self.sample.n_rows) - 1
        for block in range(first // BLOCK_ROWS, last // BLOCK_ROWS + 1):
            positions = self.sample.block_positions(block)
            left, right = np.searchsorted(positions, [first, first + count])
            chosen.append(positions[left:right] - first)
        return np.concatenate(chosen)


def entry_seed(stage_seed: int, entry_name: str) -> list[int]:
    """The seed of one entry's draws: the stage seed and the entry's name (so reordering entries
    in the YAML file does not change what each draws)."""
    return [stage_seed, zlib.crc32(entry_name.encode("utf-8"))]


def plan_selection(strategy: SamplingStrategy, n_rows: int, seed: list[int]) -> Selection:
    """The rows `strategy` keeps out of `n_rows` filtered rows."""
    if strategy.kind in ("all", "dup"):
        return Selection(0, n_rows)
    count = strategy.resolve_count(n_rows)
    if strategy.kind == "first":
        return Selection(0, min(count, n_rows))
    if strategy.kind == "end":
        return Selection(max(n_rows - count, 0), n_rows)
    if count > n_rows:
        raise SamplingError(
            f"sampling_strategy {strategy.text!r} asks for {count} rows but only {n_rows} pass the "
            f"filters; lower N (at most {n_rows}), use a percent, or use 'all'"
        )
    return Selection(0, n_rows, RandomSample(count, n_rows, seed))
