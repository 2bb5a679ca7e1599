"""The stage order computed from row counts alone equals `datasets.interleave_datasets`'s."""

import datasets
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hf_mixture.mixing.interleave import mix_entries
from hf_mixture.mixing.order import STRATEGIES, plan_mix

datasets.disable_progress_bars()


def parts_of(lengths):
    """One dataset per entry whose rows say (entry, row)."""
    return [datasets.Dataset.from_dict({"e": [i] * n, "r": list(range(n))}) for i, n in enumerate(lengths)]


def computed(order, start=0, stop=None):
    entries, rows = order.rows(start, order.total if stop is None else stop)
    return entries.tolist(), rows.tolist()


@settings(max_examples=40, deadline=None)
@given(
    lengths=st.lists(st.integers(1, 400), min_size=2, max_size=4),
    raw=st.lists(st.integers(1, 20), min_size=4, max_size=4),
    seed=st.integers(0, 2**31),
    strategy=st.sampled_from(STRATEGIES),
)
def test_order_equals_interleave_datasets_for_any_sizes_probabilities_seed_and_strategy(
    lengths, raw, seed, strategy
):
    weights = raw[: len(lengths)]
    probabilities = [w / sum(weights) for w in weights]
    mixed = datasets.interleave_datasets(
        parts_of(lengths), probabilities=probabilities, seed=seed, stopping_strategy=strategy
    )
    order = plan_mix(lengths, probabilities, seed=seed, stopping_strategy=strategy, superblock_draws=1000)
    assert order.total == len(mixed)
    assert computed(order) == (mixed["e"], mixed["r"])
    assert list(order.per_entry) == np.bincount(mixed["e"], minlength=len(lengths)).tolist()


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_any_row_range_is_regenerated_from_the_cut_checkpoints_alone(strategy):
    lengths, probabilities = [5000, 3000, 4000], [0.5, 0.2, 0.3]
    whole = plan_mix(lengths, probabilities, seed=3, stopping_strategy=strategy, superblock_draws=1000)
    starts = [0, 1, 999, 2500, whole.total // 2, whole.total - 3]
    cut = whole.cut(starts)
    assert len(cut.checkpoints) <= len(starts) < len(whole.checkpoints)
    entries, rows = computed(whole)
    for start in starts:
        assert computed(cut, start, start + 1500) == (
            entries[start : start + 1500],
            rows[start : start + 1500],
        )


def test_empty_entries_single_entries_and_num_samples_order_as_mix_entries_does():
    cases = [([0, 40, 0, 25], None), ([0, 40, 0, 25], 30), ([0, 7, 0], None), ([0, 7, 0], 3)]
    for lengths, num_samples in cases:
        probabilities = [n / sum(lengths) for n in lengths]
        mixed, _ = mix_entries(
            parts_of(lengths),
            list("abcd"[: len(lengths)]),
            ["g"] * len(lengths),
            weights=None,
            seed=9,
            stopping_strategy="all_exhausted",
            num_samples=num_samples,
        )
        order = plan_mix(
            lengths, probabilities, seed=9, stopping_strategy="all_exhausted", num_samples=num_samples
        )
        assert computed(order) == (mixed["e"], mixed["r"])


def test_an_entry_with_rows_that_is_never_drawn_cannot_be_exhausted():
    with pytest.raises(ValueError, match="probability 0"):
        plan_mix([5, 5], [1.0, 0.0], seed=0, stopping_strategy="all_exhausted_without_replacement")
