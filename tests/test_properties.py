"""Property tests of the sampling and mixing arithmetic, and of row accounting in small real builds."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from factories import write_image, write_parquet, write_stage
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from hf_mixture.config.sampling_strategy import parse_sampling_strategy
from hf_mixture.errors import SamplingError
from hf_mixture.mixing.probabilities import DEFAULT_GROUP_WEIGHT, entry_probabilities
from hf_mixture.sampling import entry_seed, plan_selection

FAST = settings(max_examples=50, deadline=None)
SEEDS = st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=3)


def _count(text: str, n_rows: int) -> int:
    """The rows `first/end/random:N` or `:P%` names, from the text alone (percent: exact decimal)."""
    number = text.split(":", 1)[1]
    if number.endswith("%"):
        return min(n_rows, math.ceil(Fraction(number[:-1]) * n_rows / 100))
    return int(number)


@st.composite
def strategies(draw, kinds=("first", "end", "random")):
    kind = draw(st.sampled_from(kinds))
    if draw(st.booleans()):
        return f"{kind}:{draw(st.integers(0, 60))}"
    whole = draw(st.integers(0, 100))
    tenths = draw(st.integers(0, 9)) if whole < 100 else 0
    if whole == 0 and tenths == 0:
        tenths = 1
    return f"{kind}:{whole}.{tenths}%" if tenths else f"{kind}:{whole}%"


def _kept(selection, n_rows: int, cuts: list[int]) -> list[int]:
    """Filtered positions kept, asking `pick` batch by batch as the pipeline does."""
    bounds = sorted({0, n_rows, *(c for c in cuts if 0 < c < n_rows)})
    kept = []
    for first, stop in zip(bounds, bounds[1:]):
        kept.extend(int(first + i) for i in selection.pick(first, stop - first))
    return kept


@FAST
@given(
    text=strategies(),
    n_rows=st.integers(0, 2000),
    seed=SEEDS,
    cuts=st.lists(st.integers(0, 2000), max_size=5),
)
@example(text="first:2.2%", n_rows=1500, seed=[0], cuts=[])  # float arithmetic gave 34, not 33
def test_selection_counts_match_the_formulas(text, n_rows, seed, cuts):
    strategy = parse_sampling_strategy(text)
    count = _count(text, n_rows)
    if strategy.kind == "random" and count > n_rows:
        with pytest.raises(SamplingError, match=f"asks for {count} rows but only {n_rows}"):
            plan_selection(strategy, n_rows, seed)
        return
    selection = plan_selection(strategy, n_rows, seed)
    kept = _kept(selection, n_rows, cuts)
    expected_size = min(count, n_rows)
    assert selection.size == len(kept) == expected_size
    if strategy.kind == "first":
        assert kept == list(range(expected_size))
    elif strategy.kind == "end":
        assert kept == list(range(n_rows - expected_size, n_rows))
    else:
        assert kept == sorted(set(kept)) and all(0 <= k < n_rows for k in kept)


@FAST
@given(text=st.sampled_from(["all", "full", "dup:1", "dup:3"]), n_rows=st.integers(0, 80), seed=SEEDS)
def test_all_and_dup_keep_every_row(text, n_rows, seed):
    selection = plan_selection(parse_sampling_strategy(text), n_rows, seed)
    assert _kept(selection, n_rows, [n_rows // 2]) == list(range(n_rows))


@FAST
@given(text=strategies(("random",)), n_rows=st.integers(1, 80), stage_seed=st.integers(0, 1000))
def test_same_seed_same_rows_and_batching_does_not_matter(text, n_rows, stage_seed):
    strategy = parse_sampling_strategy(text)
    if _count(text, n_rows) > n_rows:
        return
    seed = entry_seed(stage_seed, "entry")
    once = _kept(plan_selection(strategy, n_rows, seed), n_rows, [])
    again = _kept(plan_selection(strategy, n_rows, list(seed)), n_rows, [1, n_rows // 3, n_rows - 1])
    assert once == again


SIZES = st.lists(st.integers(0, 500), min_size=1, max_size=6)
GROUPS = st.sampled_from(["t2i", "und", "edit"])


@FAST
@given(sizes=SIZES)
def test_ungrouped_probabilities_follow_rows_and_sum_to_one(sizes):
    probabilities = entry_probabilities(["default"] * len(sizes), sizes, None)
    total = sum(sizes)
    if total == 0:
        assert probabilities == [0.0] * len(sizes)
        return
    assert math.isclose(sum(probabilities), 1.0)
    for probability, size in zip(probabilities, sizes):
        assert math.isclose(probability, size / total)


@FAST
@given(
    data=st.lists(st.tuples(GROUPS, st.integers(0, 500)), min_size=1, max_size=6),
    weights=st.dictionaries(GROUPS, st.integers(1, 100), max_size=3),
)
def test_grouped_probabilities_give_each_group_its_weight_share(data, weights):
    groups, sizes = [g for g, _ in data], [s for _, s in data]
    probabilities = entry_probabilities(groups, sizes, weights or {"t2i": 1})
    weights = weights or {"t2i": 1}
    present = {g for g, s in data if s}
    if not present:
        assert probabilities == [0.0] * len(sizes)
        return
    assert math.isclose(sum(probabilities), 1.0)
    assert all(p == 0.0 for p, s in zip(probabilities, sizes) if s == 0)
    weight_sum = sum(weights.get(g, DEFAULT_GROUP_WEIGHT) for g in present)
    for group in present:
        share = sum(p for p, g in zip(probabilities, groups) if g == group)
        assert math.isclose(share, weights.get(group, DEFAULT_GROUP_WEIGHT) / weight_sum)


# ------------------------------------------------------------------------- small real builds

BUILD_STRATEGIES = st.one_of(
    st.sampled_from(["all", "dup:2"]),
    st.builds(lambda k, n: f"{k}:{n}", st.sampled_from(["first", "end", "random"]), st.integers(1, 4)),
    st.builds(lambda n: f"random:{n}%", st.integers(1, 100)),
)


@pytest.fixture(scope="module")
def image_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("props")
    for i in range(5):
        write_image(root / "img" / f"{i}.jpg", size=(8, 8), color=(i * 40, 10, 10))
    return root


def _expected_rows(text: str, n_rows: int) -> int:
    strategy = parse_sampling_strategy(text)
    if strategy.kind in ("all", "dup"):
        return n_rows * strategy.dup_factor
    return min(strategy.resolve_count(n_rows), n_rows)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    plans=st.lists(st.tuples(BUILD_STRATEGIES, st.integers(1, 5), st.integers(0, 2)), min_size=1, max_size=2),
    seed=st.integers(0, 10_000),
)
def test_small_builds_balance_and_match_the_formulas(image_dir, plans, seed, tmp_path_factory):
    from hf_mixture.build import build_stage

    work = tmp_path_factory.mktemp("build")
    entries, expected = [], 0
    for index, (text, n_rows, broken) in enumerate(plans):
        if text.startswith("random:") and not text.endswith("%") and int(text[7:]) > n_rows:
            text = f"random:{n_rows}"
        refs = [str(image_dir / "img" / f"{i}.jpg") for i in range(n_rows)]
        refs = [f"{r}.missing" if i < broken else r for i, r in enumerate(refs)]
        source = write_parquet(
            work / f"e{index}.parquet", {"s3_path": refs, "caption": [f"c{i}" for i in refs]}
        )
        entries.append(
            {
                "name": f"e{index}",
                "json_path": str(source),
                "sampling_strategy": text,
                "preprocess_fn": "preproces_text_to_image_generation_s3",
                "image_root": str(image_dir),
            }
        )
        expected += _expected_rows(text, n_rows)
    config = write_stage(work / "s.yaml", entries, stage={"name": "p", "seed": seed})
    try:
        result = build_stage(config, work / "out", echo=lambda *_: None)
    except Exception as err:  # every row of every entry may be dropped: a clear, named error
        assert "no entry kept any row" in str(err)
        return
    missing = sum(e.dropped.get("media:missing", 0) * _dup(e.sampling_strategy) for e in result.entries)
    assert all(e.balance() == 0 for e in result.entries)
    assert result.written.num_examples == expected - missing
    assert sum(e.written for e in result.entries) == result.written.num_examples
    assert math.isclose(sum(e.expected_share for e in result.entries), 1.0)
    assert np.isclose(sum(e.realised_share for e in result.entries), 1.0)


def _dup(text: str) -> int:
    return parse_sampling_strategy(text).dup_factor
