"""End to end: a stage YAML in, a folder that `load_dataset(folder, stage)` reads out."""

import hashlib
import json
import warnings
from pathlib import Path

import pytest
from datasets import get_dataset_config_names, load_dataset
from factories import t2i_entry, t2i_table, write_json, write_parquet, write_stage
from PIL import Image

from hf_mixture.build import build_stage
from hf_mixture.config.load import ConfigWarning
from hf_mixture.mixing.interleave import EmptyEntryWarning
from hf_mixture.schema import COLUMNS

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "configs" / "demo"


def quiet_build(config, out, **kwargs):
    return build_stage(config, out, echo=lambda *_: None, **kwargs)


@pytest.fixture(scope="module")
def demo_out(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "mixture"
    for stage in ("s2-256", "s1-gnd"):
        quiet_build(DEMO / f"{stage}.yaml", out)
    return out


def test_demo_stage_loads_with_unified_columns_and_decoded_images(demo_out):
    train = load_dataset(str(demo_out), "s2-256", split="train")
    assert train.column_names == COLUMNS
    row = train[0]
    assert isinstance(row["image_gen"][0], Image.Image)
    assert row["conversations"][1] == {"from": "gpt", "value": "Sure <image_gen>"}


def test_demo_stage_streams(demo_out):
    stream = load_dataset(str(demo_out), "s2-256", split="train", streaming=True)
    first = next(iter(stream))
    assert first["task"] == "t2i" and isinstance(first["image_gen"][0], Image.Image)


def test_every_built_stage_is_a_config(demo_out):
    assert sorted(get_dataset_config_names(str(demo_out))) == ["s1-gnd", "s2-256"]


def test_the_folder_has_exactly_the_push_to_hub_layout(demo_out):
    assert sorted(p.name for p in (demo_out / "s2-256").glob("train-*")) == [
        "train-00000-of-00002.parquet",
        "train-00001-of-00002.parquet",
    ]  # the demo stages ask for 2 shards: one per worker of examples/train_loop.py
    assert (demo_out / "s2-256" / "build_report.json").exists()
    readme = (demo_out / "README.md").read_text()
    assert "path: s2-256/train-*" in readme and readme.count("default: true") == 1


def test_building_another_stage_leaves_the_others_alone(tmp_path):
    out = tmp_path / "mixture"
    quiet_build(DEMO / "s2-256.yaml", out)
    before = (out / "s2-256" / "train-00000-of-00002.parquet").read_bytes()
    quiet_build(DEMO / "s1-gnd.yaml", out)
    assert (out / "s2-256" / "train-00000-of-00002.parquet").read_bytes() == before
    assert len(load_dataset(str(out), "s2-256", split="train")) == 28


def test_the_same_seed_gives_the_same_bytes(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    quiet_build(DEMO / "s3-unified.yaml", first)
    quiet_build(DEMO / "s3-unified.yaml", second)

    def digest(out):
        return hashlib.sha256(b"".join(p.read_bytes() for p in sorted((out / "s3-unified").glob("train-*"))))

    assert digest(first).hexdigest() == digest(second).hexdigest()


def test_another_seed_gives_another_random_sample(tmp_path):
    table = t2i_table(tmp_path, 30)
    config = write_stage(tmp_path / "s.yaml", [t2i_entry(table, sampling_strategy="random:5")])
    ids = {
        seed: sorted(
            load_dataset(
                str(quiet_build(config, tmp_path / f"o{seed}", overrides={"seed": seed}).out_dir),
                "s",
                split="train",
            )["id"]
        )
        for seed in (1, 2)
    }
    assert len(ids[1]) == 5 and ids[1] != ids[2]


def test_dup_repeats_each_row_consecutively_with_numbered_ids(tmp_path):
    config = write_stage(tmp_path / "s.yaml", [t2i_entry(t2i_table(tmp_path, 2), sampling_strategy="dup:3")])
    result = quiet_build(config, tmp_path / "out")
    ids = load_dataset(str(result.out_dir), "s", split="train")["id"]
    assert sorted(ids) == ["t2i/0#0", "t2i/0#1", "t2i/0#2", "t2i/1#0", "t2i/1#1", "t2i/1#2"]
    assert result.entries[0].dup_added == 4


def test_report_is_saved_beside_the_stage_and_adds_up(demo_out):
    report = json.loads((demo_out / "s2-256" / "build_report.json").read_text())
    for entry in report["entries"]:
        added = entry["dup_added"] + entry["mixing_added"]
        assert entry["read"] + added == entry["written"] + sum(entry["dropped"].values())
    by_name = {e["name"]: e for e in report["entries"]}
    assert by_name["blip3o-60k"]["dropped"] == {
        "filter:aes_cutoff": 3,
        "media:corrupt": 1,
        "media:missing": 1,
    }
    assert by_name["blip3o-journeydb"]["dropped"] == {"filter:aes_cutoff": 6, "filter:min_size": 3}
    assert sum(e["written"] for e in report["entries"]) == report["rows"]


def test_report_lists_the_implicit_aesthetic_filter(demo_out):
    report = json.loads((demo_out / "s2-256" / "build_report.json").read_text())
    (implicit,) = [e for e in report["entries"] if e["name"] == "blip3o-60k"][0]["filters"]
    assert implicit.startswith("fltLaionAesthScore > 5.0") and "implicit" in implicit


def test_expected_and_realised_shares_match_entry_sizes_without_groups(demo_out):
    report = json.loads((demo_out / "s2-256" / "build_report.json").read_text())
    for entry in report["entries"]:
        assert entry["expected_share"] == pytest.approx(entry["rows"] / report["rows"])
        assert entry["realised_share"] == pytest.approx(entry["expected_share"])


def two_groups(tmp_path, rows: tuple[int, int], weights: dict):
    """A stage of entry a (group x) and entry b (group y) with `rows` rows and group `weights`."""
    a, b = t2i_table(tmp_path, rows[0], name="a"), t2i_table(tmp_path, rows[1], name="b")
    return write_stage(
        tmp_path / "s.yaml",
        [t2i_entry(a, name="a", length_group="x"), t2i_entry(b, name="b", length_group="y")],
        weights=weights,
    )


def test_group_weights_set_the_expected_shares(tmp_path):
    config = two_groups(tmp_path, (4, 12), {"x": 300, "y": 100})
    result = quiet_build(config, tmp_path / "out")
    assert [e.expected_share for e in result.entries] == pytest.approx([0.75, 0.25])
    assert result.entries[0].written > result.entries[0].rows  # the small, heavy group is repeated


def test_an_empty_entry_is_left_out_with_a_warning(tmp_path):
    good = t2i_table(tmp_path, 3, name="good")
    low = t2i_table(tmp_path, 2, name="low", scores=[1.0, 2.0])
    config = write_stage(tmp_path / "s.yaml", [t2i_entry(good, name="good"), t2i_entry(low, name="low")])
    with pytest.warns(EmptyEntryWarning, match="'low'"):
        result = quiet_build(config, tmp_path / "out")
    assert [e.written for e in result.entries] == [3, 0]


def test_num_samples_keeps_the_first_rows_of_the_mix(tmp_path):
    config = write_stage(tmp_path / "s.yaml", [t2i_entry(t2i_table(tmp_path, 10))], stage={"num_samples": 4})
    result = quiet_build(config, tmp_path / "out")
    assert result.written.num_examples == 4
    assert result.entries[0].dropped["mixing:not_drawn"] == 6


def test_num_shards_writes_that_many_files(tmp_path):
    config = write_stage(tmp_path / "s.yaml", [t2i_entry(t2i_table(tmp_path, 6))], stage={"num_shards": 3})
    result = quiet_build(config, tmp_path / "out")
    assert [f.name for f in result.written.files] == [f"train-0000{i}-of-00003.parquet" for i in range(3)]
    assert len(load_dataset(str(tmp_path / "out"), "s", split="train")) == 6


def test_rebuilding_with_fewer_shards_removes_stale_ones(tmp_path):
    table = t2i_table(tmp_path, 6)
    quiet_build(write_stage(tmp_path / "s.yaml", [t2i_entry(table)], stage={"num_shards": 3}), tmp_path / "o")
    quiet_build(write_stage(tmp_path / "s.yaml", [t2i_entry(table)], stage={"num_shards": 2}), tmp_path / "o")
    assert sorted(p.name for p in (tmp_path / "o" / "s").glob("train-*")) == [
        "train-00000-of-00002.parquet",
        "train-00001-of-00002.parquet",
    ]


@pytest.mark.parametrize("kind", ["json", "jsonl", "csv", "glob"])
def test_json_path_reads_json_jsonl_csv_and_globs(tmp_path, kind):
    table = t2i_table(tmp_path, 4)
    import pyarrow.parquet as pq

    records = pq.read_table(table).to_pylist()
    if kind == "json":
        path = write_json(tmp_path / "d.json", records)
    elif kind == "jsonl":
        path = write_json(tmp_path / "d.jsonl", records, lines=True)
    elif kind == "csv":
        path = tmp_path / "d.csv"
        pq.read_table(table).to_pandas().to_csv(path, index=False)
    else:
        for part in range(2):
            write_parquet(
                tmp_path / "parts" / f"p{part}.parquet",
                {k: [r[k] for r in records[part * 2 : part * 2 + 2]] for k in records[0]},
            )
        path = "parts/*.parquet"
    config = write_stage(tmp_path / "s.yaml", [t2i_entry(path)])
    assert quiet_build(config, tmp_path / "out").written.num_examples == 4


def test_relative_json_path_is_relative_to_the_yaml_file_not_the_working_directory(tmp_path, monkeypatch):
    table = t2i_table(tmp_path / "data", 2)
    config = write_stage(
        tmp_path / "configs" / "s.yaml", [t2i_entry(f"../data/{table.name}", image_root="../data")]
    )
    monkeypatch.chdir("/")
    assert quiet_build(config, tmp_path / "out").written.num_examples == 2


def test_all_entries_empty_is_an_error_naming_the_file(tmp_path):
    low = t2i_table(tmp_path, 2, scores=[1.0, 1.0])
    config = write_stage(tmp_path / "s.yaml", [t2i_entry(low)])
    with warnings.catch_warnings(), pytest.raises(ValueError, match=r"s\.yaml: no entry kept any row"):
        warnings.simplefilter("ignore")
        quiet_build(config, tmp_path / "out")


def test_a_group_weighted_zero_with_rows_is_left_out_and_counted_not_drawn(tmp_path):
    config = two_groups(tmp_path, (4, 3), {"x": 100, "y": 0})
    with (
        warnings.catch_warnings(),
        pytest.warns(EmptyEntryWarning, match="'b' is in a group whose share is 0"),
    ):
        warnings.simplefilter("ignore", ConfigWarning)
        result = quiet_build(config, tmp_path / "out")
    assert [(e.written, e.dropped["mixing:not_drawn"]) for e in result.entries] == [(4, 0), (0, 3)]
