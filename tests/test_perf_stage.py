"""Writing and counting a mixed stage without row-at-a-time work: same rows, same settings, same counts."""

from __future__ import annotations

import mmap

import datasets
import pyarrow as pa
import pyarrow.parquet as pq

from hf_mixture.export.entry_files import release_mapped_pages
from hf_mixture.export.hub_folder import write_parquet
from hf_mixture.mixing.interleave import mix_entries, rows_per_entry


def _part(key: str, n: int) -> datasets.Dataset:
    return datasets.Dataset.from_dict({"id": [f"{key}/{i}" for i in range(n)], "x": list(range(n))})


def _mixed(parts, **kwargs):
    mixed, _ = mix_entries(
        parts,
        ["a", "b", "c"],
        ["g", "g", "g"],
        weights=None,
        seed=3,
        stopping_strategy="all_exhausted",
        **kwargs,
    )
    return mixed


def test_rows_per_entry_from_the_index_array_matches_reading_the_ids():
    parts = [_part("a", 7), _part("b", 0), _part("c", 19)]
    for kwargs in ({}, {"num_samples": 9}):
        mixed = _mixed(parts, **kwargs)
        assert rows_per_entry(mixed, parts, ["a", "b", "c"]) == rows_per_entry(mixed)


def test_rows_per_entry_of_a_single_entry_stage_needs_no_index_array():
    parts = [_part("a", 0), _part("b", 0), _part("c", 5)]
    mixed = _mixed(parts, num_samples=3)
    assert rows_per_entry(mixed, parts, ["a", "b", "c"]) == {"c": 3}


def test_a_shard_without_indices_is_written_with_the_bytes_of_to_parquet(tmp_path):
    dataset = _part("a", 50)
    dataset.to_parquet(str(tmp_path / "ref.parquet"), batch_size=7)
    write_parquet(dataset, tmp_path / "ours.parquet", 7)
    assert (tmp_path / "ours.parquet").read_bytes() == (tmp_path / "ref.parquet").read_bytes()


def test_an_interleaved_shard_keeps_the_rows_row_groups_and_writer_settings_of_to_parquet(tmp_path):
    mixed = _mixed([_part("a", 20), _part("b", 3), _part("c", 31)])
    mixed.to_parquet(str(tmp_path / "ref.parquet"), batch_size=7)
    write_parquet(mixed, tmp_path / "ours.parquet", 7)
    ref, ours = pq.ParquetFile(tmp_path / "ref.parquet"), pq.ParquetFile(tmp_path / "ours.parquet")
    assert ours.read().equals(ref.read())
    assert ours.schema_arrow.metadata == ref.schema_arrow.metadata  # `huggingface` features
    assert ours.metadata.metadata == ref.metadata.metadata  # content_defined_chunking
    assert [ours.metadata.row_group(i).num_rows for i in range(ours.num_row_groups)] == [
        ref.metadata.row_group(i).num_rows for i in range(ref.num_row_groups)
    ]
    group = ours.metadata.row_group(0)
    assert all(group.column(c).has_offset_index for c in range(group.num_columns))


def test_released_pages_of_a_mapped_file_still_read_the_same_bytes(tmp_path):
    path = tmp_path / "t.arrow"
    table = pa.table({"x": list(range(100_000))})
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    with pa.memory_map(str(path)) as source:
        mapped = pa.ipc.open_stream(source).read_all()
        assert mapped["x"][99_999].as_py() == 99_999
        assert release_mapped_pages([str(path)]) >= mmap.PAGESIZE
        assert mapped.equals(table)
