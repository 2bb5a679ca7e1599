"""Interleave entry datasets into one stage with `datasets.interleave_datasets`."""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Sequence

import datasets
import numpy as np
import pyarrow.compute as pc

from hf_mixture.mixing.probabilities import entry_probabilities


class EmptyEntryWarning(UserWarning):
    """An entry kept no rows and is left out of the mixture."""


def mix_entries(
    parts: Sequence[datasets.Dataset],
    names: Sequence[str],
    groups: Sequence[str],
    *,
    weights: dict | None,
    batch_sizes: dict | None = None,
    batch_size: int | None = None,
    seed: int,
    stopping_strategy: str,
    num_samples: int | None = None,
    why_empty: Sequence[str] | None = None,
) -> tuple[datasets.Dataset | None, list[float]]:
    """The interleaved stage and each entry's probability (`entry_probabilities`: LaViDa-O's
    rows-seen shares with `batch_sizes` and the per-device `batch_size`). Empty entries are left
    out (with a warning saying why: `why_empty[i]`, e.g. from `EntryStats.why_empty`) and get
    probability 0; `num_samples` keeps the first N rows of the mix."""
    sizes = [len(part) for part in parts]
    probabilities = entry_probabilities(groups, sizes, weights, batch_sizes, batch_size)
    warn_empty_entries(names, sizes, why_empty, stacklevel=3)
    kept = [i for i, size in enumerate(sizes) if size]
    if not kept:
        return None, probabilities
    if len(kept) == 1:
        mixed = parts[kept[0]]
    else:
        mixed = datasets.interleave_datasets(
            [parts[i] for i in kept],
            probabilities=[probabilities[i] for i in kept],
            seed=seed,
            stopping_strategy=stopping_strategy,
        )
    if num_samples is not None and num_samples < len(mixed):
        mixed = mixed.select(range(num_samples))
    return mixed, probabilities


def warn_empty_entries(
    names: Sequence[str], sizes: Sequence[int], why_empty: Sequence[str] | None = None, stacklevel: int = 2
) -> None:
    """An EmptyEntryWarning for each entry with no rows (it is left out of the mix), saying why
    (`why_empty[i]`, e.g. from `EntryStats.why_empty`) when given."""
    reasons = [f"({why})" for why in why_empty] if why_empty else ["after filters and sampling"] * len(names)
    for name, size, why in zip(names, sizes, reasons):
        if size == 0:
            warnings.warn(
                f"entry {name!r} has no rows {why}; left out of the mix",
                EmptyEntryWarning,
                stacklevel=stacklevel,
            )


def rows_per_entry(
    mixed: datasets.Dataset,
    parts: Sequence[datasets.Dataset] | None = None,
    keys: Sequence[str] | None = None,
    batch_size: int = 1_000_000,
) -> Counter:
    """How many rows of `mixed` come from each entry key (the part of `id` before the first '/').

    Given the `parts` `mix_entries` mixed and their entry `keys`, counted from the mix's own index
    array (positions into the parts laid end to end, empty parts left out) without reading a row;
    otherwise, or when the mix has no index array over several parts, by reading the `id` column."""
    if parts is not None and keys is not None:
        counted = _rows_per_part(mixed, [len(part) for part in parts])
        if counted is not None:
            return Counter({keys[i]: n for i, n in enumerate(counted) if n})
    counts: Counter = Counter()
    for start in range(0, len(mixed), batch_size):
        ids = mixed.select_columns(["id"]).with_format("arrow")[start : start + batch_size]["id"]
        keys_ = pc.list_element(pc.split_pattern(ids, "/", max_splits=1), 0)
        for item in pc.value_counts(keys_).to_pylist():
            counts[item["values"]] += item["counts"]
    return counts


def _rows_per_part(mixed: datasets.Dataset, sizes: Sequence[int]) -> list[int] | None:
    """Rows of `mixed` per part, from its indices mapping; None when that cannot say."""
    kept = [i for i, size in enumerate(sizes) if size]
    counts = [0] * len(sizes)
    if len(kept) == 1:  # `mix_entries` returned the part itself (or its first rows)
        counts[kept[0]] = len(mixed)
        return counts
    if mixed._indices is None or len(mixed.data) != sum(sizes):
        return None  # a contiguous select dropped the mapping: which parts it spans is not known here
    ends = np.cumsum([sizes[i] for i in kept])
    per_kept = np.zeros(len(kept), dtype=np.int64)
    for chunk in mixed._indices.column(0).chunks:
        positions = chunk.to_numpy().astype(np.int64)
        per_kept += np.bincount(np.searchsorted(ends, positions, side="right"), minlength=len(kept))
    for slot, i in enumerate(kept):
        counts[i] = int(per_kept[slot])
    return counts
