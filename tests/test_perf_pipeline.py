"""The columnar entry pipeline: same rows whatever the batch sizes, Arrow-side drop counting,
the metadata-only mode, and the image stage in bounded chunks."""

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from factories import write_image

import hf_mixture.pipeline as pipeline_module
from hf_mixture.config.model import EntryConfig, StageSettings
from hf_mixture.config.sampling_strategy import parse_sampling_strategy
from hf_mixture.media.fetch import ImageFetcher
from hf_mixture.pipeline import EntryPipeline, entry_filters, entry_selection
from hf_mixture.sampling import entry_seed, plan_selection
from hf_mixture.schema import REFERENCE_SCHEMA
from hf_mixture.sources.tables import TableReader
from hf_mixture.stats import EntryStats
from hf_mixture.storage import Storage

T2I = "preproces_text_to_image_generation_s3"


def source_table(n: int) -> pa.Table:
    rng = np.random.default_rng(3)
    captions = [f"caption {i}" if i % 17 else "  " for i in range(n)]
    scores = rng.normal(5.2, 0.8, n)
    scores[::23] = np.nan
    return pa.table(
        {
            "s3_path": [f"img/{i % 5}.jpg" for i in range(n)],
            "caption": captions,
            "fltLaionAesthScore": scores,
            "intHeight": rng.integers(100, 900, n).astype(np.int32),
            "intWidth": rng.integers(100, 900, n).astype(np.int32),
        }
    )


def run(tmp_path, table: pa.Table, strategy: str, batch_rows: int, *, embed_media=False, **entry_keys):
    entry = EntryConfig(
        index=0,
        name="e",
        key="e",
        json_path="x.parquet",
        files=("x.parquet",),
        sampling=parse_sampling_strategy(strategy),
        preprocess_fn=T2I,
        **entry_keys,
    )
    settings = StageSettings(name="s", seed=7, resolution=16, image_workers=2)

    def batches(columns=None):
        for start in range(0, len(table), batch_rows):
            chunk = table.slice(start, batch_rows)
            yield chunk.select(columns) if columns else chunk

    filters = entry_filters(entry, table.column_names)
    stats = EntryStats(
        index=0, name="e", key="e", length_group="default", preprocess_fn=T2I, sampling_strategy=strategy
    )
    selection = entry_selection(entry, settings, filters, batches, lambda: len(table))
    fetcher = ImageFetcher(Storage(base_dir=str(tmp_path)), str(tmp_path), [str(tmp_path)])
    pipeline = EntryPipeline(
        entry, settings, fetcher, filters, selection, stats, embed_media=embed_media, decode_processes=1
    )
    out = list(pipeline.run(batches()))
    return out, stats


def ids(tables) -> list[str]:
    return [i for t in tables for i in t["id"].to_pylist()]


@pytest.mark.parametrize("strategy", ["random:40", "dup:3", "end:10%", "first:25"])
def test_the_rows_kept_do_not_depend_on_the_batch_size(tmp_path, strategy):
    table = source_table(300)
    outputs = [ids(run(tmp_path, table, strategy, rows, min_size=200)[0]) for rows in (7, 64, 1000)]
    assert outputs[0] == outputs[1] == outputs[2]
    assert outputs[0]


def test_random_keeps_the_seeded_draw_over_the_filtered_rows(tmp_path):
    table = source_table(400)
    tables, stats = run(tmp_path, table, "random:30", 50, min_size=200)
    score = table["fltLaionAesthScore"]
    passing = pc.and_(
        pc.fill_null(pc.greater(score, 5.0), False),
        pc.and_(pc.greater_equal(table["intHeight"], 200), pc.greater_equal(table["intWidth"], 200)),
    )
    filtered = np.flatnonzero(passing.to_numpy(zero_copy_only=False))
    drawn = plan_selection(parse_sampling_strategy("random:30"), len(filtered), entry_seed(7, "e")).pick(
        0, len(filtered)
    )
    rows = filtered[drawn]
    blank = np.array([int(r) % 17 == 0 for r in rows])
    assert ids(tables) == [f"e/{r}" for r in rows[~blank]]
    assert stats.dropped["preprocess:missing_caption"] == int(blank.sum())


def test_every_row_is_counted_once(tmp_path):
    tables, stats = run(tmp_path, source_table(500), "dup:2", 33, min_size=300)
    written = sum(len(t) for t in tables)
    assert written == stats.rows
    assert stats.read + stats.dup_added - stats.rows - sum(stats.dropped.values()) == 0
    assert stats.dropped["filter:aes_cutoff"] > 0 and stats.dropped["filter:min_size"] > 0


def test_dup_repeats_each_row_consecutively_with_numbered_ids(tmp_path):
    tables, _ = run(tmp_path, source_table(40), "dup:3", 16)
    first = ids(tables)[:3]
    assert [i.rsplit("#", 1)[1] for i in first] == ["0", "1", "2"]
    assert len({i.rsplit("#", 1)[0] for i in first}) == 1


def test_without_the_image_stage_rows_keep_their_references(tmp_path):
    tables, _ = run(tmp_path, source_table(60), "all", 25)
    assert all(t.schema == REFERENCE_SCHEMA for t in tables)
    rows = [int(i.split("/")[1]) for i in ids(tables)]
    refs = [r for t in tables for r in t["image_gen"].to_pylist()]
    assert refs == [[f"img/{row % 5}.jpg"] for row in rows]


def test_the_image_stage_works_in_bounded_chunks(tmp_path, monkeypatch):
    for i in range(5):
        write_image(tmp_path / "img" / f"{i}.jpg", size=(40, 30))
    monkeypatch.setattr(pipeline_module, "MEDIA_CHUNK_ROWS", 4)
    table = source_table(30).set_column(2, "fltLaionAesthScore", pa.array([6.0] * 30))
    tables, stats = run(tmp_path, table, "dup:2", 30, embed_media=True)
    assert max(len(t) for t in tables) <= 4 * 2
    assert sum(len(t) for t in tables) == stats.rows == 2 * (30 - stats.dropped["preprocess:missing_caption"])
    cell = tables[0]["image_gen"][0].as_py()[0]
    first_row = int(ids(tables)[0].split("/")[1].split("#")[0])
    assert cell["path"] == f"{first_row % 5}.jpg" and cell["bytes"][:2] == b"\xff\xd8"


def test_parquet_sources_stream_without_buffering_the_whole_file(tmp_path):
    path = tmp_path / "big.parquet"
    noise = np.random.default_rng(0).integers(0, 2**63, size=(200_000, 4)).astype(str)
    text = pa.array(["".join(row) for row in noise])  # ~75 bytes a row that do not compress
    pq.write_table(pa.table({"text": text}), path, row_group_size=10_000)
    pool = pa.default_memory_pool()
    reader = TableReader(Storage(base_dir=tmp_path), [str(path)], batch_rows=10_000)
    before = pool.bytes_allocated()
    peak = 0
    for table in reader.iter_tables():
        peak = max(peak, pool.bytes_allocated() - before)
        del table
    file_bytes = path.stat().st_size
    assert peak < file_bytes / 2  # a few row groups at most, never the whole file


def test_template_rows_are_checked_only_where_the_caption_holds_an_image_token(tmp_path):
    """The t2i batch form's rows skip the invariant checks unless the caption holds an image
    token; the rows kept and the drop counts equal the row form's (which checks every row)."""
    table = source_table(120)
    captions = table["caption"].to_pylist()
    for i, token in [(1, "<image>"), (2, "<image_gen>"), (3, "<image_gen_enc>"), (4, "<imagery>")]:
        captions[i] = f"a {token} b"
    table = table.set_column(1, "caption", pa.array(captions))
    batch_tables, batch_stats = run(tmp_path, table, "all", 50, aes_cutoff=0)
    row_tables, row_stats = run(
        tmp_path, table, "all", 50, aes_cutoff=0, process_fn_kwargs={"random_caption_keys": ["caption"]}
    )
    assert ids(batch_tables) == ids(row_tables)
    assert batch_stats.dropped == row_stats.dropped
    assert batch_stats.dropped["invariant:image_token_count"] == 1
    assert batch_stats.dropped["invariant:image_gen_token_count"] == 1
    assert batch_stats.dropped["invariant:image_gen_enc_token_count"] == 1
    assert "e/4" in ids(batch_tables)  # `<imagery>` is no token
