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


@dataclass(frozen=True)
class Selection:
    """The filtered positions kept: the range [start, stop), or the sorted `positions` when set."""

    start: int
    stop: int
    positions: np.ndarray | None = None

    @property
    def size(self) -> int:
        """How many filtered rows are kept."""
        return len(self.positions) if self.positions is not None else self.stop - self.start

    def pick(self, first: int, count: int) -> np.ndarray:
        """Indices in [0, count) of the kept rows among filtered positions first..first+count."""
        if self.positions is None:
            low, high = max(self.start, first), min(self.stop, first + count)
            return np.arange(low - first, max(high - first, low - first), dtype=np.int64)
        left, right = np.searchsorted(self.positions, [first, first + count])
        return self.positions[left:right] - first


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
    positions = np.random.default_rng(seed).choice(n_rows, size=count, replace=False)
    positions.sort()
    return Selection(0, n_rows, positions.astype(np.int64))
