"""stream_stage: a stage streamed from its sources, the YAML's weights applied at read time."""

from __future__ import annotations

from collections import Counter
from itertools import islice
from pathlib import Path

import datasets
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from hf_mixture.build import build_stage
from hf_mixture.streaming import EntrySizeError, stream_stage
from hf_mixture.streaming.stream import new_stream

ENTRY = """
  - name: {name}
    json_path: {name}.parquet
    sampling_strategy: {sampling}
    preprocess_fn: preproces_text_to_image_generation_s3
    length_group: g{name}
"""


def write_stage(folder: Path, weights: dict[str, int], sampling: str = "all") -> Path:
    """Two t2i sources `a` (12 rows) and `b` (12 rows) over two 8 px images, grouped `ga`/`gb`."""
    (folder / "img").mkdir(parents=True, exist_ok=True)
    for i, colour in enumerate([(255, 0, 0), (0, 0, 255)]):
        Image.new("RGB", (8, 8), colour).save(folder / "img" / f"{i}.png")
    for name in ("a", "b"):
        rows = {
            "s3_path": [f"img/{i % 2}.png" for i in range(12)],
            "caption": [f"{name} {i}." for i in range(12)],
            "fltLaionAesthScore": [6.0] * 12,
        }
        pq.write_table(pa.table(rows), folder / f"{name}.parquet")
    text = (
        "stage:\n  name: rw\n  seed: 5\ndatasets:"
        + "".join(ENTRY.format(name=n, sampling=sampling) for n in ("a", "b"))
        + "weights:\n"
        + "".join(f"  g{k}: {v}\n" for k, v in weights.items())
    )
    path = folder / "rw.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def source_counts(yaml: Path, rows: int = 400, **kwargs) -> Counter:
    stream = stream_stage(yaml, infinite=True, shuffle_buffer=1, decode=False, **kwargs)
    return Counter(row["source"] for row in islice(stream, rows))


def test_editing_a_weight_changes_the_realised_shares(tmp_path):
    yaml = write_stage(tmp_path, {"a": 100, "b": 100})
    even = source_counts(yaml)
    yaml = write_stage(tmp_path, {"a": 300, "b": 100})  # the user edits the YAML, no rebuild
    skewed = source_counts(yaml)
    assert 160 <= even["a"] <= 240 and even["a"] + even["b"] == 400
    assert 260 <= skewed["a"] <= 340 and skewed["a"] + skewed["b"] == 400


def test_probabilities_and_counted_sizes_are_reported(tmp_path):
    stream = stream_stage(write_stage(tmp_path, {"a": 300, "b": 100}), decode=False)
    assert stream.entry_sizes == {"a": 12, "b": 12}
    assert stream.entry_probabilities == pytest.approx({"a": 0.75, "b": 0.25})


def test_weights_argument_overrides_the_yaml(tmp_path):
    counts = source_counts(write_stage(tmp_path, {"a": 100, "b": 100}), weights={"ga": 100, "gb": 0})
    assert counts == Counter({"a": 400})


def test_finite_stream_without_replacement_reads_every_row_once(tmp_path):
    yaml = write_stage(tmp_path, {"a": 300, "b": 100})
    stream = stream_stage(yaml, stopping_strategy="all_exhausted_without_replacement", decode=False)
    ids = [row["id"] for row in stream]
    assert sorted(ids) == sorted([f"a/{i}" for i in range(12)] + [f"b/{i}" for i in range(12)])


def test_sizes_from_a_previous_build_report(tmp_path):
    yaml = write_stage(tmp_path, {"a": 100, "b": 100}, sampling="first:5")
    build_stage(yaml, tmp_path / "out", echo=lambda *_: None)
    stream = stream_stage(yaml, entry_sizes=tmp_path / "out", decode=False)
    assert stream.entry_sizes == {"a": 5, "b": 5}


def test_stale_build_report_is_refused(tmp_path):
    yaml = write_stage(tmp_path, {"a": 100, "b": 100}, sampling="first:5")
    build_stage(yaml, tmp_path / "out", echo=lambda *_: None)
    yaml = write_stage(tmp_path, {"a": 100, "b": 100}, sampling="all")
    with pytest.raises(EntrySizeError, match=r"datasets\[0\] \(a\): sampling_strategy is 'all'.*'first:5'"):
        stream_stage(yaml, entry_sizes=tmp_path / "out")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ("    aes_cutoff: 7\n", r"datasets\[0\] \(a\): aes_cutoff is 7.0, the report.s build used None"),
        ("    columns: [s3_path, caption]\n", r"datasets\[0\] \(a\): columns is \['s3_path', 'caption'\]"),
    ],
)
def test_a_filter_or_column_change_since_the_build_is_refused(tmp_path, edit, message):
    yaml = write_stage(tmp_path, {"a": 100, "b": 100})
    build_stage(yaml, tmp_path / "out", echo=lambda *_: None)
    text = yaml.read_text()
    yaml.write_text(text.replace("    length_group: ga\n", "    length_group: ga\n" + edit, 1))
    with pytest.raises(EntrySizeError, match=message):
        stream_stage(yaml, entry_sizes=tmp_path / "out")


def test_a_json_path_change_since_the_build_is_refused(tmp_path):
    yaml = write_stage(tmp_path, {"a": 100, "b": 100})
    build_stage(yaml, tmp_path / "out", echo=lambda *_: None)
    (tmp_path / "b.parquet").rename(tmp_path / "b2.parquet")
    yaml.write_text(yaml.read_text().replace("b.parquet", "b2.parquet"))
    with pytest.raises(EntrySizeError, match=r"datasets\[1\] \(b\): json_path is 'b2.parquet'.*'b.parquet'"):
        stream_stage(yaml, entry_sizes=tmp_path / "out")


def test_missing_report_and_missing_sizes_say_what_to_do(tmp_path):
    yaml = write_stage(tmp_path, {"a": 100, "b": 100})
    with pytest.raises(EntrySizeError, match="no build report.*hf-mixture build"):
        stream_stage(yaml, entry_sizes=tmp_path / "nowhere")
    with pytest.raises(EntrySizeError, match=r"no count for \['b'\]"):
        stream_stage(yaml, entry_sizes={"a": 3})


def test_weighted_stream_resumes_exactly(tmp_path):
    yaml = write_stage(tmp_path, {"a": 300, "b": 100})

    def fresh():
        return stream_stage(
            yaml, infinite=True, entry_sizes={"a": 12, "b": 12}, shuffle_buffer=4, decode=False
        )

    full = [row["id"] for row in islice(fresh(), 40)]
    stream = fresh()
    rows = iter(stream)
    head = [next(rows)["id"] for _ in range(15)]
    state = stream.state_dict()
    resumed = fresh()
    resumed.load_state_dict(state)
    assert head + [row["id"] for row in islice(resumed, 25)] == full


def test_weighted_stream_in_dataloader_workers(tmp_path):
    DataLoader = pytest.importorskip("torch.utils.data").DataLoader
    yaml = write_stage(tmp_path, {"a": 300, "b": 100})
    stream = stream_stage(yaml, stopping_strategy="all_exhausted_without_replacement", decode=False)
    loader = DataLoader(stream, batch_size=5, num_workers=2, collate_fn=lambda rows: [r["id"] for r in rows])
    ids = [i for batch in loader for i in batch]  # one shard: the second worker reads nothing
    assert sorted(ids) == sorted([f"a/{i}" for i in range(12)] + [f"b/{i}" for i in range(12)])


def row_ids(rows: list[dict]) -> list[str]:
    return [row["id"] for row in rows]


@pytest.mark.parametrize("workers", [0, 2])
def test_a_state_saved_at_an_epoch_end_starts_the_next_epoch(workers):
    """stream_stage's MixtureStream over a two-shard stream, read by a StatefulDataLoader."""
    StatefulDataLoader = pytest.importorskip("torchdata.stateful_dataloader").StatefulDataLoader
    rows = datasets.Dataset.from_dict({"id": [f"r{i}" for i in range(20)]}).to_iterable_dataset(num_shards=2)

    def fresh():
        stream = new_stream(rows, shuffle_buffer=4, decode=False)
        return stream, StatefulDataLoader(
            stream, batch_size=3, collate_fn=lambda batch: [r["id"] for r in batch]
        )

    stream, loader = fresh()
    epoch_0 = list(loader)
    checkpoint = {"epoch": 1, "data": loader.state_dict()}  # after the loop ended: the epoch to run next
    stream.set_epoch(1)
    epoch_1 = list(loader)
    stream, loader = fresh()
    stream.set_epoch(checkpoint["epoch"])
    loader.load_state_dict(checkpoint["data"])
    assert list(loader) == epoch_1 and epoch_1 != epoch_0
