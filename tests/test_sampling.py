"""Sampling strategies: parsing (strict) and which filtered rows each keeps."""

import numpy as np
import pytest

from hf_mixture import sampling
from hf_mixture.config.sampling_strategy import parse_sampling_strategy
from hf_mixture.errors import SamplingError
from hf_mixture.sampling import entry_seed, plan_selection


def kept(strategy: str, n_rows: int, seed=(42, 1)) -> list[int]:
    selection = plan_selection(parse_sampling_strategy(strategy), n_rows, list(seed))
    return selection.pick(0, n_rows).tolist()


@pytest.mark.parametrize("text", ["all", "full"])
def test_all_and_full_keep_every_row(text):
    assert kept(text, 5) == [0, 1, 2, 3, 4]


def test_first_n_keeps_the_first_rows():
    assert kept("first:3", 10) == [0, 1, 2]


def test_first_percent_rounds_up_on_the_filtered_length():
    assert kept("first:25%", 10) == [0, 1, 2]


def test_percent_accepts_decimals():
    assert kept("first:12.5%", 16) == [0, 1]


def test_end_n_keeps_the_last_rows():
    assert kept("end:2", 5) == [3, 4]


def test_end_percent_keeps_the_last_share():
    assert kept("end:40%", 5) == [3, 4]


def test_first_n_above_the_count_keeps_everything():
    assert kept("first:50", 4) == [0, 1, 2, 3]


def test_random_n_draws_n_distinct_rows_in_source_order():
    rows = kept("random:4", 20)
    assert len(rows) == 4 and len(set(rows)) == 4 and rows == sorted(rows)


def test_random_is_identical_for_the_same_seed():
    assert kept("random:5", 100, seed=(7, 3)) == kept("random:5", 100, seed=(7, 3))


def test_random_differs_for_another_seed():
    assert kept("random:5", 1000, seed=(7, 3)) != kept("random:5", 1000, seed=(8, 3))


def test_random_percent_draws_the_rounded_up_share():
    assert len(kept("random:10%", 95)) == 10


def test_random_above_the_row_count_is_an_error_giving_the_count():
    with pytest.raises(SamplingError, match="only 3 pass the filters"):
        kept("random:4", 3)


def test_dup_keeps_every_row_and_says_how_many_copies():
    strategy = parse_sampling_strategy("dup:3")
    assert strategy.dup_factor == 3
    assert kept("dup:3", 4) == [0, 1, 2, 3]


def test_pick_maps_a_batch_window_to_batch_indices():
    selection = plan_selection(parse_sampling_strategy("random:40"), 100, [1, 2])
    everything = selection.pick(0, 100)
    window = selection.pick(30, 20)
    assert window.tolist() == [p - 30 for p in everything if 30 <= p < 50]


def test_random_draws_across_blocks_do_not_depend_on_batching(monkeypatch):
    monkeypatch.setattr(sampling, "BLOCK_ROWS", 64)
    selection = plan_selection(parse_sampling_strategy("random:100"), 1000, [5, 6])
    whole = selection.pick(0, 1000)
    batched = np.concatenate([selection.pick(start, 37) + start for start in range(0, 1000, 37)])
    assert len(whole) == 100 == len(set(whole.tolist())) and whole.tolist() == sorted(whole.tolist())
    assert batched.tolist() == whole.tolist()
    assert len({p // 64 for p in whole.tolist()}) > 5  # drawn from many blocks


def test_a_large_random_sample_holds_only_a_block_of_positions():
    selection = plan_selection(parse_sampling_strategy("random:50%"), 2_000_000_000, [1, 1])
    assert selection.size == 1_000_000_000
    assert len(selection.sample.per_block) == -(-2_000_000_000 // sampling.BLOCK_ROWS)
    assert len(selection.pick(0, 1000)) < 1000


def test_entry_seed_depends_on_the_entry_name_not_its_position():
    assert entry_seed(42, "laion") == entry_seed(42, "laion")
    assert entry_seed(42, "laion") != entry_seed(42, "coyo")


@pytest.mark.parametrize(
    "text", ["random:", "dup:-1", "first:150%", "random:12.5.3", "sample:3", "dup:0", "random:1.5", "dup:50%"]
)
def test_malformed_strategies_are_errors_listing_the_forms(text):
    with pytest.raises(ValueError, match=r"random|dup|percent|number"):
        parse_sampling_strategy(text)
