"""examples/train_loop.py runs on the demo mixture and resumes its data exactly."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "train_loop.py"

pytest.importorskip("torchdata.stateful_dataloader")


def run(*args: str) -> list[str]:
    result = subprocess.run(
        [sys.executable, *map(str, args)], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Too many dataloader workers" not in result.stderr  # the demo stages have a shard per worker
    return result.stdout.splitlines()


def steps(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("step ")]


def test_train_loop_runs_and_resumes_on_the_demo_mixture(tmp_path):
    mixture = tmp_path / "mixture"
    run("-m", "hf_mixture.cli.main", "build", "configs/demo/s2-256.yaml", "--out", mixture)
    checkpoint = tmp_path / "ckpt.pt"

    uninterrupted = steps(run(EXAMPLE, mixture, "--steps", "9"))
    first = steps(run(EXAMPLE, mixture, "--steps", "4", "--checkpoint", checkpoint))
    resumed = steps(run(EXAMPLE, mixture, "--steps", "9", "--checkpoint", checkpoint, "--resume"))

    assert len(uninterrupted) == 9
    assert [line.split()[1] for line in resumed] == ["5", "6", "7", "8", "9"]
    assert first + resumed == uninterrupted  # same batches, same losses
    assert "epoch 1" in uninterrupted[-1]  # 28 rows / 4 per batch: the run crosses an epoch
