"""Config and mixing kinds of issue 11: each bad value stops `check` (exit 2, file:line, key),
and no mixing input loops forever."""

from __future__ import annotations

import json
import warnings

import datasets
import pytest
from factories import t2i_entry, t2i_table, write_stage
from hypothesis import given, settings
from hypothesis import strategies as st

from hf_mixture.build import build_stage
from hf_mixture.cli.main import EXIT_ERROR, main
from hf_mixture.config.load import ConfigWarning, load_stage_config
from hf_mixture.config.model import STOPPING_STRATEGIES
from hf_mixture.errors import ConfigError, MixingError
from hf_mixture.mixing.interleave import EmptyEntryWarning, mix_entries, rows_per_entry

BILLION_LAUGHS = "\n".join(
    [
        'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
        *(f"{name}: &{name} [{','.join([f'*{prev}'] * 9)}]" for prev, name in zip("abcdefgh", "bcdefghi")),
        "datasets: *i",
    ]
)


def quiet_build(config, out, **kwargs):
    return build_stage(config, out, echo=lambda *_: None, **kwargs)


def two_groups(tmp_path, **top):
    """A stage of two entries, `ga` (3 rows) and `gc` (5 rows), one length_group each."""
    a, c = t2i_table(tmp_path, 3, name="a"), t2i_table(tmp_path, 5, name="c")
    entries = [t2i_entry(a, name="a", length_group="ga"), t2i_entry(c, name="c", length_group="gc")]
    return write_stage(tmp_path / "s.yaml", entries, **top)


def check_problems(path) -> str:
    with pytest.raises(ConfigError) as caught:
        load_stage_config(path)
    return str(caught.value)


@pytest.mark.timeout(60)
def test_yaml_alias_bomb_is_a_config_error(tmp_path):
    path = tmp_path / "bomb.yaml"
    path.write_text(BILLION_LAUGHS, encoding="utf-8")
    assert "expand to more than" in check_problems(path)


def test_recursive_yaml_alias_is_a_config_error(tmp_path):
    path = tmp_path / "loop.yaml"
    path.write_text("a: &a [x, *a]\ndatasets: *a\n", encoding="utf-8")
    assert "loop.yaml:1: an alias refers to the anchor it is inside" in check_problems(path)


def test_deeply_nested_yaml_is_a_config_error(tmp_path):
    path = tmp_path / "deep.yaml"
    path.write_text("datasets: " + "[" * 20000 + "]" * 20000 + "\n", encoding="utf-8")
    assert "nested too deeply" in check_problems(path)


def test_stage_file_above_the_size_limit_is_a_config_error(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_text("# " + "x" * (5 * 1024**2) + "\ndatasets: []\n", encoding="utf-8")
    assert "a stage file has at most" in check_problems(path)


@pytest.mark.parametrize(
    "value, message",
    [
        (-1, "weights.ga: must not be negative, got -1.0"),
        (float("nan"), "weights.ga: expected a finite number, got nan"),
        (float("inf"), "weights.ga: expected a finite number, got inf"),
        ("heavy", "weights.ga: expected a number, got 'heavy'"),
        (True, "weights.ga: expected a number, got True"),
        (10**400, "weights.ga: expected a finite number"),
    ],
)
@pytest.mark.parametrize("key", ["weights", "batch_sizes"])
def test_bad_group_number_is_a_config_error(tmp_path, key, value, message):
    path = two_groups(tmp_path, **{key: {"ga": value, "gc": 100}})
    problems = check_problems(path)
    assert "s.yaml:" in problems and message.replace("weights", key) in problems


def test_all_zero_weights_are_a_config_error(tmp_path):
    path = two_groups(tmp_path, weights={"ga": 0, "gc": 0.0})
    assert "weights: every length_group the entries use (ga, gc) has a share of 0" in check_problems(path)


def test_all_zero_batch_sizes_without_a_batch_size_are_a_config_error(tmp_path):
    path = two_groups(tmp_path, weights={"ga": 1, "gc": 1}, batch_sizes={"ga": 0, "gc": 0})
    assert "weights: every length_group the entries use (ga, gc) has a share of 0" in check_problems(path)


def test_zero_batch_sizes_with_a_batch_size_take_one_row_per_step_as_lavida_o(tmp_path):
    path = two_groups(
        tmp_path, weights={"ga": 1, "gc": 1}, batch_sizes={"ga": 0, "gc": 0}, stage={"batch_size": 8}
    )
    assert load_stage_config(path).batch_sizes == {"ga": 0.0, "gc": 0.0}


def test_weights_that_are_not_a_mapping_are_a_config_error(tmp_path):
    path = two_groups(tmp_path, weights=[1, 2])
    assert "weights: expected a mapping from length_group to a number, got [1, 2]" in check_problems(path)


@pytest.mark.parametrize("seed", [-1, 2**32, 1.5, "42", True])
def test_seed_outside_0_to_2_32_is_a_config_error(tmp_path, seed):
    path = two_groups(tmp_path, stage={"seed": seed})
    assert "stage.seed:" in check_problems(path)


def test_largest_seed_is_accepted(tmp_path):
    assert load_stage_config(two_groups(tmp_path, stage={"seed": 2**32 - 1})).settings.seed == 2**32 - 1


def test_num_shards_above_the_hub_file_limit_is_a_config_error(tmp_path):
    path = two_groups(tmp_path, stage={"num_shards": 10**9})
    assert "stage.num_shards: 1000000000 is above 100000" in check_problems(path)


def test_zero_weight_group_warns_in_check(tmp_path):
    with pytest.warns(ConfigWarning, match="weights.ga: 0, so entries of length_group 'ga' are left out"):
        load_stage_config(two_groups(tmp_path, weights={"ga": 0, "gc": 100}))


@pytest.mark.timeout(120)
@pytest.mark.parametrize("strategy", STOPPING_STRATEGIES)
def test_zero_weight_group_is_left_out_and_counted_as_not_drawn(tmp_path, strategy):
    config = two_groups(tmp_path, weights={"ga": 0, "gc": 100}, stage={"stopping_strategy": strategy})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConfigWarning)
        with pytest.warns(EmptyEntryWarning, match="'a' is in a group whose share is 0"):
            result = quiet_build(config, tmp_path / "out")
    a, c = result.entries
    assert (a.written, a.dropped["mixing:not_drawn"]) == (0, 3)
    assert c.written == 5 and a.balance() == c.balance() == 0


@pytest.mark.timeout(120)
def test_weight_too_small_to_ever_exhaust_is_an_error_not_a_hang(tmp_path, capsys):
    config = two_groups(tmp_path, weights={"ga": 1e-300, "gc": 100})
    code = main(["build", str(config), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == EXIT_ERROR
    assert f"{config}: weights: entry 'a' (3 rows) is drawn with probability 1e-302" in err
    assert not (tmp_path / "out" / "s").exists() or not list((tmp_path / "out" / "s").glob("train-*"))


def test_small_but_reachable_weight_still_mixes(tmp_path):
    config = two_groups(tmp_path, weights={"ga": 1, "gc": 1000}, stage={"seed": 3})
    result = quiet_build(config, tmp_path / "out")
    report = json.loads(result.report_path.read_text())
    assert report["entries"][0]["written"] >= 3  # all_exhausted: every `ga` row at least once


def test_random_n_above_the_filtered_rows_stops_check(tmp_path, capsys):
    table = t2i_table(tmp_path, 6, scores=[6.0, 6.0, 6.0, 1.0, 1.0, 1.0])
    config = write_stage(tmp_path / "s.yaml", [t2i_entry(table, sampling_strategy="random:4")])
    code = main(["check", str(config)])
    captured = capsys.readouterr()
    assert code == EXIT_ERROR
    assert "counting the filtered rows of t2i (random:N needs the count)" in captured.out
    assert f"{config}:4: datasets[0] (t2i): sampling_strategy: " in captured.err
    assert "asks for 4 rows but only 3 pass the filters" in captured.err


def test_build_checks_every_entry_before_building_the_first(tmp_path):
    good, short = t2i_table(tmp_path, 3, name="good"), t2i_table(tmp_path, 2, name="short")
    entries = [t2i_entry(good, name="good"), t2i_entry(short, name="short", sampling_strategy="random:5")]
    config = write_stage(tmp_path / "s.yaml", entries)
    said = []
    with pytest.raises(ConfigError, match=r"datasets\[1\] \(short\): sampling_strategy: .*only 2 pass"):
        build_stage(config, tmp_path / "out", echo=said.append)
    assert not [line for line in said if line.startswith("[1/2]")]  # no entry was built


@pytest.mark.timeout(120)
@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(0, 30), min_size=1, max_size=4),
    weights=st.lists(st.sampled_from([0, 1e-300, 1e-9, 1e-3, 1, 100, 1e9]), min_size=4, max_size=4),
    strategy=st.sampled_from(STOPPING_STRATEGIES),
    seed=st.integers(0, 2**32 - 1),
)
def test_mixing_ends_for_any_weights(sizes, weights, strategy, seed):
    groups = [f"g{i}" for i in range(len(sizes))]
    parts = [datasets.Dataset.from_dict({"id": [f"e{i}/{r}" for r in range(n)]}) for i, n in enumerate(sizes)]
    group_weights = dict(zip(groups, weights))
    if not any(w > 0 for g, w in group_weights.items() if sizes[groups.index(g)]):
        return  # every group with rows weighs 0: a config error (test_all_zero_group_numbers_...)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EmptyEntryWarning)
        try:
            mixed, probabilities = mix_entries(
                parts, groups, groups, weights=group_weights, seed=seed, stopping_strategy=strategy
            )
        except MixingError as err:
            assert "draws to show every row" in str(err)
            return
    counts = rows_per_entry(mixed, parts, [f"e{i}" for i in range(len(sizes))], probabilities=probabilities)
    assert counts == rows_per_entry(mixed)
    for i, (size, probability) in enumerate(zip(sizes, probabilities)):
        if probability == 0:
            assert counts[f"e{i}"] == 0
        elif strategy != "first_exhausted":
            assert counts[f"e{i}"] >= size  # the exhausting rules show every row of a drawn entry


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            {"s3_prefix": {"a": "b"}},
            "process_fn_kwargs: s3_prefix: expected a string or null, got {'a': 'b'}",
        ),
        ({"random_truncate": "yes"}, "process_fn_kwargs: random_truncate: expected true or false, got 'yes'"),
        ({"random_caption_keys": 5}, "process_fn_kwargs: random_caption_keys: expected a list of strings"),
    ],
)
def test_preprocess_keyword_of_the_wrong_type_is_a_config_error(tmp_path, kwargs, message):
    table = t2i_table(tmp_path, 2)
    path = write_stage(tmp_path / "s.yaml", [t2i_entry(table, process_fn_kwargs=kwargs)])
    assert f"datasets[0] (t2i): {message}" in check_problems(path)


def test_preprocess_bool_keyword_takes_0_and_1_as_lavida_o_does(tmp_path):
    table = t2i_table(tmp_path, 2)
    path = write_stage(tmp_path / "s.yaml", [t2i_entry(table, process_fn_kwargs={"random_truncate": 0})])
    assert load_stage_config(path).entries[0].process_fn_kwargs == {"random_truncate": 0}
