"""`hf-mixture plan`: the plan's row counts are the build's, its byte estimate is close, it writes
nothing, and it warns about what a person should see before building."""

import json
from pathlib import Path

import pytest
from factories import t2i_entry, t2i_table, write_stage

from hf_mixture.build import build_stage
from hf_mixture.cli.main import main
from hf_mixture.export.folder import stage_files
from hf_mixture.export.report import load_report
from hf_mixture.plan.stage import plan_stage

pytest_plugins = ["publish_fixtures"]
ROOT = Path(__file__).resolve().parent.parent
COUNTED = ("read", "sampled", "rows", "written")


@pytest.fixture(scope="module")
def s2_1024_folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("plan") / "mixture"
    build_stage(ROOT / "configs" / "demo" / "s2-1024.yaml", out, echo=lambda *_: None)
    return out


def _folder(stage, demo_folder, s2_1024_folder):
    return s2_1024_folder if stage == "s2-1024" else demo_folder


@pytest.mark.parametrize("stage", ["s1-gnd", "s2-256", "s2-1024", "s3-unified"])
def test_plan_rows_equal_the_build_report(stage, demo_folder, s2_1024_folder):
    out = _folder(stage, demo_folder, s2_1024_folder)
    plan = plan_stage(ROOT / "configs" / "demo" / f"{stage}.yaml")
    report = load_report(out, stage)
    assert plan.exact and plan.rows == report["rows"]
    for planned, built in zip(plan.entries, report["entries"], strict=True):
        assert {k: getattr(planned, k) for k in COUNTED} == {k: built[k] for k in COUNTED}, planned.name
        assert dict(planned.dropped) == {k: v for k, v in built["dropped"].items() if k != "mixing:not_drawn"}
        assert planned.expected_share == pytest.approx(built["expected_share"])


@pytest.mark.parametrize("stage", ["s1-gnd", "s2-256", "s2-1024", "s3-unified"])
def test_plan_bytes_within_20_percent_of_the_build(stage, demo_folder, s2_1024_folder):
    out = _folder(stage, demo_folder, s2_1024_folder)
    written = sum(f.stat().st_size for f in stage_files(out, stage))
    assert plan_stage(ROOT / "configs" / "demo" / f"{stage}.yaml").bytes == pytest.approx(written, rel=0.2)


def test_plan_reports_how_often_the_most_repeated_row_is_written(demo_folder):
    plan = plan_stage(ROOT / "configs" / "demo" / "s3-unified.yaml")
    sharegpt = next(e for e in plan.entries if e.name == "sharegpt-4o-edit")  # 1 row, dup:3
    built = next(e for e in load_report(demo_folder, "s3-unified")["entries"] if e["name"] == sharegpt.name)
    assert (sharegpt.records, sharegpt.dup_factor) == (1, 3)
    assert sharegpt.repeat_max == sharegpt.repeat_mean == sharegpt.written == built["written"] > 10
    assert any(f"'sharegpt-4o-edit': one row is written {built['written']} times" in w for w in plan.warnings)


def test_plan_probe_names_the_missing_and_the_corrupt_image():
    plan = plan_stage(ROOT / "configs" / "demo" / "s2-256.yaml")
    blip = next(e for e in plan.entries if e.name == "blip3o-60k")
    assert {reason for _, reason, _ in blip.probe.failures} == {"media:missing", "media:corrupt"}
    assert blip.probe.rows - blip.probe.rows_ok == 2 and blip.probe.median_image_bytes > 0
    assert any("blip3o-60k" in w and "do" in w and "not resolve" in w for w in plan.warnings)


def test_a_partial_probe_estimates_media_drops_and_says_so(tmp_path):
    table = t2i_table(tmp_path, 20)
    (tmp_path / "images" / "t2i" / "000.jpg").unlink()
    config = write_stage(tmp_path / "s.yaml", [t2i_entry(table)])
    full, partial = plan_stage(config, probe_rows=20), plan_stage(config, probe_rows=5)
    assert full.exact and full.rows == 19 and full.entries[0].dropped["media:missing"] == 1
    assert not partial.exact and partial.entries[0].probe.rows == 5
    assert partial.rows == 20 - partial.entries[0].media_dropped


def test_plan_warns_about_a_weight_with_no_entry_and_a_tiny_share(tmp_path):
    small, large = t2i_table(tmp_path, 1, name="small"), t2i_table(tmp_path, 200, name="large")
    config = write_stage(
        tmp_path / "s.yaml",
        [t2i_entry(small, name="small", length_group="a"), t2i_entry(large, name="large", length_group="a")],
        weights={"a": 100, "ghost": 50},
    )
    with pytest.warns(UserWarning, match="ghost"):
        warnings = plan_stage(config, probe_rows=4).warnings
    assert any("weights.ghost: no entry has length_group 'ghost'" in w for w in warnings)
    assert any(w.startswith("entry 'small': expected share 0.50% is below 1%") for w in warnings)


def test_plan_writes_nothing_next_to_the_stage(tmp_path):
    config = write_stage(tmp_path / "s.yaml", [t2i_entry(t2i_table(tmp_path, 3))])
    before = sorted(p for p in tmp_path.rglob("*"))
    assert main(["plan", str(config)]) == 0
    assert sorted(p for p in tmp_path.rglob("*")) == before


def test_plan_json_has_every_entry_and_the_stage_estimates(tmp_path, capsys):
    config = write_stage(tmp_path / "s.yaml", [t2i_entry(t2i_table(tmp_path, 3))])
    assert main(["plan", str(config), "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["rows"] == 3 and plan["estimated_bytes"] > 0 and plan["estimated_build_seconds"] >= 0
    assert [e["name"] for e in plan["entries"]] == ["t2i"] and plan["entries"][0]["probe"]["rows_ok"] == 3


def test_plan_table_lists_each_entry(tmp_path, capsys):
    config = write_stage(tmp_path / "s.yaml", [t2i_entry(t2i_table(tmp_path, 3))])
    assert main(["plan", str(config)]) == 0
    out = capsys.readouterr().out
    assert "\nt2i " in out and "stage: 3 rows" in out and "core-hours" in out


def test_a_sample_larger_than_the_filtered_rows_stops_the_plan_naming_the_entry(tmp_path, capsys):
    config = write_stage(
        tmp_path / "s.yaml", [t2i_entry(t2i_table(tmp_path, 3), sampling_strategy="random:5")]
    )
    assert main(["plan", str(config)]) == 2
    err = capsys.readouterr().err
    assert f"{config}: datasets[0] (t2i): sampling_strategy 'random:5' asks for 5 rows but only 3" in err
