"""Why a row was dropped is visible: the report and `-v` give the first rows per reason with
what happened; a missing package for a scheme the stage uses stops `check`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from factories import t2i_entry, t2i_table, write_parquet, write_stage

from hf_mixture.build import build_stage
from hf_mixture.engines.tally import add_counts, stats_counts
from hf_mixture.errors import SourceError
from hf_mixture.stats import MAX_EXAMPLES, EntryStats

REPO = Path(__file__).resolve().parent.parent


def build_report(tmp_path, entries, **top) -> dict:
    config = write_stage(tmp_path / "s.yaml", entries, **top)
    result = build_stage(config, tmp_path / "out", echo=lambda *_: None)
    return json.loads(result.report_path.read_text())["entries"]


def with_image_paths(tmp_path, n: int, paths: dict[int, str], name: str = "refs") -> Path:
    """A t2i parquet of `n` rows whose rows `paths` point at the given image paths instead."""
    data = pq.read_table(t2i_table(tmp_path, n)).to_pydict()
    for row, path in paths.items():
        data["s3_path"][row] = path
    return write_parquet(tmp_path / f"{name}.parquet", data)


def missing_images_table(tmp_path, n_missing: int) -> Path:
    """Two good rows, then `n_missing` rows whose image is absent (`gone/<row>.jpg`)."""
    gone = {row: str(tmp_path / "gone" / f"{row}.jpg") for row in range(2, 2 + n_missing)}
    return with_image_paths(tmp_path, 2 + n_missing, gone)


def test_media_drop_examples_name_the_row_and_the_path_tried(tmp_path):
    entry = build_report(tmp_path, [t2i_entry(missing_images_table(tmp_path, 1))])[0]
    assert entry["examples"]["media:missing"] == [
        {"id": "t2i/2", "message": f"{tmp_path}/gone/2.jpg: media:missing: {tmp_path}/gone/2.jpg"}
    ]


def test_filter_drop_examples_give_the_value_and_the_rule(tmp_path):
    table = t2i_table(tmp_path, 3, scores=[6.0, 2.5, 7.0])
    entry = build_report(tmp_path, [t2i_entry(table, aes_cutoff=5)])[0]
    assert entry["examples"]["filter:aes_cutoff"] == [
        {"id": "t2i/1", "message": "fltLaionAesthScore=2.5; keeps fltLaionAesthScore > 5.0"}
    ]


def test_examples_are_capped_per_reason(tmp_path):
    entry = build_report(tmp_path, [t2i_entry(missing_images_table(tmp_path, MAX_EXAMPLES + 4))])[0]
    assert entry["dropped"]["media:missing"] == MAX_EXAMPLES + 4
    assert [e["id"] for e in entry["examples"]["media:missing"]] == ["t2i/2", "t2i/3", "t2i/4"]


def test_mixing_not_drawn_says_why(tmp_path):
    entry = build_report(tmp_path, [t2i_entry(t2i_table(tmp_path, 5))], stage={"num_samples": 2})[0]
    assert entry["examples"]["mixing:not_drawn"][0]["message"].startswith("the mix drew 2 of its 5 rows")


def test_examples_from_distributed_tasks_merge_within_the_cap():
    whole = EntryStats(0, "e", "e", "default", "f", "all")
    for task in range(3):
        part = EntryStats(0, "e", "e", "default", "f", "all")
        part.dropped["media:missing"] += 2
        for row in range(2):
            part.note_drop("media:missing", f"e/{task}{row}", "gone")
        add_counts(whole, stats_counts(part))
    assert whole.dropped["media:missing"] == 6
    assert len(whole.examples["media:missing"]) == MAX_EXAMPLES


def run_cli(
    args: list[str], *, without: str | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess:
    """`hf-mixture ARGS` in a new process; `without` names a module whose import fails there."""
    paths = [str(REPO)]
    if without:
        blocker = (cwd or Path.cwd()) / f"no-{without}"
        blocker.mkdir(exist_ok=True)
        (blocker / "sitecustomize.py").write_text(f"import sys\nsys.modules[{without!r}] = None\n")
        paths.insert(0, str(blocker))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    command = [sys.executable, "-m", "hf_mixture.cli.main", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)


def test_verbose_build_prints_the_examples(tmp_path):
    config = write_stage(tmp_path / "s.yaml", [t2i_entry(missing_images_table(tmp_path, 1))])
    done = run_cli(["-v", "build", str(config), "--out", str(tmp_path / "out")])
    assert done.returncode == 0, done.stderr
    assert f"t2i: media:missing: t2i/2: {tmp_path}/gone/2.jpg" in done.stderr


@pytest.mark.parametrize(
    "keys, where",
    [
        ({"image_root": "s3://bucket/images/"}, "datasets[0] (t2i): image_root: 's3://bucket/images/'"),
        ({"json_path": "s3://bucket/t2i.parquet"}, "datasets[0] (t2i): json_path: 's3://bucket/t2i.parquet'"),
    ],
)
def test_entry_scheme_without_its_package_stops_check(tmp_path, keys, where):
    config = write_stage(tmp_path / "s.yaml", [{**t2i_entry(t2i_table(tmp_path, 2)), **keys}])
    done = run_cli(["check", str(config)], without="s3fs", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert where in done.stderr and "needs `s3fs`: pip install s3fs" in done.stderr


def test_path_mapping_to_a_scheme_without_its_package_stops_check(tmp_path):
    config = write_stage(
        tmp_path / "s.yaml",
        [t2i_entry(t2i_table(tmp_path, 2))],
        stage={"path_mappings": {"/data/": "s3://bucket/data/"}},
    )
    done = run_cli(["check", str(config)], without="s3fs", cwd=tmp_path)
    assert done.returncode == 2
    assert (
        "stage.path_mappings: '/data/' -> 's3://bucket/data/': reading s3:// paths needs `s3fs`"
        in done.stderr
    )


def s3_references_stage(tmp_path) -> Path:
    table = with_image_paths(tmp_path, 2, {0: "s3://bucket/a.jpg", 1: "s3://bucket/b.jpg"})
    return write_stage(tmp_path / "s.yaml", [t2i_entry(table)])


@pytest.mark.parametrize("command", ["check", "build"])
def test_image_references_without_their_package_stop_before_building(tmp_path, command):
    config = s3_references_stage(tmp_path)
    extra = ["--out", str(tmp_path / "out")] if command == "build" else []
    done = run_cli([command, str(config), *extra], without="s3fs", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert (
        "datasets[0] (t2i): images such as 's3://bucket/a.jpg': reading s3:// paths needs `s3fs`"
        in done.stderr
    )
    assert "[1/1]" not in done.stdout


def test_sampling_drop_examples_name_the_strategy(tmp_path):
    entry = build_report(tmp_path, [t2i_entry(t2i_table(tmp_path, 3), sampling_strategy="first:1")])[0]
    assert entry["examples"]["sampling:not_selected"][0] == {
        "id": "t2i/1",
        "message": "not kept by sampling_strategy first:1",
    }


def test_a_stage_with_no_rows_left_names_the_cause(tmp_path):
    table = with_image_paths(tmp_path, 1, {0: str(tmp_path / "gone" / "0.jpg")})
    config = write_stage(tmp_path / "s.yaml", [t2i_entry(table)])
    with pytest.raises(SourceError, match=r"e\.g\. media:missing: t2i/0: .*gone/0\.jpg"):
        build_stage(config, tmp_path / "out", echo=lambda *_: None)
