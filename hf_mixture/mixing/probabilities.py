"""Sampling probabilities of a stage's entries, as LaViDa-O's samplers give them.

Grouped (the YAML has `weights:`), LaViDa-O's group-weighted sampler (lavida-o-loader.md 1.4)
draws one group per step with probability weight / sum of the weights of the groups present (an
absent group weighs 100), then takes `max(int(bs * batch_sizes[g]), 1)` rows of it (at most `bs`:
the draw holds `bs` rows, so a factor above 1 has no effect). The rows a training run *sees* per
group are therefore in proportion to `weight * rows per step`, and those row shares are what a
built stage holds; within a group, entries share in proportion to their rows. `bs` is the
per-device batch size (`stage: batch_size:`); without it the large-batch limit is assumed (rows per
step in proportion to `min(batch_sizes[g], 1)`), which the `int` truncation moves only for small
batches. Ungrouped: in proportion to rows, which is what a uniform random sampler over the
concatenated entries gives.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

DEFAULT_GROUP_WEIGHT = 100.0
DEFAULT_BATCH_FACTOR = 1.0


def rows_per_step(factor: float, batch_size: int | None) -> float:
    """Rows of one LaViDa-O step of a group with `batch_sizes` factor `factor`:
    `min(bs, max(int(bs * factor), 1))`; without `batch_size`, `min(factor, 1)` (rows per unit of batch)."""
    if batch_size is None:
        return min(float(factor), 1.0)
    return float(min(batch_size, max(int(batch_size * factor), 1)))


def group_step_probabilities(group_rows: Mapping[str, int], weights: Mapping[str, float]) -> dict[str, float]:
    """The probability that a LaViDa-O step draws each group with rows (weight / sum of weights).
    ValueError when every group with rows weighs 0."""
    present = {g: float(weights.get(g, DEFAULT_GROUP_WEIGHT)) for g, rows in group_rows.items() if rows}
    weight_sum = sum(present.values())
    if present and weight_sum == 0:
        raise ValueError("every group with rows has weight 0; give at least one a positive weight")
    return {g: w / weight_sum for g, w in present.items()}


def group_row_shares(
    group_rows: Mapping[str, int],
    weights: Mapping[str, float],
    batch_sizes: Mapping[str, float] | None = None,
    batch_size: int | None = None,
) -> dict[str, float]:
    """The share of the rows LaViDa-O's sampler shows per group: step probability x rows per step,
    normalised (module doc). Groups without rows are left out."""
    factors = batch_sizes or {}
    seen = {
        g: p * rows_per_step(factors.get(g, DEFAULT_BATCH_FACTOR), batch_size)
        for g, p in group_step_probabilities(group_rows, weights).items()
    }
    total = sum(seen.values())
    return {g: rows / total for g, rows in seen.items()}


def entry_probabilities(
    groups: Sequence[str],
    sizes: Sequence[int],
    weights: Mapping[str, float] | None,
    batch_sizes: Mapping[str, float] | None = None,
    batch_size: int | None = None,
) -> list[float]:
    """One probability per entry (entries with no rows get 0); they sum to 1. Grouped, each group
    gets its `group_row_shares`, split over its entries by rows."""
    total_rows = sum(sizes)
    if total_rows == 0:
        return [0.0] * len(sizes)
    if not weights:
        return [size / total_rows for size in sizes]
    group_rows = _group_rows(groups, sizes)
    shares = group_row_shares(group_rows, weights, batch_sizes, batch_size)
    return [shares[g] * size / group_rows[g] if size else 0.0 for g, size in zip(groups, sizes)]


def group_table(
    group_rows: Mapping[str, int],
    weights: Mapping[str, float],
    batch_sizes: Mapping[str, float] | None,
    batch_size: int | None,
) -> dict[str, dict]:
    """Per group with rows: its rows, LaViDa-O's per-step probability, rows per step (None without
    `batch_size`) and the row share (the build report's `groups`)."""
    steps = group_step_probabilities(group_rows, weights)
    shares = group_row_shares(group_rows, weights, batch_sizes, batch_size)
    factors = batch_sizes or {}
    return {
        g: {
            "rows": group_rows[g],
            "step_probability": steps[g],
            "rows_per_step": None
            if batch_size is None
            else int(rows_per_step(factors.get(g, DEFAULT_BATCH_FACTOR), batch_size)),
            "row_share": shares[g],
        }
        for g in sorted(steps)
    }


def lavida_export_weights(
    group_rows: Mapping[str, int], batch_sizes: Mapping[str, float] | None, batch_size: int | None
) -> dict[str, float]:
    """`weights:` for a LaViDa-O YAML over data files holding `group_rows` rows per group, chosen
    so that LaViDa-O's sampler, which applies `batch_sizes` again, shows the groups in the
    proportions of `group_rows`: weight = rows / rows per step (no double counting). Rounded to
    6 significant digits; groups without rows are left out."""
    factors = batch_sizes or {}
    return {
        g: float(f"{rows / rows_per_step(factors.get(g, DEFAULT_BATCH_FACTOR), batch_size):.6g}")
        for g, rows in group_rows.items()
        if rows
    }


def _group_rows(groups: Sequence[str], sizes: Sequence[int]) -> dict[str, int]:
    group_rows: dict[str, int] = {}
    for group, size in zip(groups, sizes):
        group_rows[group] = group_rows.get(group, 0) + size
    return group_rows


def default_stopping_strategy(grouped: bool) -> str:
    """Without groups every row once (`all_exhausted_without_replacement`); with groups, weights
    honoured and every row seen at least once (`all_exhausted`)."""
    return "all_exhausted" if grouped else "all_exhausted_without_replacement"
