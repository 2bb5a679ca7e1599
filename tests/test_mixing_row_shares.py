"""Row shares of a grouped stage are the rows LaViDa-O's group sampler shows (lavida-o-loader.md 1.4),
checked against a direct simulation of that sampler; the LaViDa-O export's weights reproduce them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from factories import t2i_entry, t2i_table, write_stage

from hf_mixture.build import build_stage
from hf_mixture.config.load import load_stage_config
from hf_mixture.errors import ConfigError
from hf_mixture.mixing.probabilities import (
    DEFAULT_GROUP_WEIGHT,
    group_row_shares,
    group_step_probabilities,
    lavida_export_weights,
)

ROOT = Path(__file__).resolve().parents[1]
S3 = ROOT / "configs" / "demo" / "s3-unified.yaml"
STEPS = 10**6


def lavida_rows_seen(
    group_rows: dict, weights: dict, batch_sizes: dict, bs: int, seed: int = 0
) -> dict[str, float]:
    """LaViDa-O's `MultiDatasetBatchSampler`, simulated step by step in numpy: a group drawn per
    step with probability weight / sum (absent: 100), a (world_size=1, bs) index draw, truncated
    to `max(int(bs * factor), 1)`; returns the share of rows seen per group."""
    groups = sorted(g for g, n in group_rows.items() if n)
    w = np.array([float(weights.get(g, 100)) for g in groups])
    rng = np.random.default_rng(seed)
    drawn = rng.choice(len(groups), size=STEPS, p=w / w.sum())
    seen = np.zeros(len(groups))
    for i, g in enumerate(groups):
        batch = rng.integers(0, group_rows[g], size=(1, bs))[0]  # the rows one step draws
        per_step = len(batch[: max(int(bs * batch_sizes.get(g, 1)), 1)])
        seen[i] = per_step * np.count_nonzero(drawn == i)
    return dict(zip(groups, seen / seen.sum()))


def s3_groups() -> tuple[dict, dict, dict]:
    config = load_stage_config(S3, check_files=False)
    rows = {e.length_group: 1000 for e in config.entries}
    return rows, config.weights, config.batch_sizes


@pytest.mark.parametrize("bs", [3, 8, 64])
def test_row_shares_match_a_simulation_of_lavida_o_sampler(bs):
    rows, weights, batch_sizes = s3_groups()
    assert any(f < 1 for f in batch_sizes.values())
    expected = group_row_shares(rows, weights, batch_sizes, bs)
    simulated = lavida_rows_seen(rows, weights, batch_sizes, bs)
    assert set(expected) == set(simulated)
    for group in expected:
        assert expected[group] == pytest.approx(simulated[group], abs=0.002), group


def test_half_batch_groups_get_half_the_rows_of_their_step_share():
    rows, weights, batch_sizes = s3_groups()
    steps = group_step_probabilities(rows, weights)
    shares = group_row_shares(rows, weights, batch_sizes, 64)
    full, half = "t2i", "und"
    assert batch_sizes[half] == 0.5 and full not in batch_sizes
    assert shares[half] / shares[full] == pytest.approx(0.5 * steps[half] / steps[full])
    assert shares[half] < steps[half]


def test_without_batch_size_the_large_batch_limit_is_used():
    rows, weights, batch_sizes = s3_groups()
    limit = group_row_shares(rows, weights, batch_sizes, None)
    large = lavida_rows_seen(rows, weights, batch_sizes, 4096)
    for group in limit:
        assert limit[group] == pytest.approx(large[group], abs=0.002)


@pytest.mark.parametrize("bs", [3, 16])
def test_export_weights_make_lavida_o_show_the_stage_rows(bs):
    stage_rows = {"t2i": 5000, "und": 1200, "grounding": 300, "edit": 2500}
    batch_sizes = {"und": 0.5, "grounding": 0.25, "edit": 2.0}
    weights = lavida_export_weights(stage_rows, batch_sizes, bs)
    simulated = lavida_rows_seen(stage_rows, weights, batch_sizes, bs)
    total = sum(stage_rows.values())
    for group, rows in stage_rows.items():
        assert simulated[group] == pytest.approx(rows / total, abs=0.002), group


def test_a_built_stage_holds_the_rows_seen_shares_and_reports_both(tmp_path):
    a, b = t2i_table(tmp_path, 40, name="a"), t2i_table(tmp_path, 40, name="b")
    config = write_stage(
        tmp_path / "s.yaml",
        [t2i_entry(a, name="a", length_group="x"), t2i_entry(b, name="b", length_group="y")],
        weights={"x": 100, "y": 100},
        batch_sizes={"y": 0.5},
        stage={"batch_size": 3, "stopping_strategy": "first_exhausted"},
    )
    result = build_stage(config, tmp_path / "out", echo=lambda *_: None)
    # x: 3 rows per step, y: max(int(1.5), 1) = 1 row per step, both drawn half of the steps
    assert [e.expected_share for e in result.entries] == pytest.approx([0.75, 0.25])
    report = json.loads(result.report_path.read_text())
    assert report["batch_size"] == 3
    assert report["groups"]["y"] == {
        "rows": 40,
        "step_probability": pytest.approx(0.5),
        "rows_per_step": 1,
        "row_share": pytest.approx(0.25),
    }
    assert "group y: drawn per step 50.00%, 1 rows per step, share of rows 25.00%" in result.report_text


def test_ungrouped_and_unweighted_groups_keep_their_old_shares():
    rows = {"x": 10, "y": 30}
    assert group_row_shares(rows, {"x": 1}, None, None) == pytest.approx(
        {"x": 1 / (1 + DEFAULT_GROUP_WEIGHT), "y": DEFAULT_GROUP_WEIGHT / (1 + DEFAULT_GROUP_WEIGHT)}
    )


def test_batch_size_must_be_a_positive_whole_number(tmp_path):
    config = write_stage(tmp_path / "s.yaml", [t2i_entry(t2i_table(tmp_path, 2))], stage={"batch_size": 0})
    with pytest.raises(ConfigError, match=r"stage\.batch_size: must be at least 1, got 0"):
        load_stage_config(config)
