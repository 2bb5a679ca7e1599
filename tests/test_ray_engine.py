"""`--engine ray` builds what the local build builds: same rows in the same order, same report.

One local Ray cluster (2 CPUs) serves the whole module; deselect these tests with `-m "not ray"`.
"""

import glob
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from datasets import load_dataset
from factories import llava_stage_with_dropped_repairs, write_image, write_json, write_stage

from hf_mixture.build import build_stage
from hf_mixture.config.load import load_stage_config
from hf_mixture.engines import KILL_ONCE_ENV, EngineError, make_ray_engine, open_engine
from hf_mixture.engines.pieces import Piece, needs_counting, piece_starts, plan_pieces
from hf_mixture.errors import SourceError

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "configs" / "demo"


@pytest.fixture(scope="module")
def ray_cluster():
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def build_both(config: Path, tmp_path: Path, **ray_options):
    """The stage built by both engines: (local folder, ray folder, stage name)."""
    local, remote = tmp_path / "local", tmp_path / "ray"
    result = build_stage(config, local, echo=lambda *_: None)
    build_stage(config, remote, echo=lambda *_: None, engine=make_ray_engine(**ray_options))
    return local, remote, result.stage


def stage_table(out: Path, stage: str) -> pa.Table:
    return pq.read_table(sorted(glob.glob(str(out / stage / "train-*.parquet"))))


def report(out: Path, stage: str) -> dict:
    return json.loads((out / stage / "build_report.json").read_text())


def assert_same_build(local: Path, remote: Path, stage: str) -> pa.Table:
    """Same shard files byte for byte (so same rows, images included, in the same order), same
    report counts."""
    shards = sorted(p.name for p in (local / stage).glob("train-*.parquet"))
    assert shards == sorted(p.name for p in (remote / stage).glob("train-*.parquet"))
    for name in shards:
        assert (remote / stage / name).read_bytes() == (local / stage / name).read_bytes(), name
    expected, got = stage_table(local, stage), stage_table(remote, stage)
    assert sorted(got["id"].to_pylist()) == sorted(expected["id"].to_pylist())
    assert got.to_pylist() == expected.to_pylist()
    assert report(remote, stage) == report(local, stage)
    return got


@pytest.mark.ray
@pytest.mark.parametrize("stage", ["s2-256", "s1-gnd", "s3-unified"])
def test_demo_stage_built_with_ray_equals_the_local_build(ray_cluster, tmp_path, stage):
    local, remote, name = build_both(DEMO / f"{stage}.yaml", tmp_path)
    table = assert_same_build(local, remote, name)
    assert len(load_dataset(str(remote), name, split="train")) == len(table) > 0


def t2i_parts(tmp_path: Path, n_files: int, rows: int, group_rows: int) -> str:
    """`n_files` parquet files of `rows` t2i rows in row groups of `group_rows`, scores below the
    cutoff or missing on some rows, 4 shared images (one missing); returns the glob."""
    images = [str(write_image(tmp_path / "img" / f"{i}.jpg", color=(40 * i, 90, 20))) for i in range(3)]
    images.append(str(tmp_path / "img" / "missing.jpg"))
    for f in range(n_files):
        n = range(f * rows, (f + 1) * rows)
        scores = [None if i % 11 == 3 else 4.0 + (i * 7 % 5) for i in n]
        table = pa.table(
            {
                "s3_path": [images[i % 4] for i in n],
                "caption": [f"caption {i}" for i in n],
                "fltLaionAesthScore": pa.array(scores, pa.float64()),
            }
        )
        pq.write_table(table, tmp_path / f"part-{f}.parquet", row_group_size=group_rows)
    return str(tmp_path / "part-*.parquet")


def t2i(name: str, json_path: str, strategy: str, **keys) -> dict:
    return {
        "name": name,
        "json_path": json_path,
        "sampling_strategy": strategy,
        "preprocess_fn": "preproces_text_to_image_generation_s3",
        **keys,
    }


@pytest.mark.ray
def test_positional_sampling_over_many_row_group_pieces_matches_the_local_build(ray_cluster, tmp_path):
    parts = t2i_parts(tmp_path / "data", n_files=3, rows=20, group_rows=3)
    entries = [
        t2i("rand", parts, "random:40%"),
        t2i("tail", parts, "end:7", aes_cutoff=5.5),
        t2i("head", parts, "first:9"),
        t2i("twice", parts, "dup:2"),
    ]
    stage = {"name": "pieces", "resolution": 16, "num_shards": 3, "stopping_strategy": "all_exhausted"}
    config = write_stage(tmp_path / "stage.yaml", entries, stage=stage)
    local, remote, stage = build_both(config, tmp_path, piece_rows=4)
    assert_same_build(local, remote, stage)
    dropped = {e["name"]: e["dropped"] for e in report(remote, stage)["entries"]}
    assert dropped["rand"]["media:missing"] > 0 and dropped["tail"]["filter:aes_cutoff"] > 0


@pytest.mark.ray
def test_json_lines_files_with_bad_lines_match_the_local_build(ray_cluster, tmp_path):
    image = str(write_image(tmp_path / "img" / "a.jpg"))
    for f in range(3):
        rows = [
            {"s3_path": image, "caption": f"c{f}-{i}", "fltLaionAesthScore": 4.5 + i % 3} for i in range(6)
        ]
        write_json(tmp_path / "data" / f"rows-{f}.jsonl", rows, lines=True)
        with open(tmp_path / "data" / f"rows-{f}.jsonl", "a", encoding="utf-8") as handle:
            handle.write("\n{not json\n[1, 2]\n")
    entries = [t2i("lines", str(tmp_path / "data" / "rows-*.jsonl"), "first:7")]
    config = write_stage(tmp_path / "stage.yaml", entries, stage={"name": "lines", "resolution": 16})
    local, remote, stage = build_both(config, tmp_path)
    assert_same_build(local, remote, stage)
    entry = report(remote, stage)["entries"][0]
    assert entry["dropped"]["source:invalid_json_line"] == 3 and entry["dropped"]["source:not_an_object"] == 3
    assert entry["sampled"] == 7


@pytest.mark.ray
def test_a_source_failing_inside_a_ray_task_is_reported_naming_the_file_and_entry(ray_cluster, tmp_path):
    image = str(write_image(tmp_path / "img" / "a.jpg"))
    write_json(tmp_path / "data" / "rows-0.json", [{"s3_path": image, "caption": "c"}])
    # broken after the records `check` reads (the first 8192), so the failure happens in a Ray task
    good = ", ".join(['{"s3_path": "a.jpg", "caption": "c"}'] * 8200)
    (tmp_path / "data" / "rows-1.json").write_text(
        f'[{good}, {{"s3_path": "a.jpg", "caption": ', encoding="utf-8"
    )
    entries = [t2i("broken", str(tmp_path / "data" / "rows-*.json"), "all")]
    config = write_stage(tmp_path / "stage.yaml", entries, stage={"name": "broken"})
    with pytest.raises(SourceError) as caught:
        build_stage(config, tmp_path / "out", echo=lambda *_: None, engine=make_ray_engine())
    message = str(caught.value)
    assert "datasets[0] (broken)" in message and "rows-1.json" in message and "Ray" not in message


@pytest.mark.ray
def test_webdataset_shards_are_read_as_one_piece_each_and_match_the_local_build(ray_cluster, tmp_path):
    shards = str(DEMO.parent.parent / "demo" / "sources" / "blip3o" / "BLIP3o-60k" / "*.tar")
    entries = [
        {
            "name": "wds",
            "json_path": shards,
            "builder": "webdataset",
            "sampling_strategy": "random:3",
            "preprocess_fn": "preproces_text_to_image_generation_s3",
        },
        {
            "name": "wds-all",
            "json_path": shards,
            "builder": "webdataset",
            "sampling_strategy": "all",
            "preprocess_fn": "preproces_text_to_image_generation_s3",
        },
    ]
    config = write_stage(tmp_path / "stage.yaml", entries, stage={"name": "wds", "resolution": 16})
    loaded = load_stage_config(config)
    pieces = plan_pieces(loaded.entries[0], loaded.storage(), "files")
    assert [Path(p.files[0]).name for p in pieces] == ["00000.tar", "00001.tar"]
    local, remote, stage = build_both(config, tmp_path)
    assert_same_build(local, remote, stage)
    assert report(remote, stage)["entries"][1]["dropped"] == {"source:no_image_member": 1}


@pytest.mark.ray
def test_a_worker_killed_mid_build_is_retried_and_gives_the_same_output_and_counts(
    ray_cluster, tmp_path, monkeypatch
):
    parts = t2i_parts(tmp_path / "data", n_files=2, rows=12, group_rows=4)
    entries = [t2i("a", parts, "all"), t2i("b", parts, "random:50%")]
    config = write_stage(tmp_path / "stage.yaml", entries, stage={"name": "killed", "num_shards": 2})
    marker = tmp_path / "killed-once"
    monkeypatch.setenv(KILL_ONCE_ENV, str(marker))
    local, remote, stage = build_both(config, tmp_path, piece_rows=4)
    assert (tmp_path / "killed-once.media").exists() and (tmp_path / "killed-once.shard").exists()
    assert_same_build(local, remote, stage)


@pytest.mark.ray
def test_a_ray_build_killed_mid_entry_reuses_its_finished_piece_groups(ray_cluster, tmp_path):
    image = str(write_image(tmp_path / "img" / "a.jpg", size=(300, 200)))
    for f in range(24):  # one piece per file, 8 pieces a group on 2 CPUs: 3 groups
        rows = [
            {"s3_path": image, "caption": f"c{f}-{i}", "fltLaionAesthScore": 4.5 + i % 3} for i in range(40)
        ]
        write_json(tmp_path / "data" / f"rows-{f:02d}.jsonl", rows, lines=True)
    entries = [t2i("lines", str(tmp_path / "data" / "rows-*.jsonl"), "random:50%", aes_cutoff=5)]
    config = write_stage(tmp_path / "stage.yaml", entries, stage={"name": "resumed", "resolution": 16})
    command = [sys.executable, "-m", "hf_mixture.cli.main", "build", str(config), "--engine", "ray"]
    command += ["--address", ray_cluster.get_runtime_context().gcs_address, "--work-dir", str(tmp_path / "w")]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    killed = subprocess.Popen([*command, "--out", str(tmp_path / "ray")], env=env, stderr=subprocess.DEVNULL)
    while not list((tmp_path / "w" / "entries").glob("*.partial/pieces-*-000000-000007/counts.json")):
        assert killed.poll() is None, "the build ended before its first piece group was kept"
        time.sleep(0.2)
    killed.kill()
    killed.wait(timeout=60)
    rerun = subprocess.run(
        [*command, "--out", str(tmp_path / "ray")], env=env, capture_output=True, text=True
    )
    assert rerun.returncode == 0, rerun.stderr
    done, total = report(tmp_path / "ray", "resumed")["reused_piece_groups"]["lines"]
    assert 1 <= done < total == 3
    build_stage(config, tmp_path / "local", echo=lambda *_: None)
    local, remote = report(tmp_path / "local", "resumed"), report(tmp_path / "ray", "resumed")
    assert remote["entries"] == local["entries"]
    assert stage_table(tmp_path / "ray", "resumed").equals(stage_table(tmp_path / "local", "resumed"))


def test_pieces_of_parquet_files_follow_row_groups_and_start_after_the_previous(tmp_path):
    parts = t2i_parts(tmp_path, n_files=2, rows=10, group_rows=3)  # groups of 3, 3, 3, 1 rows per file
    config = write_stage(tmp_path / "stage.yaml", [t2i("e", parts, "all")], stage={"name": "p"})
    entry = load_stage_config(config).entries[0]
    pieces = plan_pieces(entry, load_stage_config(config).storage(), cut="row_groups", piece_rows=5)
    assert [(Path(p.files[0]).name, p.row_groups, p.rows) for p in pieces] == [
        ("part-0.parquet", (0, 1), 6),
        ("part-0.parquet", (2, 3), 4),
        ("part-1.parquet", (0, 1), 6),
        ("part-1.parquet", (2, 3), 4),
    ]
    starts, total = piece_starts(pieces, None)
    assert [s.position for s in starts] == [0, 6, 10, 16] and total == 20
    assert not needs_counting(entry, pieces, filters=[])


def test_files_without_footer_counts_need_a_counting_pass():
    pieces = [Piece(0, ("a.jsonl",)), Piece(1, ("b.jsonl",))]
    starts, total = piece_starts(pieces, {0: (5, 3), 1: (4, 4)})
    assert [(s.position, s.filtered) for s in starts] == [(0, 0), (5, 3)] and total == 7


def test_an_unknown_engine_is_an_error_listing_the_engines():
    with pytest.raises(EngineError, match="local, ray"):
        open_engine("spark")


def test_engine_ray_without_ray_installed_says_how_to_install_it(tmp_path):
    shim = tmp_path / "shim" / "ray"
    shim.mkdir(parents=True)
    (shim / "__init__.py").write_text("raise ImportError(\"No module named 'ray' (hidden by the test)\")\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path / "shim"), str(REPO)])}
    command = [sys.executable, "-m", "hf_mixture.cli.main", "build", str(DEMO / "s2-256.yaml")]
    result = subprocess.run(
        [*command, "--out", str(tmp_path / "out"), "--engine", "ray"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert "pip install 'hf-mixture[ray]'" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out" / "s2-256").exists()


@pytest.mark.ray
def test_repairs_of_rows_dropped_later_are_not_counted_by_ray(ray_cluster, tmp_path):
    local, remote, name = build_both(llava_stage_with_dropped_repairs(tmp_path), tmp_path)
    assert_same_build(local, remote, name)
    assert report(remote, name)["entries"][0]["repaired"] == {"repair:image_token_added": 2}


@pytest.mark.ray
def test_user_function_beside_the_yaml_returning_none_is_counted_by_ray(ray_cluster, tmp_path):
    (tmp_path / "ray_none_fns.py").write_text(
        "def fn(row, *, rng):\n"
        "    if row['caption'] == 'none':\n"
        "        return None\n"
        "    turns = [{'from': 'human', 'value': row['caption']}, {'from': 'gpt', 'value': '<image_gen>'}]\n"
        "    return {'task': 't2i', 'conversations': turns, 'image_gen': [row['s3_path']]}\n"
    )
    rows = [
        {"s3_path": str(write_image(tmp_path / f"{i}.jpg")), "caption": c}
        for i, c in enumerate(["a", "none"])
    ]
    data = write_json(tmp_path / "rows.jsonl", rows, lines=True)
    config = write_stage(
        tmp_path / "s.yaml", [{"name": "u", "json_path": str(data), "preprocess_fn": "ray_none_fns:fn"}]
    )
    local, remote, name = build_both(config, tmp_path)
    assert_same_build(local, remote, name)
    assert report(remote, name)["entries"][0]["dropped"] == {"preprocess:output_wrong_type": 1}


@pytest.mark.ray
def test_ray_logs_and_bars_stay_quiet_without_verbose(ray_cluster, tmp_path, capfd):
    build_stage(DEMO / "s2-256.yaml", tmp_path / "out", echo=lambda *_: None, engine="ray", progress=False)
    captured = capfd.readouterr()
    output = captured.out + captured.err
    assert "Running Dataset" not in output and "Execution plan" not in output
    assert "streaming_executor" not in output and "maximum number of concurrent tasks" not in output


@pytest.mark.ray
def test_a_ray_build_into_s3_writes_the_local_builds_bytes(ray_cluster, s3_env, tmp_path):
    import fsspec

    url = f"s3://{s3_env.make_bucket()}/mixture"
    config = DEMO / "s2-256.yaml"
    local = tmp_path / "local"
    name = build_stage(config, local, echo=lambda *_: None).stage
    build_stage(config, url, echo=lambda *_: None, engine=make_ray_engine())
    fs, root = fsspec.core.url_to_fs(url)
    fs.invalidate_cache()
    shards = sorted(p.name for p in (local / name).glob("train-*.parquet"))
    assert shards and sorted(Path(k).name for k in fs.glob(f"{root}/{name}/train-*.parquet")) == shards
    for shard in shards:
        assert fs.cat_file(f"{root}/{name}/{shard}") == (local / name / shard).read_bytes(), shard
    stored = json.loads(fs.cat_file(f"{root}/{name}/build_report.json"))
    assert stored["entries"] == report(local, name)["entries"]
