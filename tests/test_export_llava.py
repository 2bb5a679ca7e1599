"""`hf-mixture export llava`: LaViDa-O payload records plus a LaViDa-O data YAML.

The facts pinned here are those of LaViDa-O's loader (adobe-research/LaVida-O e3a80df,
llava/train/data/datasets.py; lavida-o-loader.md section 7): the YAML names no preprocess_fn, so each
record reaches `_get_item` as it is; no key holds null; `reweight` only with a generation target;
`gen_score` / `hpsv2` one number per target; every path relative to the export folder.
"""

import hashlib
import json
from collections import Counter

import pytest
import yaml

from hf_mixture.build import build_stage
from hf_mixture.cli.main import main
from hf_mixture.config.load import load_stage_config
from hf_mixture.export.exporter import ExportError, MediaWriter
from hf_mixture.export.folder import read_stage_columns, stage_num_rows
from hf_mixture.export.llava import LlavaExporter, lavida_payload, lavida_payload_problem
from hf_mixture.export.report import load_report
from hf_mixture.schema import source_row_id

pytest_plugins = ["publish_fixtures"]
STAGE_COLUMNS = ["id", "length_group", "conversations", "images", "image_gen", "image_gen_enc",
                 "pad_image_gen", "do_not_mask_text", "reweight", "gen_score", "hpsv2"]  # fmt: skip


@pytest.fixture(scope="module")
def exported(demo_folder, tmp_path_factory):
    to = tmp_path_factory.mktemp("llava") / "s3"
    result = LlavaExporter(demo_folder, "s3-unified", to, "jsonl").run(progress=False)
    return to, result


def read_records(to):
    files = sorted((to / "data").glob("*.jsonl"))
    return [json.loads(line) for path in files for line in path.read_text().splitlines()]


def digest(path_or_image, root=None):
    data = (root / path_or_image).read_bytes() if root else path_or_image["bytes"]
    return hashlib.sha1(data).hexdigest()


def test_one_file_per_length_group_with_every_row(demo_folder, exported):
    to, result = exported
    groups = Counter(
        read_stage_columns(demo_folder, "s3-unified", ["length_group"])["length_group"].to_pylist()
    )
    assert result.rows == dict(groups)
    for group, count in groups.items():
        assert len((to / "data" / f"{group}.jsonl").read_text().splitlines()) == count


def test_yaml_entries_name_no_preprocess_fn_and_relative_files(demo_folder, exported):
    to, result = exported
    document = yaml.safe_load((to / "s3-unified.yaml").read_text())
    for entry in document["datasets"]:
        assert "preprocess_fn" not in entry and "process_fn_kwargs" not in entry
        assert not entry["json_path"].startswith("/") and (to / entry["json_path"]).is_file()
        assert entry["sampling_strategy"] == "all"
    assert document["batch_sizes"] == load_report(demo_folder, "s3-unified")["batch_sizes"]


def test_every_record_passes_the_lavida_o_payload_contract(exported):
    to, _ = exported
    records = read_records(to)
    assert records and all(lavida_payload_problem(r) is None for r in records)
    assert not [r["id"] for r in records if any(v is None for v in r.values())]
    assert all(r.get("image_gen") for r in records if "reweight" in r)
    for record in records:
        for path in record.get("image", []) + record.get("image_gen", []) + record.get("image_gen_enc", []):
            assert not path.startswith("/") and (to / path).is_file()


def test_records_carry_the_stage_rows_payload(demo_folder, exported):
    to, _ = exported
    stored = read_stage_columns(demo_folder, "s3-unified", STAGE_COLUMNS).to_pylist()
    in_group_order = sorted(stored, key=lambda row: row["length_group"])  # stable: stage order per group
    records = read_records(to)
    assert [r["id"] for r in records] == [row["id"] for row in in_group_order]
    for row, record in zip(in_group_order, records):
        images = [digest(i) for i in row["images"]]
        assert record["conversations"] == row["conversations"]
        assert [digest(p, to) for p in record.get("image", [])] == images
        assert [digest(p, to) for p in record.get("image_gen", [])] == [digest(i) for i in row["image_gen"]]
        encoder = [images[k] for k in row["image_gen_enc"]]
        assert [digest(p, to) for p in record.get("image_gen_enc", [])] == encoder
        assert record["pad_image_gen"] == row["pad_image_gen"]
        assert record["do_not_mask_text"] == row["do_not_mask_text"]
        assert record.get("reweight") == (row["reweight"] if row["image_gen"] else None)
        for key in ("gen_score", "hpsv2"):
            expected = None if row[key] is None else [pytest.approx(row[key])] * max(len(row["image_gen"]), 1)
            assert record.get(key) == expected


def test_our_loader_accepts_the_exported_yaml(demo_folder, exported):
    to, result = exported
    config = load_stage_config(to / "s3-unified.yaml")
    assert config.settings.name == "s3-unified"
    assert [e.length_group for e in config.entries] == sorted(result.rows)
    assert {e.preprocess_fn for e in config.entries} == {"lavida_payload"}  # no preprocess_fn named
    batch_sizes = load_report(demo_folder, "s3-unified")["batch_sizes"]
    assert config.batch_sizes == batch_sizes
    # rows / rows per step: a half-batch group is drawn twice as often, so LaViDa-O shows its rows
    factor = {group: min(batch_sizes.get(group, 1), 1) for group in result.rows}
    assert config.weights == {group: pytest.approx(n / factor[group]) for group, n in result.rows.items()}
    assert any(f < 1 for f in factor.values())
    assert config.warnings == ()


def test_every_task_of_the_stage_is_exported_with_its_flags(exported):
    to, _ = exported
    records = read_records(to)
    kinds = {(r["task"], "image_gen" in r, r.get("reweight"), r["do_not_mask_text"]) for r in records}
    assert ("edit", True, True, False) in kinds  # sharegpt-4o-edit, reweight: true
    assert ("edit", True, False, False) in kinds  # process_gpt_edit
    assert ("planning", True, None, True) in kinds  # plan then image
    assert ("planning", False, None, False) in kinds  # plan only: no target, no reweight key
    assert any(r["task"] == "understanding" and "image" not in r for r in records)  # text-only


def lavida_record(**changes):
    record = {"id": "x", "conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "ok"}]}
    return {**record, **changes}


@pytest.mark.parametrize(
    ("record", "problem"),
    [
        (lavida_record(hpsv2=None), "hold null"),
        (lavida_record(reweight=False), "reweight without image_gen"),
        (lavida_record(image_gen=["/abs/a.png"]), "relative to the export folder"),
        (lavida_record(image=["s3://b/a.png"]), "relative to the export folder"),
        (lavida_record(image_gen=["a.png", "b.png"], gen_score=[5.0]), "one number per generation target"),
        (lavida_record(pad_image_gen=1), "must be a bool"),
    ],
)
def test_payload_contract_names_what_lavida_o_cannot_read(record, problem):
    assert problem in lavida_payload_problem(record)


def test_a_row_without_values_gives_a_record_without_those_keys(tmp_path):
    row = {
        "id": "a/0",
        "source": "a",
        "task": "understanding",
        "conversations": lavida_record()["conversations"],
        "images": [],
        "image_gen": [],
        "image_gen_enc": [],
        "pad_image_gen": False,
        "do_not_mask_text": False,
        "reweight": True,
        "gen_score": None,
        "hpsv2": None,
        "original_width": None,
        "original_height": None,
    }
    record = lavida_payload(row, MediaWriter(tmp_path))
    assert set(record) == {"id", "source", "task", "conversations", "pad_image_gen", "do_not_mask_text"}


def test_parquet_is_refused_for_lavida_o(demo_folder, tmp_path):
    with pytest.raises(ExportError, match="json or jsonl .* pandas"):
        LlavaExporter(demo_folder, "s1-gnd", tmp_path / "x", "parquet")


def test_json_format_and_cli(demo_folder, tmp_path):
    assert main(["export", "llava", str(demo_folder), "--stage", "s1-gnd", "--to", str(tmp_path / "x"),
                 "--format", "json", "--no-progress"]) == 0  # fmt: skip
    document = yaml.safe_load((tmp_path / "x" / "s1-gnd.yaml").read_text())
    files = [tmp_path / "x" / e["json_path"] for e in document["datasets"]]
    assert all(f.suffix == ".json" for f in files)
    assert sum(len(json.loads(f.read_text())) for f in files) == stage_num_rows(demo_folder, "s1-gnd")


def test_our_loader_reads_the_exported_yaml_back_with_the_same_rows(demo_folder, exported, tmp_path):
    """An entry naming no preprocess_fn holds payload records, as LaViDa-O reads it."""
    to, result = exported
    built = build_stage(to / "s3-unified.yaml", tmp_path / "rebuilt", echo=lambda *_: None)
    assert {e.name.removeprefix("s3-unified-"): e.read for e in built.entries} == result.rows
    assert all(sum(e.dropped.values()) - e.dropped.get("mixing:not_drawn", 0) == 0 for e in built.entries)
    columns = ["conversations", "task", "pad_image_gen", "do_not_mask_text", "reweight", "gen_score", "hpsv2"]
    stored = read_stage_columns(demo_folder, "s3-unified", ["length_group", *columns]).to_pylist()
    position, expected = Counter(), {}
    for row in sorted(stored, key=lambda r: r["length_group"]):  # the order of the group files
        group = row["length_group"]
        expected[f"s3-unified-{group}/{position[group]}"] = {k: row[k] for k in columns}
        position[group] += 1
    rebuilt = read_stage_columns(tmp_path / "rebuilt", "s3-unified", ["id", *columns]).to_pylist()
    assert rebuilt
    for row in rebuilt:
        assert {k: row[k] for k in columns} == expected[source_row_id(row["id"])]
