"""Interrupted builds: no partial shard under `train-*`, leftovers cleaned by the next build, and
a re-run gives exactly the bytes of an uninterrupted build."""

from __future__ import annotations

import hashlib
import io
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from factories import write_parquet, write_stage
from PIL import Image

from hf_mixture.export.hub_folder import remove_leftovers, staging_prefix

REPO = Path(__file__).parents[1]


def _noise_png(seed: int, size: int = 48) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def _stage(tmp_path: Path, refs: list[str], *, dup: int = 1, **stage) -> Path:
    source = write_parquet(
        tmp_path / "t.parquet", {"s3_path": refs, "caption": [f"c{i}" for i in range(len(refs))]}
    )
    entry = {
        "name": "t",
        "json_path": str(source),
        "preprocess_fn": "preproces_text_to_image_generation_s3",
        "sampling_strategy": f"dup:{dup}" if dup > 1 else "random:80%",
    }
    return write_stage(tmp_path / "s.yaml", [entry], stage={"name": "s", "seed": 7, **stage})


def _local_stage(tmp_path: Path, n: int = 10, dup: int = 1) -> Path:
    refs = []
    for i in range(n):
        (tmp_path / "img").mkdir(exist_ok=True)
        (tmp_path / "img" / f"{i}.png").write_bytes(_noise_png(i))
        refs.append(f"img/{i}.png")
    return _stage(tmp_path, refs, dup=dup)


def _start(config: Path, out: Path) -> subprocess.Popen:
    """The CLI build (`--fresh`: every entry built) as a subprocess in its own session (so the
    test can end every process it started), its output in files next to `out` (a killed build's
    helpers may hold pipes open)."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_DATASETS_DISABLE_PROGRESS_BARS": "1"}
    logs = out.parent / f"{out.name}-logs"
    logs.mkdir(exist_ok=True)
    with open(logs / "stdout", "w") as stdout, open(logs / "stderr", "w") as stderr:
        return subprocess.Popen(
            [sys.executable, "-m", "hf_mixture.cli.main", "build", str(config), "--out", str(out), "--fresh"],
            stdout=stdout,
            stderr=stderr,
            env=env,
            cwd=REPO,
            start_new_session=True,
        )


def _finish(process: subprocess.Popen, out: Path) -> str:
    """Wait for the build, end what is left of its session (the process group it leads), and
    return its stderr."""
    try:
        process.wait(timeout=120)
    finally:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return (out.parent / f"{out.name}-logs" / "stderr").read_text()


def _wait_for(condition, timeout: float = 60.0, step: float = 0.002) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return False


def _digests(out: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted((out / "s").glob("train-*"))}


def _assert_no_partial_shard(out: Path) -> None:
    for shard in (out / "s").glob("train-*"):
        pq.read_metadata(shard)  # a partial parquet file has no footer and fails here


def _build(config: Path, out: Path) -> None:
    process = _start(config, out)
    stderr = _finish(process, out)
    assert process.returncode == 0, stderr


def test_sigint_while_fetching_stops_cleanly(tmp_path, http_server):
    refs = [http_server.write(f"{i}.png", _noise_png(i)) for i in range(6)]
    refs = [http_server.url_for(f"slow/0.5/{i}.png") for i in range(6)]
    config = _stage(tmp_path, refs, image_workers=1)
    process = _start(config, tmp_path / "out")
    assert _wait_for(lambda: any(r.startswith("/slow/") for r in http_server.requests))
    process.send_signal(signal.SIGINT)
    stderr = _finish(process, tmp_path / "out")
    assert process.returncode == 130
    assert "interrupted: no partial shard" in stderr and "Traceback" not in stderr
    assert not list((tmp_path / "out").rglob("train-*"))
    assert not list((tmp_path / "out").glob(".s-tmp*"))


def test_sigterm_unwinds_like_sigint(tmp_path, http_server):
    refs = [http_server.write(f"{i}.png", _noise_png(i)) for i in range(4)]
    refs = [http_server.url_for(f"slow/0.5/{i}.png") for i in range(4)]
    process = _start(_stage(tmp_path, refs, image_workers=1), tmp_path / "out")
    assert _wait_for(lambda: any(r.startswith("/slow/") for r in http_server.requests))
    process.terminate()
    stderr = _finish(process, tmp_path / "out")
    assert process.returncode == 130 and "Traceback" not in stderr


def test_fresh_builds_match_and_a_sigkill_mid_write_leaves_no_partial_shard(tmp_path):
    config = _local_stage(tmp_path, n=10, dup=120)
    _build(config, tmp_path / "fresh")
    expected = _digests(tmp_path / "fresh")
    out = tmp_path / "out"
    _build(config, out)  # a second fresh build: the same bytes; the killed build must not damage it
    assert expected and _digests(out) == expected
    for name in ("build_report.json", "stage.yaml"):
        assert (out / "s" / name).read_bytes() == (tmp_path / "fresh" / "s" / name).read_bytes()
    process = _start(config, out)
    staged = _wait_for(lambda: any(out.glob(".s-tmp*")))
    process.kill()
    _finish(process, out)
    if not staged:
        pytest.fail("the build finished before its staging folder was seen; make the stage bigger")
    _assert_no_partial_shard(out)
    assert _digests(out) == expected  # the earlier build's shards are intact
    assert list(out.glob(".s-tmp*")), "a killed build leaves its staging folder"
    _build(config, out)
    assert not list(out.glob(".s-tmp*"))
    assert _digests(out) == expected


def test_leftovers_of_dead_builds_are_removed_but_a_live_one_is_kept(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f"{staging_prefix('s', dead.pid)}abc"
    stale.mkdir()
    (stale / "train-00000-of-00001.parquet").write_bytes(b"PAR1 partial")
    live = tmp_path / f"{staging_prefix('s', os.getppid())}def"
    live.mkdir()
    other_stage = tmp_path / f"{staging_prefix('s-256', dead.pid)}ghi"
    other_stage.mkdir()
    assert remove_leftovers(tmp_path, "s") == [stale]
    assert live.exists() and other_stage.exists()


def test_decode_workers_end_when_the_build_process_is_killed():
    code = textwrap.dedent("""
        import os, time
        from hf_mixture.media.embed import decode_pool
        pool = decode_pool(2)
        print(" ".join(str(f.result()) for f in [pool.submit(os.getpid) for _ in range(4)]), flush=True)
        time.sleep(60)
    """)
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    workers = {int(pid) for pid in parent.stdout.readline().split()}
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_running(pid) for pid in workers):
        time.sleep(0.1)
    assert workers and not [pid for pid in workers if _running(pid)]


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except FileNotFoundError:
        return False
