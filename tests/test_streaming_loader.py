"""load_mixture on a real build of the demo stage: shards over ranks x workers, exact resume, epochs."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from hf_mixture.build import build_stage
from hf_mixture.streaming import (
    IdleWorkersWarning,
    ShardError,
    StageNotFoundError,
    TrainTransform,
    load_mixture,
)

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "configs" / "demo" / "s2-256.yaml"
STAGE = "s2-256"


@pytest.fixture(scope="module")
def mixture(tmp_path_factory) -> Path:
    """The demo stage s2-256 (3 sources, 28 rows) built into 4 shards."""
    out = tmp_path_factory.mktemp("mixture")
    build_stage(DEMO, out, overrides={"num_shards": 4}, echo=lambda *_: None)
    return out


def all_ids(folder: Path) -> list[str]:
    return [
        i
        for f in sorted((folder / STAGE).glob("train-*.parquet"))
        for i in pq.read_table(f)["id"].to_pylist()
    ]


def ids(stream) -> list[str]:
    return [row["id"] for row in stream]


def id_and_prompt(rows: list[dict]) -> list[tuple[str, str]]:
    return [(row["id"], row["conversations"][0]["value"]) for row in rows]


def stateful_loader(stream, batch_size=3):
    StatefulDataLoader = pytest.importorskip("torchdata.stateful_dataloader").StatefulDataLoader
    return StatefulDataLoader(stream, batch_size=batch_size, num_workers=2, collate_fn=id_and_prompt)


def test_ranks_times_workers_read_every_row_once(mixture):
    expected = all_ids(mixture)
    assert len(expected) == 28 and len(set(expected)) == 28
    seen = []
    for rank in range(2):
        stream = load_mixture(
            mixture, STAGE, rank=rank, world_size=2, num_workers=2, shuffle_buffer=4, decode=False
        )
        assert stream.num_shards == 2
        seen += [i for batch in stateful_loader(stream) for i, _ in batch]
    assert Counter(seen) == Counter(expected)


def test_resume_with_two_workers_reproduces_the_sequence(mixture):
    def fresh():
        stream = load_mixture(
            mixture, STAGE, num_workers=2, seed=7, shuffle_buffer=5, transform=TrainTransform(size=16)
        )
        return stateful_loader(stream)

    uninterrupted = list(fresh())
    loader = fresh()
    batches = iter(loader)
    head = [next(batches) for _ in range(3)]
    state = loader.state_dict()
    del batches, loader
    resumed = fresh()
    resumed.load_state_dict(state)
    assert head + list(resumed) == uninterrupted
    assert sorted(i for batch in uninterrupted for i, _ in batch) == sorted(all_ids(mixture))


def test_resume_in_process_mid_window_and_in_a_later_epoch(mixture):
    for epoch in (0, 1):
        stream = load_mixture(mixture, STAGE, seed=3, shuffle_buffer=6, epoch=epoch, decode=False)
        full = ids(stream)
        rows = iter(stream)
        head = [next(rows)["id"] for _ in range(9)]
        state = stream.state_dict()
        assert state["epoch"] == epoch and state["yielded"] == 3
        again = load_mixture(mixture, STAGE, seed=3, shuffle_buffer=6, decode=False)
        again.load_state_dict(state)
        assert head + ids(again) == full


def test_epochs_and_seeds_change_the_order_not_the_rows(mixture):
    stream = load_mixture(mixture, STAGE, seed=1, shuffle_buffer=8, decode=False)
    first = ids(stream)
    stream.set_epoch(1)
    second = ids(stream)
    other_seed = ids(load_mixture(mixture, STAGE, seed=2, shuffle_buffer=8, decode=False))
    assert first == ids(load_mixture(mixture, STAGE, seed=1, shuffle_buffer=8, decode=False))
    assert first != second and first != other_seed
    assert sorted(first) == sorted(second) == sorted(other_seed) == sorted(all_ids(mixture))


def test_too_few_shards_for_the_ranks_says_how_to_rebuild(mixture):
    with pytest.raises(ShardError, match=r"4 shard\(s\).*world_size=5.*--num-shards 5"):
        load_mixture(mixture, STAGE, rank=0, world_size=5)


def test_idle_workers_warn(mixture):
    with pytest.warns(IdleWorkersWarning, match="some workers will read nothing"):
        load_mixture(mixture, STAGE, num_workers=3, world_size=2)


def test_reshard_splits_one_file_by_row_group(mixture, tmp_path):
    single = tmp_path / "single"
    shutil.copytree(mixture, single)
    table = pq.read_table(sorted((single / STAGE).glob("train-*.parquet")))
    for f in (single / STAGE).glob("train-*.parquet"):
        f.unlink()
    pq.write_table(table, single / STAGE / "train-00000-of-00001.parquet", row_group_size=7)
    seen = []
    for rank in range(2):
        stream = load_mixture(single, STAGE, rank=rank, world_size=2, shuffle_buffer=1, decode=False)
        assert stream.num_shards == 2
        seen += ids(stream)
    assert Counter(seen) == Counter(all_ids(mixture))


def test_unknown_stage_names_the_folder(mixture):
    with pytest.raises(StageNotFoundError, match="s9-nope"):
        load_mixture(mixture, "s9-nope")


def test_foreign_state_is_refused(mixture):
    stream = load_mixture(mixture, STAGE, decode=False)
    with pytest.raises(ValueError, match="not a MixtureStream state"):
        stream.load_state_dict({"shard_idx": 0})


def test_decoded_rows_carry_pil_images(mixture):
    row = next(iter(load_mixture(mixture, STAGE, shuffle_buffer=1)))
    assert row["image_gen"][0].size[0] > 0


def test_works_without_torch(mixture):
    code = (
        "import sys\n"
        "class NoTorch:  # finds everything PathFinder finds, except torch: as if it were not installed\n"
        "    def __init__(self, finder): self.finder = finder\n"
        "    def __getattr__(self, name): return getattr(self.finder, name)\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('torch', 'torchdata'): return None\n"
        "        return self.finder.find_spec(name, path, target)\n"
        "sys.meta_path[:] = [\n"
        "    NoTorch(f) if getattr(f, '__name__', '') == 'PathFinder' else f for f in sys.meta_path\n"
        "]\n"
        "from hf_mixture.streaming import load_mixture\n"
        f"s = load_mixture({str(mixture)!r}, {STAGE!r}, decode=False)\n"
        "print(type(s).__name__, sum(1 for _ in s))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["MixtureStream", "28"]


def test_state_of_another_shuffle_is_refused(mixture):
    stream = load_mixture(mixture, STAGE, seed=1, shuffle_buffer=4, decode=False)
    next(iter(stream))
    other = load_mixture(mixture, STAGE, seed=1, shuffle_buffer=8, decode=False)
    with pytest.raises(ValueError, match="shuffle_buffer=4.*shuffle_buffer=8: resume with the same values"):
        other.load_state_dict(stream.state_dict())
