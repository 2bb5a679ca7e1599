"""Sampling probabilities of a stage's entries, as LaViDa-O's samplers give them.

Grouped (the YAML has `weights:`): a group is drawn with probability weight / sum of the weights
of the groups present (an absent group weighs 100, as in LaViDa-O), then an entry within the
group in proportion to its rows. Ungrouped: in proportion to rows, which is what a uniform random
sampler over the concatenated entries gives.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

DEFAULT_GROUP_WEIGHT = 100.0


def entry_probabilities(
    groups: Sequence[str], sizes: Sequence[int], weights: Mapping[str, float] | None
) -> list[float]:
    """One probability per entry (entries with no rows get 0); they sum to 1."""
    total_rows = sum(sizes)
    if total_rows == 0:
        return [0.0] * len(sizes)
    if not weights:
        return [size / total_rows for size in sizes]
    group_rows: dict[str, int] = {}
    for group, size in zip(groups, sizes):
        group_rows[group] = group_rows.get(group, 0) + size
    present = {g: float(weights.get(g, DEFAULT_GROUP_WEIGHT)) for g, rows in group_rows.items() if rows}
    weight_sum = sum(present.values())
    if weight_sum == 0:
        raise ValueError("every group with rows has weight 0; give at least one a positive weight")
    return [
        present.get(g, 0.0) / weight_sum * size / group_rows[g] if size else 0.0
        for g, size in zip(groups, sizes)
    ]


def default_stopping_strategy(grouped: bool) -> str:
    """Without groups every row once (`all_exhausted_without_replacement`); with groups, weights
    honoured and every row seen at least once (`all_exhausted`)."""
    return "all_exhausted" if grouped else "all_exhausted_without_replacement"
