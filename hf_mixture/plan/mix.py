"""Rows written per entry and how often one row repeats, from the build's own interleave
(`mix_entries`) run on index-only datasets of the entries' sizes (a null column: no row data)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import datasets
import numpy as np
import pyarrow as pa

from hf_mixture.config.model import StageConfig
from hf_mixture.mixing.interleave import EmptyEntryWarning, mix_entries
from hf_mixture.mixing.probabilities import default_stopping_strategy
from hf_mixture.plan.entry import EntryPlan


def stopping_strategy(config: StageConfig) -> str:
    """The stopping strategy the build uses for `config`."""
    return config.settings.stopping_strategy or default_stopping_strategy(config.grouped)


def mix_plans(config: StageConfig, plans: Sequence[EntryPlan]) -> int:
    """Fill each plan's share, written rows and repeat factors; returns the stage's rows."""
    sizes = [plan.rows for plan in plans]
    parts = [datasets.Dataset(pa.table({"i": pa.nulls(n)})) for n in sizes]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EmptyEntryWarning)  # the plan warns about empty entries itself
        mixed, probabilities = mix_entries(
            parts,
            [p.name for p in plans],
            [p.length_group for p in plans],
            weights=config.weights,
            seed=config.settings.seed,
            stopping_strategy=stopping_strategy(config),
            num_samples=config.settings.num_samples,
        )
    total = 0 if mixed is None else len(mixed)
    positions = np.zeros(0, dtype=np.int64) if mixed is None else _positions(mixed, sizes)
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
    return total


def _positions(mixed: datasets.Dataset, sizes: Sequence[int]) -> np.ndarray:
    """Positions of the mix's rows in the non-empty parts laid end to end."""
    if mixed._indices is None:  # one part, or its first rows: the mix is the part itself
        return np.arange(len(mixed), dtype=np.int64)
    return mixed._indices.column(0).to_numpy().astype(np.int64)
