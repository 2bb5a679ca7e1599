"""`hf-mixture export llava`: LLaVA / LaViDa-O records plus a LaViDa-O style YAML that our own
loader (and builder) accepts."""

import json
from collections import Counter

import pytest

from hf_mixture.build import build_stage
from hf_mixture.cli.main import main
from hf_mixture.config.load import load_stage_config
from hf_mixture.export.folder import read_stage_columns
from hf_mixture.export.llava import LlavaExporter
from hf_mixture.export.report import load_report

pytest_plugins = ["publish_fixtures"]


@pytest.fixture(scope="module")
def exported(demo_folder, tmp_path_factory):
    to = tmp_path_factory.mktemp("llava") / "s3"
    result = LlavaExporter(demo_folder, "s3-unified", to, "jsonl").run(progress=False)
    return to, result


def test_one_file_per_length_group_with_every_row(demo_folder, exported):
    to, result = exported
    groups = Counter(
        read_stage_columns(demo_folder, "s3-unified", ["length_group"])["length_group"].to_pylist()
    )
    assert result.rows == dict(groups)
    for group, count in groups.items():
        assert len((to / "data" / f"{group}.jsonl").read_text().splitlines()) == count


def test_records_hold_relative_paths_and_encoder_sources_as_paths(exported):
    to, _ = exported
    rows = [
        json.loads(line) for p in sorted((to / "data").glob("*.jsonl")) for line in p.read_text().splitlines()
    ]
    edit = next(r for r in rows if r["task"] == "edit")
    assert edit["is_edit"] and edit["pad_image_gen"]
    assert edit["image_gen_enc"] == edit["image"][:1] and len(edit["image_gen"]) == 1
    t2i = next(r for r in rows if r["task"] == "t2i" and r["gen_score"] is not None)
    assert t2i["image"] == [] and isinstance(t2i["gen_score"], list) and len(t2i["gen_score"]) == 1
    for row in rows:
        for path in row["image"] + row["image_gen"]:
            assert not path.startswith("/") and (to / path).is_file()


def test_our_loader_accepts_the_exported_yaml(demo_folder, exported):
    to, result = exported
    config = load_stage_config(to / "s3-unified.yaml")
    assert config.settings.name == "s3-unified"
    assert [e.length_group for e in config.entries] == sorted(result.rows)
    assert {e.preprocess_fn for e in config.entries} == {"process_uniworld"}
    batch_sizes = load_report(demo_folder, "s3-unified")["batch_sizes"]
    assert config.batch_sizes == batch_sizes
    # rows / rows per step: a half-batch group is drawn twice as often, so LaViDa-O shows its rows
    factor = {group: min(batch_sizes.get(group, 1), 1) for group in result.rows}
    assert config.weights == {group: pytest.approx(n / factor[group]) for group, n in result.rows.items()}
    assert any(f < 1 for f in factor.values())
    assert config.warnings == ()


def test_building_the_exported_yaml_reads_every_row_without_a_drop(exported, tmp_path):
    to, result = exported
    built = build_stage(to / "s3-unified.yaml", tmp_path / "rebuilt", echo=lambda *_: None)
    for entry in built.entries:
        group = entry.name.removeprefix("s3-unified-")
        assert entry.read == result.rows[group]
        assert sum(entry.dropped.values()) - entry.dropped.get("mixing:not_drawn", 0) == 0, entry.dropped


@pytest.mark.parametrize("fmt", ["json", "parquet"])
def test_other_formats_load_too(demo_folder, tmp_path, fmt):
    assert main(["export", "llava", str(demo_folder), "--stage", "s1-gnd", "--to", str(tmp_path / "x"),
                 "--format", fmt, "--no-progress"]) == 0  # fmt: skip
    config = load_stage_config(tmp_path / "x" / "s1-gnd.yaml")
    assert all(e.json_path.endswith(f".{fmt}") for e in config.entries)
