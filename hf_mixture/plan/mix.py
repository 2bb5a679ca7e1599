"""Rows written per entry and how often one row repeats, from the build's own stage order
(`hf_mixture.build.mix_order`: computed from the entries' row counts alone, mixing/order.py)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hf_mixture.config.model import StageConfig
from hf_mixture.plan.entry import EntryPlan

CHUNK_ROWS = 1 << 20  # rows of the order walked at a time


def mix_plans(config: StageConfig, plans: Sequence[EntryPlan]) -> tuple[int, str]:
    """Fill each plan's share, written rows and repeat factors (times one source row is written,
    `dup` copies included); returns the stage's rows and the stopping strategy."""
    from hf_mixture.build import mix_order  # build.py is the layer above: import on use

    sizes = [plan.rows for plan in plans]
    order, probabilities, strategy = mix_order(config, sizes)
    per_row = [np.zeros(n // max(plan.dup_factor, 1), np.int64) for n, plan in zip(sizes, plans)]
    for entries, rows in order.chunks(0, order.total, CHUNK_ROWS):
        for i in np.unique(entries):
            mine = rows[entries == i] // plans[i].dup_factor
            per_row[i] += np.bincount(mine, minlength=len(per_row[i]))
    for plan, probability, written, counts in zip(plans, probabilities, order.per_entry, per_row):
        plan.expected_share = probability
        plan.written = int(written)
        plan.realised_share = written / order.total if order.total else 0.0
        plan.repeat_mean = float(counts.mean()) if len(counts) else 0.0
        plan.repeat_max = int(counts.max()) if len(counts) else 0
    return order.total, strategy
