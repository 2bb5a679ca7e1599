"""load_mixture on built stages: equal rows per rank, a fresh global order per epoch, exact resume
inside an epoch and at its end, elastic resume at another world size, single-group batches.

Ranks are separate `StageStream`s (a rank never talks to another: what a rank reads depends only on
its rank, the world size, the seed and the epoch); DataLoader workers are real worker processes;
the elastic test saves in one process and resumes in another (tests/stream_job.py)."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

from hf_mixture.build import build_stage
from hf_mixture.streaming import (
    IdleWorkersWarning,
    ShardError,
    StageNotFoundError,
    StateMismatchError,
    TrainTransform,
    global_state,
    load_mixture,
)

StatefulDataLoader = pytest.importorskip("torchdata.stateful_dataloader").StatefulDataLoader

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "configs" / "demo" / "s2-256.yaml"
JOB = ROOT / "tests" / "stream_job.py"
STAGE = "s2-256"


@pytest.fixture(scope="module")
def mixture(tmp_path_factory) -> Path:
    """The demo stage s2-256 (3 sources, 28 rows) built into 4 shards."""
    out = tmp_path_factory.mktemp("mixture")
    build_stage(DEMO, out, overrides={"num_shards": 4}, echo=lambda *_: None)
    return out


def synthetic_stage(folder: Path, stage: str, files: list[list[int]], groups=("default",)) -> Path:
    """A stage of text-only rows `r<i>` in parquet files whose row groups have the given sizes;
    row i is in length group `groups[i % len(groups)]`."""
    (folder / stage).mkdir(parents=True, exist_ok=True)
    start = 0
    for index, row_groups in enumerate(files):
        path = folder / stage / f"train-{index:05d}-of-{len(files):05d}.parquet"
        schema = pa.schema([("id", pa.string()), ("length_group", pa.string())])
        with pq.ParquetWriter(path, schema) as writer:
            for size in row_groups:
                numbers = range(start, start + size)
                writer.write_table(
                    pa.table(
                        {
                            "id": [f"r{i}" for i in numbers],
                            "length_group": [groups[i % len(groups)] for i in numbers],
                        }
                    )
                )
                start += size
    (folder / "README.md").write_text(
        f"---\nconfigs:\n- config_name: {stage}\n  data_files:\n"
        f"  - split: train\n    path: {stage}/train-*\n---\n",
        encoding="utf-8",
    )
    return folder


def all_ids(folder: Path, stage: str = STAGE) -> list[str]:
    files = sorted((folder / stage).glob("train-*.parquet"))
    return [i for f in files for i in pq.read_table(f)["id"].to_pylist()]


def ids(rows: list[dict]) -> list[str]:
    return [row["id"] for row in rows]


def id_and_prompt(rows: list[dict]) -> list[tuple[str, str]]:
    return [(row["id"], row["conversations"][0]["value"]) for row in rows]


def loader_for(stream, workers: int, batch_size: int):
    return StatefulDataLoader(stream, batch_size=batch_size, num_workers=workers, collate_fn=ids)


def read_ranks(folder, stage, world_size, workers, batch_size, **kwargs) -> list[list[str]]:
    """Every rank's ids of one epoch, read through a DataLoader with `workers` worker processes."""
    per_rank = []
    for rank in range(world_size):
        stream = load_mixture(
            folder,
            stage,
            rank=rank,
            world_size=world_size,
            num_workers=workers,
            batch_size=batch_size,
            decode=False,
            **kwargs,
        )
        batches = list(loader_for(stream, workers, batch_size))
        assert len(batches) == -(-len(stream) // batch_size)  # len(): steps per epoch
        per_rank.append([i for batch in batches for i in batch])
    return per_rank


# ---- balance -------------------------------------------------------------------------------------


@pytest.mark.parametrize("workers", [0, 2])
def test_ranks_times_workers_read_every_row_once(mixture, workers):
    per_rank = read_ranks(mixture, STAGE, 2, workers, 3, shuffle_buffer=4)
    assert [len(rows) for rows in per_rank] == [14, 14]
    assert Counter(sum(per_rank, [])) == Counter(all_ids(mixture))


@pytest.mark.parametrize(
    ("files", "per_rank"),
    [
        ([[10_000, 2_500], [10_000, 2_500]], 12_500),  # 25,000 rows, --num-shards 2: unequal row groups
        ([[10_000, 2_500]], 6_250),  # one file of 12,500 rows
    ],
)
def test_unequal_files_and_row_groups_give_every_rank_the_same_rows(tmp_path, files, per_rank):
    folder = synthetic_stage(tmp_path, "big", files)
    seen = read_ranks(folder, "big", 2, 2, 256)
    assert [len(rows) for rows in seen] == [per_rank, per_rank]
    assert Counter(sum(seen, [])) == Counter(all_ids(folder, "big"))


def test_a_three_shard_stage_over_two_ranks_is_balanced_without_a_warning(tmp_path):
    folder = synthetic_stage(tmp_path, "three", [[400], [400], [200]])
    with warnings.catch_warnings():
        warnings.simplefilter("error", IdleWorkersWarning)
        seen = read_ranks(folder, "three", 2, 2, 10)
    assert [len(rows) for rows in seen] == [500, 500]


@pytest.mark.parametrize(("remainder", "per_rank"), [("repeat", 10), ("drop", 9)])
def test_the_remainder_is_repeated_or_dropped_so_ranks_stay_equal(mixture, remainder, per_rank):
    seen = read_ranks(mixture, STAGE, 3, 0, 4, remainder=remainder, shuffle_buffer=4)
    assert [len(rows) for rows in seen] == [per_rank] * 3
    counts = Counter(sum(seen, []))
    assert set(counts) <= set(all_ids(mixture))
    if remainder == "repeat":  # 28 rows over 3 ranks: 30 positions, the first 2 of the order again
        assert len(counts) == 28 and sorted(counts.values())[-2:] == [2, 2]
    else:
        assert len(counts) == 27 and set(counts.values()) == {1}


def test_more_ranks_than_rows_is_an_error(mixture):
    with pytest.raises(ShardError, match=r"28 row\(s\) for world_size=29"):
        load_mixture(mixture, STAGE, rank=0, world_size=29)


def test_workers_left_without_a_batch_warn(mixture):
    with pytest.warns(IdleWorkersWarning, match="2 worker\\(s\\) will read nothing"):
        load_mixture(mixture, STAGE, num_workers=4, batch_size=8, world_size=2)


@pytest.mark.parametrize(
    ("rows", "idle"),
    [(6, False), (5, False), (4, True)],  # per rank 3 (batches 2+1), 2 (5 // 2: one batch), 2
)
def test_idle_workers_warn_only_when_a_worker_gets_no_batch(tmp_path, rows, idle):
    folder = synthetic_stage(tmp_path, "small", [[rows]])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_mixture(folder, "small", num_workers=2, batch_size=2, world_size=2)
    warned = [w for w in caught if issubclass(w.category, IdleWorkersWarning)]
    assert bool(warned) == idle, [str(w.message) for w in warned]


def test_two_workers_need_the_batch_size(mixture):
    with pytest.raises(ValueError, match="needs batch_size"):
        load_mixture(mixture, STAGE, num_workers=2)


# ---- global order -------------------------------------------------------------------------------


def test_every_epoch_is_a_fresh_order_over_the_whole_stage(tmp_path):
    folder = synthetic_stage(tmp_path, "big", [[500] * 10, [500] * 10, [500] * 5])
    stream = load_mixture(folder, "big", shuffle_buffer=1000, decode=False)
    epochs = []
    for epoch in range(3):
        stream.set_epoch(epoch)
        order = ids(list(stream))
        assert sorted(order) == sorted(all_ids(folder, "big"))
        epochs.append([frozenset(order[i : i + 1000]) for i in range(0, len(order), 1000)])
    for window in range(len(epochs[0])):
        assert len({epochs[e][window] for e in range(3)}) == 3, window
    mixed = [len({int(i[1:]) // 5000 for i in window}) > 1 for window in epochs[0]]
    assert sum(mixed) > len(mixed) // 2  # windows draw row groups from different files


def test_the_order_does_not_depend_on_ranks_or_workers(mixture):
    one = read_ranks(mixture, STAGE, 1, 0, 1, shuffle_buffer=4)[0]
    two = read_ranks(mixture, STAGE, 2, 2, 3, shuffle_buffer=4)
    assert two[0] == one[0::2] and two[1] == one[1::2]


def test_seeds_change_the_order_not_the_rows(mixture):
    a = ids(load_mixture(mixture, STAGE, seed=1, shuffle_buffer=8, decode=False))
    b = ids(load_mixture(mixture, STAGE, seed=2, shuffle_buffer=8, decode=False))
    assert a != b and sorted(a) == sorted(b) == sorted(all_ids(mixture))
    assert a == ids(load_mixture(mixture, STAGE, seed=1, shuffle_buffer=8, decode=False))


# ---- exact resume -------------------------------------------------------------------------------


def run_epochs(mixture, workers, epochs, *, start=None, stop_after=None, save_at_epoch_end=None):
    """Batches of epochs [first, epochs) through a fresh stream + StatefulDataLoader (checkpoint
    pattern of docs/streaming.md); returns (batches, checkpoint saved through a file or None)."""
    stream = load_mixture(
        mixture, STAGE, num_workers=workers, batch_size=3, seed=7, shuffle_buffer=5,
        transform=TrainTransform(size=16),
    )  # fmt: skip
    loader = StatefulDataLoader(stream, batch_size=3, num_workers=workers, collate_fn=id_and_prompt)
    first = 0
    if start is not None:
        checkpoint = torch.load(start, weights_only=False)
        first = checkpoint["epoch"]
        stream.set_epoch(first)
        loader.load_state_dict(checkpoint["data"])
    batches, checkpoint = [], None
    for epoch in range(first, epochs):
        stream.set_epoch(epoch)
        for step, batch in enumerate(loader, 1):
            batches.append(batch)
            if (epoch, step) == stop_after:  # inside the loop
                checkpoint = {"epoch": epoch, "data": loader.state_dict()}
                break
        else:
            if epoch == save_at_epoch_end:  # after the loop ended: the next epoch is the one to run
                checkpoint = {"epoch": epoch + 1, "data": loader.state_dict()}
                break
        if checkpoint is not None:
            break
    return batches, checkpoint


@pytest.mark.parametrize("workers", [0, 1, 2])
@pytest.mark.parametrize("where", ["inside", "epoch end"])
def test_resume_is_exact_inside_an_epoch_and_at_its_end(mixture, tmp_path, workers, where):
    uninterrupted, _ = run_epochs(mixture, workers, 2)
    place = {"inside": {"stop_after": (1, 4)}, "epoch end": {"save_at_epoch_end": 0}}[where]
    head, checkpoint = run_epochs(mixture, workers, 2, **place)
    torch.save(checkpoint, tmp_path / "ckpt.pt")
    tail, _ = run_epochs(mixture, workers, 2, start=tmp_path / "ckpt.pt")
    assert head + tail == uninterrupted
    assert len(uninterrupted) == 2 * 10 and uninterrupted[:10] != uninterrupted[10:]


def test_a_state_of_another_order_is_refused(mixture):
    stream = load_mixture(mixture, STAGE, seed=1, shuffle_buffer=4, decode=False)
    next(iter(stream))
    other = load_mixture(mixture, STAGE, seed=1, shuffle_buffer=8, decode=False)
    with pytest.raises(StateMismatchError, match="shuffle_buffer=4 \\(now 8\\)"):
        other.load_state_dict(stream.state_dict())
    with pytest.raises(StateMismatchError, match="not a load_mixture stream state"):
        other.load_state_dict({"shard_idx": 0})


# ---- elastic resume -----------------------------------------------------------------------------


def run_job(mixture, world_size, workers, batch_size, *extra) -> list[dict]:
    """A job of `world_size` ranks in a new process (tests/stream_job.py), each with its workers."""
    result = subprocess.run(
        [sys.executable, str(JOB), str(mixture), STAGE, "--world-size", str(world_size),
         "--workers", str(workers), "--batch-size", str(batch_size), *map(str, extra)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def test_a_state_saved_at_one_world_size_resumes_at_another(mixture, tmp_path):
    state = tmp_path / "state.pt"
    before = run_job(mixture, 2, 2, 3, "--steps", 2, "--save", state)  # 2 ranks x 2 workers: 12 rows
    after = run_job(mixture, 4, 1, 2, "--resume", state)  # 4 ranks x 1 worker: the other 16
    seen = [i for job in (before, after) for rank in job for i in rank["ids"]]
    assert sum(len(rank["ids"]) for rank in before) == 12
    assert Counter(seen) == Counter(all_ids(mixture))


def test_a_worker_state_at_another_world_size_is_refused(mixture):
    stream = load_mixture(mixture, STAGE, world_size=2, decode=False)
    rows = iter(stream)
    next(rows)
    other = load_mixture(mixture, STAGE, world_size=4, decode=False)
    other.load_state_dict(stream.state_dict())
    with pytest.raises(StateMismatchError, match=r"world_size=2 \(now 4\).*global_state"):
        next(iter(other))
    other.load_state_dict(global_state(stream.state_dict()))
    assert len(list(other)) == 6  # positions 2..27 of 28, rank 0 of 4: 4, 8, ..., 24 -> 6 rows


# ---- single-group batches -----------------------------------------------------------------------


def group_batches(folder, world_size, workers, epoch=0, state=None):
    """Per rank, the batches (lists of ids) of one epoch in group mode; and the last loader state."""
    per_rank, states = [], []
    for rank in range(world_size):
        stream = load_mixture(
            folder, "g", rank=rank, world_size=world_size, num_workers=workers, batch_size=4,
            group_batches={"b": 0.5}, shuffle_buffer=20, decode=False, epoch=epoch,
        )  # fmt: skip
        loader = StatefulDataLoader(stream, batch_size=None, num_workers=workers, collate_fn=ids)
        if state is not None:
            loader.load_state_dict(state[rank])
        batches = []
        for batch in loader:
            batches.append(batch)
            if state is None and len(batches) == 5:
                states.append(loader.state_dict())
        assert state is not None or len(batches) == len(stream)
        per_rank.append(batches)
    return per_rank, states


def test_group_batches_hold_one_group_the_same_on_every_rank(tmp_path):
    folder = synthetic_stage(tmp_path, "g", [[40, 40], [40]], groups=("a", "b", "c"))
    group = {i: ("a", "b", "c")[int(i[1:]) % 3] for i in all_ids(folder, "g")}
    per_rank, _ = group_batches(folder, 2, 2)
    steps = list(zip(*per_rank))
    for step in steps:
        groups = {group[i] for batch in step for i in batch}
        assert len(groups) == 1
        assert [len(batch) for batch in step] == [2 if groups == {"b"} else 4] * 2
    assert {group[step[0][0]] for step in steps} == {"a", "b", "c"}
    seen = Counter(i for step in steps for batch in step for i in batch)
    assert set(seen) == set(group)  # every row, a few repeated to fill the last step of a group
    assert len({tuple(map(tuple, s)) for s in steps}) == len(steps)


def test_group_batches_resume_exactly_and_change_with_the_epoch(tmp_path):
    folder = synthetic_stage(tmp_path, "g", [[40, 40], [40]], groups=("a", "b", "c"))
    full, states = group_batches(folder, 2, 2)
    resumed, _ = group_batches(folder, 2, 2, state=states)
    assert [batches[5:] for batches in full] == resumed
    assert group_batches(folder, 2, 2, epoch=1)[0] != full


# ---- the rest -----------------------------------------------------------------------------------


def test_unknown_stage_names_the_folder(mixture):
    with pytest.raises(StageNotFoundError, match="s9-nope"):
        load_mixture(mixture, "s9-nope")


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
    assert result.stdout.split() == ["StageStream", "28"]


def test_group_batches_take_the_factors_from_the_build_report(tmp_path):
    folder = synthetic_stage(tmp_path, "g", [[30]], groups=("a", "b"))
    (folder / "g" / "build_report.json").write_text(json.dumps({"batch_sizes": {"b": 0.5}}))
    stream = load_mixture(folder, "g", batch_size=4, group_batches=True, decode=False)
    assert dict(zip(stream.groups.names, stream.groups.rows_per_step)) == {"a": 4, "b": 2}
    assert stream.groups.step_probability == pytest.approx((1 / 3, 2 / 3))  # 15/4 vs 15/2 steps
    (folder / "g" / "build_report.json").unlink()
    with pytest.raises(ValueError, match="no build_report.json"):
        load_mixture(folder, "g", batch_size=4, group_batches=True)


def test_persistent_workers_follow_set_epoch(mixture):
    def epochs(persistent: bool) -> list[list[str]]:
        stream = load_mixture(mixture, STAGE, num_workers=2, batch_size=3, shuffle_buffer=4, decode=False)
        loader = StatefulDataLoader(
            stream, batch_size=3, num_workers=2, collate_fn=ids, persistent_workers=persistent
        )
        orders = []
        for epoch in range(2):
            stream.set_epoch(epoch)
            orders.append([i for batch in loader for i in batch])
        return orders

    persistent = epochs(True)
    assert persistent == epochs(False) and persistent[0] != persistent[1]
