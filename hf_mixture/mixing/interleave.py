"""Interleave entry datasets into one stage with `datasets.interleave_datasets`."""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Sequence

import datasets
import numpy as np
import pyarrow.compute as pc

from hf_mixture.errors import MixingError
from hf_mixture.mixing.probabilities import entry_probabilities

# `interleave_datasets` draws an entry per output row until its stopping rule holds; a weight
# near 0 makes that take ~rows / probability draws (forever at 0 with the exhausting rules).
# The mix may take at most this many draws per entry row (or MIN_DRAW_LIMIT), else MixingError.
MAX_DRAWS_PER_ROW = 100
MIN_DRAW_LIMIT = 1_000_000


class EmptyEntryWarning(UserWarning):
    """An entry kept no rows, or its group weighs 0, and is left out of the mixture."""


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
    rows-seen shares with `batch_sizes` and the per-device `batch_size`). Empty entries and entries
    whose group weighs 0 are left out (with a warning saying why: `why_empty[i]`, e.g. from
    `EntryStats.why_empty`) and get probability 0 (their rows are then not drawn); `num_samples`
    keeps the first N rows of the mix. MixingError when the weights would need more than
    MAX_DRAWS_PER_ROW draws per row (`expected_draws`)."""
    sizes = [len(part) for part in parts]
    probabilities = entry_probabilities(groups, sizes, weights, batch_sizes, batch_size)
    warn_empty_entries(names, sizes, why_empty, stacklevel=3)
    warn_zero_share_entries(names, sizes, probabilities, stacklevel=3)
    kept = [i for i, (size, p) in enumerate(zip(sizes, probabilities)) if size and p > 0]
    if not kept:
        return None, probabilities
    if len(kept) == 1:
        mixed = parts[kept[0]]
    else:
        kept_sizes = [sizes[i] for i in kept]
        total = sum(probabilities[i] for i in kept)
        kept_probabilities = [probabilities[i] / total for i in kept]
        check_draws(kept_sizes, kept_probabilities, stopping_strategy, [names[i] for i in kept])
        mixed = datasets.interleave_datasets(
            [parts[i] for i in kept],
            probabilities=kept_probabilities,
            seed=seed,
            stopping_strategy=stopping_strategy,
        )
    if num_samples is not None and num_samples < len(mixed):
        mixed = mixed.select(range(num_samples))
    return mixed, probabilities


def expected_draws(sizes: Sequence[int], probabilities: Sequence[float], stopping_strategy: str) -> float:
    """About how many entries `interleave_datasets` draws: until one entry (`first_exhausted`) or
    every entry (the `all_exhausted*` rules) has been drawn as often as it has rows, i.e. the
    min / max of rows / probability over the entries."""
    needed = [size / p if p > 0 else float("inf") for size, p in zip(sizes, probabilities)]
    return min(needed) if stopping_strategy == "first_exhausted" else max(needed)


def check_draws(
    sizes: list[int], probabilities: list[float], stopping_strategy: str, names: list[str]
) -> None:
    draws = expected_draws(sizes, probabilities, stopping_strategy)
    limit = max(MIN_DRAW_LIMIT, MAX_DRAWS_PER_ROW * sum(sizes))
    if draws > limit:
        slowest = max(range(len(sizes)), key=lambda i: sizes[i] / probabilities[i])
        raise MixingError(
            f"weights: entry {names[slowest]!r} ({sizes[slowest]} rows) is drawn with probability "
            f"{probabilities[slowest]:.3g}, so {stopping_strategy} needs about {draws:.3g} draws to show "
            f"every row (the limit is {limit}); raise its group's weight, or use stopping_strategy "
            "first_exhausted"
        )


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


def warn_zero_share_entries(
    names: Sequence[str], sizes: Sequence[int], probabilities: Sequence[float], stacklevel: int = 2
) -> None:
    """An EmptyEntryWarning for each entry with rows whose group's share is 0 (a weight of 0, or
    a `batch_sizes` factor of 0 without `stage.batch_size`): it is left out of the mix."""
    for name, size, probability in zip(names, sizes, probabilities):
        if size and probability <= 0:
            warnings.warn(
                f"entry {name!r} is in a group whose share is 0 (weights / batch_sizes); left out of the mix",
                EmptyEntryWarning,
                stacklevel=stacklevel,
            )


def rows_per_entry(
    mixed: datasets.Dataset,
    parts: Sequence[datasets.Dataset] | None = None,
    keys: Sequence[str] | None = None,
    batch_size: int = 1_000_000,
    probabilities: Sequence[float] | None = None,
) -> Counter:
    """How many rows of `mixed` come from each entry key (the part of `id` before the first '/').

    Given the `parts` `mix_entries` mixed, their entry `keys` (and the `probabilities` it gave:
    parts at 0 were left out), counted from the mix's own index array (positions into the parts
    laid end to end, empty parts left out) without reading a row; otherwise, or when the mix has
    no index array over several parts, by reading the `id` column."""
    if parts is not None and keys is not None:
        in_mix = probabilities if probabilities is not None else [1.0] * len(parts)
        counted = _rows_per_part(mixed, [len(part) if p > 0 else 0 for part, p in zip(parts, in_mix)])
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
