"""Rows written per entry and how often one row repeats, from the build's own interleave
(`hf_mixture.build.mix_parts`) run on index-only datasets of the entries' sizes (a null column: no
row data)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import datasets
import numpy as np
import pyarrow as pa

from hf_mixture.config.model import StageConfig
from hf_mixture.mixing.interleave import EmptyEntryWarning
from hf_mixture.plan.entry import EntryPlan


def mix_plans(config: StageConfig, plans: Sequence[EntryPlan]) -> tuple[int, str]:
    """Fill each plan's share, written rows and repeat factors; returns the stage's rows and the
    stopping strategy."""
    from hf_mixture.build import mix_parts  # build.py is the layer above: import on use

    sizes = [plan.rows for plan in plans]
    parts = [datasets.Dataset(pa.table({"i": pa.nulls(n)})) for n in sizes]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EmptyEntryWarning)  # the plan warns about empty entries itself
        mixed, probabilities, strategy = mix_parts(config, parts)
    total = 0 if mixed is None else len(mixed)
    positions = np.zeros(0, dtype=np.int64) if mixed is None else _positions(mixed)
    kept = [i for i, n in enumerate(sizes) if n]
    starts = np.concatenate([[0], np.cumsum([sizes[i] for i in kept])])
    for plan, probability in zip(plans, probabilities):
        plan.expected_share = probability
    for slot, i in enumerate(kept):
        plan = plans[i]
        mine = positions[(positions >= starts[slot]) & (positions < starts[slot + 1])] - starts[slot]
        per_row = np.bincount(mine // plan.dup_factor, minlength=sizes[i] // plan.dup_factor)
        plan.written = len(mine)
        plan.realised_share = len(mine) / total if total else 0.0
        plan.repeat_mean = float(per_row.mean()) if len(per_row) else 0.0
        plan.repeat_max = int(per_row.max()) if len(per_row) else 0
    return total, strategy


def _positions(mixed: datasets.Dataset) -> np.ndarray:
    """Positions of the mix's rows in the non-empty parts laid end to end."""
    if mixed._indices is None:  # one part, or its first rows: the mix is the part itself
        return np.arange(len(mixed), dtype=np.int64)
    return mixed._indices.column(0).to_numpy().astype(np.int64)
