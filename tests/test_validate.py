"""`hf-mixture validate`: a built demo folder passes; each way of breaking it (hub.md 4.4) fails with
the matching message. Broken variants are made from a copy of a good folder."""

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from huggingface_hub import DatasetCard

from hf_mixture.cli.main import main
from hf_mixture.export.validate import validate_folder

SHARD = "s2-256/train-00000-of-00002.parquet"  # the demo stages are written in 2 shards

pytest_plugins = ["publish_fixtures"]


def rewrite_shard(folder: Path, change, *, page_index: bool = True, name: str = SHARD) -> None:
    """Rewrite the s2-256 shard with `change(table)` applied."""
    table = change(pq.read_table(folder / SHARD))
    pq.write_table(table, folder / name, write_page_index=page_index)


def edit_card(folder: Path, change) -> None:
    """Rewrite the README header with `change(card_data)` applied."""
    card = DatasetCard.load(folder / "README.md")
    change(card.data)
    (folder / "README.md").write_text(f"---\n{card.data.to_yaml()}\n---\n{card.text}", encoding="utf-8")


def failed(folder: Path, **kwargs) -> dict[str, str]:
    """The failed checks of a folder: `scope/name` -> message."""
    return {f"{c.scope}/{c.name}": c.message for c in validate_folder(folder, **kwargs).failures()}


def test_a_built_demo_folder_passes_and_reports_first_rows_bytes(demo_folder, capsys):
    report = validate_folder(demo_folder)
    assert report.failures() == []
    assert main(["validate", str(demo_folder)]) == 0
    out = capsys.readouterr().out
    for stage in ("s1-gnd", "s2-256", "s3-unified"):
        assert f"PASS stage {stage}" in out
    assert "the first 100 rows need" in out and out.rstrip().endswith("(0 failed check(s))")


def test_dataset_script_at_the_root_fails(demo_copy, capsys):
    (demo_copy / f"{demo_copy.name}.py").write_text("print('hi')\n")
    assert "folder/no dataset script" in failed(demo_copy)
    assert main(["validate", str(demo_copy)]) == 2
    assert "DatasetWithScriptNotSupportedError" in capsys.readouterr().out


def test_big_row_groups_without_page_index_fail(demo_copy):
    rewrite_shard(demo_copy, lambda t: t, page_index=False)
    problems = failed(demo_copy, scan_limit=20_000)
    assert "no page index in train-00000-of-00002.parquet row group 0" in problems["stage s2-256/page index"]
    assert "the first 100 rows need" in problems["stage s2-256/first rows scan size"]
    assert "write smaller row groups" in problems["stage s2-256/first rows scan size"]
    assert "stage s1-gnd/page index" not in problems


def test_extra_column_in_one_shard_fails(demo_copy):
    rewrite_shard(
        demo_copy,
        lambda t: t.append_column("meta", pa.array(["x"] * len(t))),
        name="s2-256/train-00001-of-00002.parquet",
    )
    message = failed(demo_copy)["stage s2-256/one schema"]
    assert "train-00001-of-00002.parquet: extra column 'meta'" in message
    assert "DatasetGenerationCastError" in message


def test_type_drift_across_shards_fails(demo_copy):
    def ids_as_ints(table):
        index = table.schema.get_field_index("id")
        return table.set_column(index, "id", pa.array(range(len(table)), pa.int64()))

    rewrite_shard(demo_copy, ids_as_ints)
    message = failed(demo_copy)["stage s2-256/one schema"]
    assert "column 'id' is int64, README declares string" in message


def test_more_than_30_splits_fail(demo_copy):
    def many_splits(data):
        for config in data.configs:
            if config["config_name"] == "s2-256":
                config["data_files"] = [{"split": f"part{i}", "path": "s2-256/train-*"} for i in range(31)]

    edit_card(demo_copy, many_splits)
    assert "31 split(s)" in failed(demo_copy)["stage s2-256/split count"]


def test_globs_matching_no_file_fail(demo_copy):
    def bad_glob(data):
        for config in data.configs:
            if config["config_name"] == "s2-256":
                config["data_files"] = [{"split": "train", "path": "s2-256/validation-*"}]

    edit_card(demo_copy, bad_glob)
    problems = failed(demo_copy)
    assert "no file matches the data_files of split(s) ['train']" in problems["stage s2-256/data files"]


def test_local_image_paths_without_bytes_fail(demo_copy):
    def strip_bytes(table):
        images = [
            [{"bytes": None, "path": "/data/img.jpg"} for _ in row] for row in table["image_gen"].to_pylist()
        ]
        index = table.schema.get_field_index("image_gen")
        return table.set_column(index, "image_gen", pa.array(images, table.schema.field("image_gen").type))

    rewrite_shard(demo_copy, strip_bytes)
    message = failed(demo_copy)["stage s2-256/images"]
    assert "image_gen[0]: not embedded (path '/data/img.jpg', no bytes)" in message


def test_undecodable_image_bytes_fail(demo_copy):
    def garble(table):
        images = [
            [{"bytes": b"not an image", "path": "x.jpg"} for _ in row]
            for row in table["image_gen"].to_pylist()
        ]
        index = table.schema.get_field_index("image_gen")
        return table.set_column(index, "image_gen", pa.array(images, table.schema.field("image_gen").type))

    rewrite_shard(demo_copy, garble)
    assert "does not decode (UnidentifiedImageError" in failed(demo_copy)["stage s2-256/images"]


def test_stale_num_examples_fail(demo_copy):
    rows = sum(pq.read_metadata(p).num_rows for p in (demo_copy / "s2-256").glob("train-*.parquet"))
    rewrite_shard(demo_copy, lambda t: t.slice(0, len(t) - 2))
    message = failed(demo_copy)["stage s2-256/num_examples"]
    assert f"README dataset_info says {{'train': {rows}}}, files hold {{'train': {rows - 2}}}" in message
    assert "NonMatchingSplitsSizesError" in message


def test_two_default_configs_fail(demo_copy):
    def two_defaults(data):
        for config in data.configs:
            config["default"] = config["config_name"] in ("s1-gnd", "s2-256")

    edit_card(demo_copy, two_defaults)
    assert (
        "2 configs marked `default: true` (['s1-gnd', 's2-256'])"
        in failed(demo_copy)["folder/one default config"]
    )


def test_sidecar_file_in_the_data_glob_fails(demo_copy):
    (demo_copy / "s1-gnd" / "train-stats.jsonl").write_text('{"rows": 28}\n')
    problems = failed(demo_copy)
    message = problems["folder/one file format"]
    assert "['s1-gnd/train-stats.jsonl']" in message and "keep sidecar files out" in message


def test_unparsable_readme_fails(demo_copy):
    (demo_copy / "README.md").write_text("---\nconfigs: [\n---\n# broken\n")
    assert "README.md" in failed(demo_copy)["folder/README YAML"]


def test_stage_on_disk_missing_from_readme_fails(demo_copy):
    (demo_copy / "s9-extra").mkdir()
    (demo_copy / "s9-extra" / "train-00000-of-00001.parquet").write_bytes((demo_copy / SHARD).read_bytes())
    assert "stages on disk not declared: ['s9-extra']" in failed(demo_copy)["folder/config names"]


def test_rows_breaking_the_schema_invariants_fail(demo_copy):
    def drop_gen_tokens(table):
        turns = table["conversations"].to_pylist()
        turns[0] = [{**t, "value": t["value"].replace("<image_gen>", "")} for t in turns[0]]
        index = table.schema.get_field_index("conversations")
        return table.set_column(
            index, "conversations", pa.array(turns, table.schema.field("conversations").type)
        )

    rewrite_shard(demo_copy, drop_gen_tokens)
    assert "invariant:image_gen_token_count 1" in failed(demo_copy)["stage s2-256/schema invariants"]


@pytest.mark.parametrize("column", ["images", "image_gen"])
def test_list_lengths_are_read_without_image_bytes(demo_folder, column):
    """The invariant check reads only the `path` leaf of image columns (cheap on big shards)."""
    batch = next(pq.ParquetFile(demo_folder / SHARD).iter_batches(columns=[f"{column}.list.element.path"]))
    full = pq.read_table(demo_folder / SHARD, columns=[column])[column]
    assert (
        pc.list_value_length(batch.column(0)).to_pylist()
        == pc.list_value_length(full).to_pylist()[: len(batch)]
    )
