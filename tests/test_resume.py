"""Builds reuse the finished entries kept in --work-dir: after a kill, after re-weighting."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
from factories import t2i_entry, t2i_table, write_image, write_parquet, write_stage

from hf_mixture.build import build_stage

REPO = Path(__file__).resolve().parent.parent


def quiet_build(config, out, **options):
    return build_stage(config, out, echo=lambda *_: None, **options)


def shard_bytes(out: Path, stage: str) -> dict:
    return {p.name: p.read_bytes() for p in sorted((out / stage).glob("train-*.parquet"))}


def three_tables(tmp_path: Path) -> list[Path]:
    return [t2i_table(tmp_path, n, name=name) for n, name in ((4, "a"), (6, "b"), (9, "c"))]


def three_groups(tmp_path: Path, tables: list[Path], weights: dict, **stage) -> Path:
    entries = [t2i_entry(t, name=n, length_group=n, **stage.pop(n, {})) for t, n in zip(tables, "abc")]
    return write_stage(tmp_path / "s.yaml", entries, weights=weights, stage={"name": "s", **stage})


def test_changing_only_weights_and_mixing_settings_rebuilds_only_the_mix(tmp_path):
    tables, work = three_tables(tmp_path), tmp_path / "w"
    first = quiet_build(
        three_groups(tmp_path, tables, {"a": 100, "b": 100, "c": 100}), tmp_path / "o1", work_dir=work
    )
    assert first.reused == ()
    mixing = {"stopping_strategy": "all_exhausted", "num_samples": 20, "num_shards": 2}
    config = three_groups(tmp_path, tables, {"a": 500, "b": 100, "c": 50}, **mixing)
    again = quiet_build(config, tmp_path / "o2", work_dir=work)
    fresh = quiet_build(config, tmp_path / "o3", work_dir=work, fresh=True)
    assert again.reused == ("a", "b", "c") and fresh.reused == ()
    assert json.loads(again.report_path.read_text())["reused_entries"] == ["a", "b", "c"]
    assert shard_bytes(tmp_path / "o2", "s") == shard_bytes(tmp_path / "o3", "s")
    assert [e.to_dict() for e in again.entries] == [e.to_dict() for e in fresh.entries]
    assert again.written.num_examples == 20


def test_a_changed_source_file_or_entry_setting_is_built_again_and_the_others_reused(tmp_path):
    tables, work = three_tables(tmp_path), tmp_path / "w"
    quiet_build(three_groups(tmp_path, tables, {}), tmp_path / "o1", work_dir=work)
    t2i_table(tmp_path, 7, name="b")  # new content at the same path
    result = quiet_build(
        three_groups(tmp_path, tables, {}, c={"min_size": 10}), tmp_path / "o2", work_dir=work
    )
    assert result.reused == ("a",)
    assert [e.rows for e in result.entries] == [4, 7, 9]


def slow_stage(tmp_path: Path) -> Path:
    """Two small entries, then one of 1000 image rows (seconds to build)."""
    entries = [t2i_entry(t2i_table(tmp_path, 3, name=n), name=n) for n in ("a", "b")]
    image = str(write_image(tmp_path / "img" / "big.jpg", size=(600, 400)))
    rows = 1000
    slow = write_parquet(tmp_path / "slow.parquet", {"s3_path": [image] * rows, "caption": ["c"] * rows})
    entries.append(t2i_entry(slow, name="slow"))
    return write_stage(tmp_path / "s.yaml", entries, stage={"name": "s", "resolution": 64})


def cli_build(config: Path, out: Path, work: Path, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "-m", "hf_mixture.cli.main", "build", str(config), "--out", str(out)]
    return subprocess.Popen(
        [*command, "--work-dir", str(work), *extra],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_build_killed_mid_entry_reuses_every_finished_entry_when_run_again(tmp_path):
    config, work = slow_stage(tmp_path), tmp_path / "work"
    killed = cli_build(config, tmp_path / "out", work)
    for line in killed.stdout:
        if line.startswith("[3/3] slow"):
            break
    killed.send_signal(signal.SIGKILL)
    killed.wait(timeout=60)
    assert not (tmp_path / "out" / "s" / "build_report.json").exists()
    finished = sorted(p.name for p in (work / "entries").iterdir() if (p / "entry.json").exists())
    assert len(finished) == 2  # a, b; slow was being built (its .part folder is left behind)
    rerun = cli_build(config, tmp_path / "out", work)
    stdout, stderr = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, stderr
    report = json.loads((tmp_path / "out" / "s" / "build_report.json").read_text())
    assert report["reused_entries"] == ["a", "b"]
    assert "[3/3] slow" in stdout and "reused" not in stdout.split("[3/3] slow")[1].splitlines()[0]
    assert not [
        p for p in (work / "entries").iterdir() if ".part-" in p.name
    ]  # the dead build's part removed
    fresh = cli_build(config, tmp_path / "fresh", tmp_path / "work2")
    assert fresh.wait(timeout=300) == 0
    assert shard_bytes(tmp_path / "out", "s") == shard_bytes(tmp_path / "fresh", "s")
    assert pq.read_metadata(next((tmp_path / "out" / "s").glob("train-*"))).num_rows == 1006

