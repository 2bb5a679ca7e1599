"""Real processes at real writes: a build killed (SIGKILL) at any write of a shared file leaves
every stage the folder held loadable, and two builds into one folder forced to interleave their
README updates both end up declared."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from datasets import load_dataset
from factories import cli_env, small_t2i_stage
from huggingface_hub import DatasetCard

from hf_mixture.build import build_stage
from hf_mixture.export.out_folder import KILL_AT_ENV, LOCK_NAME, PAUSE_ENV


def _start(config: Path, out: Path, env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "hf_mixture.cli.main", "build", str(config), "--out", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(**env),
        start_new_session=True,
    )


def _finish(process: subprocess.Popen) -> str:
    try:
        _, stderr = process.communicate(timeout=180)
    finally:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return stderr


def _rows(out: Path, stage: str) -> int:
    """Rows of `stage` as `load_dataset` (non-streaming, so sizes are verified) reads them, with a
    fresh cache (the cache of a folder of the same name would otherwise answer)."""
    cache = tempfile.mkdtemp(dir=out.parent, prefix="cache-")
    return len(load_dataset(str(out), stage, split="train", cache_dir=cache))


@pytest.fixture(scope="module")
def two_stages(tmp_path_factory) -> tuple[Path, Path]:
    """A folder holding stages a (3 rows) and b (4 rows), and the work folder of their YAML."""
    work = tmp_path_factory.mktemp("faults")
    out = work / "out"
    build_stage(small_t2i_stage(work, "a", 3), out, echo=lambda *_: None)
    build_stage(small_t2i_stage(work, "b", 4), out, echo=lambda *_: None)
    return work, out


# The writes of a rebuild of b, in order: README (b's sizes withdrawn), shard renames, report,
# stage.yaml, README (rebuilt); then how many rows b has once its shards are the new ones or not.
WRITES = {"README.md": 4, "shard": 4, "build_report.json": 5, "stage.yaml": 5, "README.md#2": 5}


@pytest.mark.parametrize("write", list(WRITES))
def test_a_build_killed_at_a_shared_write_leaves_every_stage_loadable(two_stages, tmp_path, write):
    work, held = two_stages
    out = Path(shutil.copytree(held, tmp_path / "out"))
    rebuild = small_t2i_stage(tmp_path, "b", 5)  # a rebuild of b with other rows, killed mid-way
    process = _start(rebuild, out, {KILL_AT_ENV: write})
    stderr = _finish(process)
    assert process.returncode == -signal.SIGKILL, stderr
    assert _rows(out, "a") == 3
    assert _rows(out, "b") == WRITES[write]  # the old stage, or the new one once its shards are in place
    assert not [p for p in out.rglob("*") if p.is_file() and p.stat().st_size == 0 and p.name != LOCK_NAME]
    if write == "README.md#2":  # b's new sizes are not recorded yet: the next build records them
        build_stage(small_t2i_stage(tmp_path, "c", 2), out, echo=lambda *_: None)
        card = DatasetCard.load(out / "README.md")
        assert {c["config_name"] for c in card.data.configs} == {"a", "b", "c"}
        assert {i["config_name"]: i["splits"][0]["num_examples"] for i in card.data.dataset_info}["b"] == 5
        assert not list(out.glob("README.md.tmp-*")), "the killed write's temporary file is removed"


def test_two_builds_forced_to_interleave_their_readme_updates_both_stay_declared(tmp_path):
    out, barrier = tmp_path / "out", tmp_path / "barrier"
    barrier.mkdir()
    env = {PAUSE_ENV: str(barrier)}
    builds = [_start(small_t2i_stage(tmp_path, name, 2), out, env) for name in ("a", "b")]
    deadline = time.monotonic() + 180
    while not list(barrier.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(3)  # the other build reaches its README update too: without the lock it reads now
    paused_together = len(list(barrier.iterdir()))
    (barrier / "go").touch()
    errors = [_finish(process) for process in builds]
    assert [p.returncode for p in builds] == [0, 0], errors
    assert paused_together == 1  # the lock kept the second build out of its read-modify-write
    configs = {c["config_name"] for c in DatasetCard.load(out / "README.md").data.configs}
    assert configs == {"a", "b"}
    assert (_rows(out, "a"), _rows(out, "b")) == (2, 2)
