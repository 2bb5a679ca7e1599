"""Messy real-world source files (issue 11): every row lands or is counted by a reason that names
what happened; ids stay put whatever else is dropped; never an internal error."""

from __future__ import annotations

import codecs
import csv
import io
import json
import re

import pyarrow as pa
import pytest
from builder_helpers import entry as builder_entry
from builder_helpers import source_rows
from factories import (
    build_quietly,
    jpeg_bytes,
    source_entry,
    write_image,
    write_parquet,
    write_stage,
    write_tar,
    written_rows,
)

from hf_mixture.build import build_stage
from hf_mixture.cli.main import main
from hf_mixture.config.load import ConfigWarning, load_stage_config
from hf_mixture.errors import ConfigError, SourceError
from hf_mixture.mixing.interleave import EmptyEntryWarning
from hf_mixture.sources.tables import TableReader
from hf_mixture.storage import Storage

T2I = "preproces_text_to_image_generation_s3"
UND = "preproces_und_mammoth_si_10M"
BOM = codecs.BOM_UTF8


@pytest.fixture
def images(tmp_path):
    for i in range(4):
        write_image(tmp_path / "img" / f"{i}.jpg")
    return tmp_path


_entry, _build, _rows = source_entry, build_quietly, written_rows


def _dropped(result, index=0) -> dict:
    return {k: v for k, v in result.entries[index].dropped.items() if v}


def _t2i_records(n=3) -> list[dict]:
    return [{"s3_path": f"img/{i}.jpg", "caption": f"c{i}"} for i in range(n)]


def _csv_text(records: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(records[0]))
    writer.writeheader()
    writer.writerows(records)
    return out.getvalue()


def _write(path, fmt: str, records: list[dict], bom: bool = False):
    if fmt == "jsonl":
        text = "\n".join(json.dumps(r) for r in records)
    elif fmt == "json":
        text = json.dumps(records)
    else:
        text = _csv_text(records)
    path.write_bytes((BOM if bom else b"") + text.encode("utf-8"))
    return path


# ---------------------------------------------------------------------------- 1. byte-order mark


@pytest.mark.parametrize("fmt", ["jsonl", "json", "csv"])
def test_byte_order_mark_loses_no_record_in_any_text_format(images, fmt):
    path = _write(images / f"bom.{fmt}", fmt, _t2i_records(), bom=True)
    result = _build(images, _entry(path))
    assert sorted(r["id"] for r in _rows(result)) == ["e/0", "e/1", "e/2"]
    assert _dropped(result) == {}


@pytest.mark.parametrize("name", ["records.json", "records.jsonl"])
def test_byte_order_mark_loses_no_record_in_a_per_source_builder(tmp_path, name):
    records = [
        {"id": i, "image": f"{i}.jpg", "conversations": _turns("<image>\nWhat?", "A cat.")} for i in range(3)
    ]
    path = _write(tmp_path / name, name.rsplit(".", 1)[1], records, bom=True)
    rows, drops = source_rows(tmp_path, builder_entry(path, "mammoth", UND))
    assert [r["id"] for r in rows] == ["0", "1", "2"] and drops == {}


def test_byte_order_mark_before_an_object_keyed_grand_file_is_skipped(tmp_path):
    annotation = {"dense_caption": {"caption": "a cat", "details": []}}
    path = tmp_path / "ann.json"
    path.write_bytes(BOM + json.dumps({"sa_1.jpg": annotation}).encode())
    rows, _ = source_rows(tmp_path, builder_entry(path, "grand", "grandf_annotations"))
    assert [r["image"] for r in rows] == ["sa_1.jpg"]


# ------------------------------------------------------------------ 2. numbers as text, NaN spellings


def test_numeric_text_scores_compare_as_numbers(images):
    scores = [6.1, "6.5", "NaN", "4"]
    records = [{**r, "score": s} for r, s in zip(_t2i_records(4), scores)]
    path = _write(images / "s.jsonl", "jsonl", records)
    result = _build(images, _entry(path, score_column="score", aes_cutoff=5))
    assert sorted(r["id"] for r in _rows(result)) == ["e/0", "e/1"]
    assert _dropped(result) == {"filter:aes_cutoff": 2}


def test_score_that_is_not_a_number_is_dropped_naming_the_column(images):
    records = [{**r, "score": s} for r, s in zip(_t2i_records(3), [6.1, "high", [7]])]
    path = _write(images / "s.jsonl", "jsonl", records)
    result = _build(images, _entry(path, score_column="score", aes_cutoff=5))
    assert [r["id"] for r in _rows(result)] == ["e/0"]
    assert _dropped(result) == {"filter:score_not_numeric": 2}
    assert "filter:score_not_numeric" in result.report_text


def test_size_that_is_not_a_number_is_dropped_naming_the_column(images):
    records = [{**r, "intWidth": w, "intHeight": 600} for r, w in zip(_t2i_records(3), [1024, "1024", "big"])]
    path = _write(images / "s.json", "json", records)
    result = _build(images, _entry(path, min_size=512))
    assert sorted(r["id"] for r in _rows(result)) == ["e/0", "e/1"]
    assert _dropped(result) == {"filter:intWidth_not_numeric": 1}


def test_numeric_text_in_a_csv_score_column_compares_as_a_number(images):
    records = [{**r, "score": s} for r, s in zip(_t2i_records(3), ["6.1", "high", "4"])]
    path = _write(images / "s.csv", "csv", records)
    result = _build(images, _entry(path, score_column="score", aes_cutoff=5))
    assert [r["id"] for r in _rows(result)] == ["e/0"]
    assert _dropped(result) == {"filter:score_not_numeric": 1, "filter:aes_cutoff": 1}


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_bare_nan_reads_as_null_in_json_arrays_and_lines_alike(images, fmt):
    text = json.dumps([{**r, "score": 6.0 if i else float("nan")} for i, r in enumerate(_t2i_records())])
    path = images / f"nan.{fmt}"
    path.write_text(text if fmt == "json" else "\n".join(json.dumps(r) for r in json.loads(text)))
    assert "NaN" in path.read_text()
    result = _build(images, _entry(path, score_column="score", aes_cutoff=5))
    assert sorted(r["id"] for r in _rows(result)) == ["e/1", "e/2"]
    assert _dropped(result) == {"filter:aes_cutoff": 1}


def test_nan_inside_a_json_string_is_left_as_text(tmp_path):
    path = tmp_path / "a.json"
    path.write_text('[{"caption": "NaN and -Infinity", "score": NaN}, {"caption": "x", "score": Infinity}]')
    rows = [
        r
        for t in TableReader(Storage(base_dir=str(tmp_path)), [str(path)]).iter_tables()
        for r in t.to_pylist()
    ]
    assert [(r["caption"], r["score"]) for r in rows] == [("NaN and -Infinity", None), ("x", None)]


def test_optional_score_that_is_not_a_number_is_dropped_naming_the_column(images):
    records = [{**r, "hpsv2": h} for r, h in zip(_t2i_records(3), [0.3, "0.25", "n/a"])]
    path = _write(images / "s.jsonl", "jsonl", records)
    result = _build(images, _entry(path))
    assert sorted((r["id"], round(r["hpsv2"], 2)) for r in _rows(result)) == [("e/0", 0.3), ("e/1", 0.25)]
    assert _dropped(result) == {"preprocess:hpsv2_not_numeric": 1}


# ------------------------------------------------------------------------ 3. schema drift in a glob


def _parts(images, second: dict):
    (images / "parts").mkdir()
    write_parquet(
        images / "parts" / "0.parquet", {"s3_path": ["img/0.jpg"], "caption": ["a"], "score": [6.0]}
    )
    write_parquet(images / "parts" / "1.parquet", second)
    return images / "parts" / "*.parquet"


def test_check_names_the_later_file_that_lacks_a_column_the_function_reads(images):
    glob = _parts(images, {"s3_path": ["img/1.jpg"], "text": ["b"], "score": [6.0]})
    with pytest.raises(ConfigError, match=r"json_path: .*parts/1\.parquet lacks column\(s\) \['caption'\]"):
        load_stage_config(write_stage(images / "s.yaml", [_entry(glob, score_column="score")]))


@pytest.mark.parametrize("fmt", ["json", "jsonl", "csv"])
def test_check_names_the_later_text_file_that_lacks_a_column_the_function_reads(images, fmt):
    (images / "parts").mkdir()
    _write(images / "parts" / f"0.{fmt}", fmt, [{"s3_path": "img/0.jpg", "caption": "a"}])
    _write(images / "parts" / f"1.{fmt}", fmt, [{"s3_path": "img/1.jpg", "text": "b"}])
    with pytest.raises(ConfigError, match=rf"parts/1\.{fmt} lacks column\(s\) \['caption'\]"):
        load_stage_config(write_stage(images / "s.yaml", [_entry(images / "parts" / f"*.{fmt}")]))


def test_later_file_without_the_score_column_is_warned_and_its_rows_counted_as_filtered(images):
    glob = _parts(images, {"s3_path": ["img/1.jpg"], "caption": ["b"]})
    stage = write_stage(images / "s.yaml", [_entry(glob, score_column="score")], stage={"name": "s"})
    with pytest.warns(ConfigWarning, match=r"parts/1\.parquet lacks column\(s\) \['score'\]"):
        result = build_stage(stage, images / "out", echo=lambda *_: None)
    assert [r["id"] for r in _rows(result)] == ["e/0"]
    assert _dropped(result) == {"filter:aes_cutoff": 1}


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_later_text_file_with_other_score_types_builds(images, fmt):
    (images / "parts").mkdir()
    _write(images / "parts" / f"0.{fmt}", fmt, [{"s3_path": "img/0.jpg", "caption": "a", "score": 6.0}])
    _write(images / "parts" / f"1.{fmt}", fmt, [{"s3_path": "img/1.jpg", "caption": "b", "score": "7.5"}])
    result = _build(images, _entry(images / "parts" / f"*.{fmt}", score_column="score"))
    assert [r["id"] for r in _rows(result)] == ["e/0", "e/1"]


# -------------------------------------------------------------------- 4. CSV with quoted newlines


def test_csv_of_30000_rows_with_quoted_newlines_gives_every_row(tmp_path):
    records = [
        {"s3_path": f"img/{i}.jpg", "caption": f'line one {i}\nline two, "quoted"\n' * 3}
        for i in range(30_000)
    ]
    path = tmp_path / "big.csv"
    path.write_text(_csv_text(records), encoding="utf-8")
    assert path.stat().st_size > 3_500_000
    reader = TableReader(Storage(base_dir=str(tmp_path)), [str(path)])
    tables = list(reader.iter_tables(["caption"]))
    assert sum(len(t) for t in tables) == 30_000
    assert tables[-1]["caption"][-1].as_py() == records[-1]["caption"]


def test_reflect_dit_csv_with_quoted_newlines_gives_every_row(tmp_path):
    records = [
        {
            "prompt": f"a cat {i}\nsecond line " + "x" * 200,
            "positive_filename": f"p{i}.png",
            "negative_filename": f"n{i}.png",
            "negative_reason": "wrong\ncolour",
        }
        for i in range(6000)
    ]
    path = tmp_path / "object_self_correct_cleaned.csv"
    path.write_text(_csv_text(records), encoding="utf-8")
    assert path.stat().st_size > 1_200_000  # more than one of pyarrow's 1 MB blocks
    rows, drops = source_rows(tmp_path, builder_entry(path, "reflect_dit", T2I))
    assert len(rows) == 6000 and drops == {}


# ---------------------------------------------------------------- 7. per-row type surprises


def _turns(*values: str) -> list[dict]:
    return [{"from": "human" if i % 2 == 0 else "gpt", "value": v} for i, v in enumerate(values)]


def test_image_that_is_a_string_or_a_list_reaches_the_single_image_function(images):
    records = [
        {"id": "s", "image": "img/0.jpg", "conversations": _turns("<image>\nWhat?", "A cat.")},
        {"id": "one", "image": ["img/1.jpg"], "conversations": _turns("<image>\nWhat?", "A dog.")},
        {"id": "two", "image": ["img/1.jpg", "img/2.jpg"], "conversations": _turns("<image>\nWhat?", "?")},
        {"id": "num", "image": 7, "conversations": _turns("What?", "Seven.")},
    ]
    path = images / "llava.json"
    path.write_text(json.dumps(records))
    result = _build(images, _entry(path, UND))
    kept = _rows(result)
    assert sorted(r["id"] for r in kept) == ["e/0", "e/1"]
    assert _dropped(result) == {"preprocess:image_not_text": 1, "media:missing": 1}  # 7: the path "7"


def test_caption_that_is_a_list_or_an_object_is_dropped_naming_the_column(images):
    records = [
        {"s3_path": "img/0.jpg", "caption": ["only one"]},
        {"s3_path": "img/1.jpg", "caption": {"x": 1}},
        {"s3_path": "img/2.jpg", "caption": ["a", "b"]},
    ]
    path = _write(images / "c.jsonl", "jsonl", records)
    result = _build(images, _entry(path))
    assert [r["conversations"][0]["value"].split(": ", 1)[1][:8] for r in _rows(result)] == ["only one"]
    assert _dropped(result) == {"preprocess:caption_not_text": 2}


def _user_function(tmp_path, monkeypatch, module: str, human: str) -> str:
    """`module:fn`, a user preprocess function whose human turn is the expression `human`."""
    (tmp_path / f"{module}.py").write_text(
        "def fn(row, *, rng):\n"
        f"    return {{'task': 't2i', 'conversations': [{{'from': 'human', 'value': {human}}},"
        " {'from': 'gpt', 'value': '<image_gen>'}], 'image_gen': [row['s3_path']]}\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    return f"{module}:fn"


def test_row_function_that_raises_on_a_value_counts_the_row(images, monkeypatch, tmp_path):
    function = _user_function(tmp_path, monkeypatch, "user_fns", "'x' + row['caption']")
    records = [{"s3_path": "img/0.jpg", "caption": "ok"}, {"s3_path": "img/1.jpg", "caption": 5}]
    result = _build(images, _entry(_write(images / "u.jsonl", "jsonl", records), function))
    assert [r["id"] for r in _rows(result)] == ["e/0"]
    assert _dropped(result) == {"preprocess:failed_TypeError": 1}


def test_row_function_output_of_the_wrong_shape_counts_the_row(images, monkeypatch, tmp_path):
    function = _user_function(tmp_path, monkeypatch, "user_fns2", "'x'")
    records = [{"s3_path": "img/0.jpg"}, {"s3_path": ["img/1.jpg", "img/2.jpg"]}]
    result = _build(images, _entry(_write(images / "u.jsonl", "jsonl", records), function))
    assert [r["id"] for r in _rows(result)] == ["e/0"]
    assert _dropped(result) == {"preprocess:output_wrong_type": 1}


# ----------------------------------------------------------------- 8. drop reasons that tell the truth


def test_webdataset_image_member_with_dots_is_counted_as_unrecognised_extension(tmp_path):
    shard = write_tar(
        tmp_path / "0.tar",
        {
            "photo.v2.jpg": jpeg_bytes(),
            "shot.left.jpg": jpeg_bytes(),
            "shot.left.txt": b"a caption",
            "note.txt": b"no image at all",
            "ok.jpg": jpeg_bytes(),
        },
    )
    rows, drops = source_rows(tmp_path, builder_entry(shard, "webdataset", T2I))
    assert [r["__key__"] for r in rows] == ["ok"]
    assert drops == {"source:image_member_unrecognised_extension": 2, "source:no_image_member": 1}


def test_entry_whose_rows_all_lost_their_images_says_so_in_its_warning(images):
    gone = write_parquet(images / "gone.parquet", {"s3_path": ["img/missing.jpg"], "caption": ["c"]})
    full = _write(images / "ok.jsonl", "jsonl", _t2i_records(1))
    with pytest.warns(EmptyEntryWarning) as caught:
        _build(images, _entry(full, name="full"), _entry(gone, name="gone"))
    message = str(caught[0].message)
    assert "media:missing 1" in message and "after filters and sampling" not in message


# ------------------------------------------------------------------------ 12. row ids that do not move


def test_broken_json_line_moves_no_later_row_id(images):
    lines = [json.dumps(r) for r in _t2i_records(4)]
    lines[1] = '{"s3_path": "img/1.jpg", "caption": '
    path = images / "l.jsonl"
    path.write_text("\n".join(lines))
    result = _build(images, _entry(path))
    assert {
        r["id"]: re.search(r"caption: (\w+)", r["conversations"][0]["value"])[1] for r in _rows(result)
    } == {
        "e/0": "c0",
        "e/2": "c2",
        "e/3": "c3",
    }
    assert _dropped(result) == {"source:invalid_json_line": 1}


def test_non_object_item_moves_no_later_row_id_across_files(images):
    (images / "parts").mkdir()
    (images / "parts" / "0.json").write_text(json.dumps([_t2i_records(2)[0], 5, _t2i_records(2)[1]]))
    _write(images / "parts" / "1.jsonl", "jsonl", _t2i_records(3)[2:])
    result = _build(images, _entry(images / "parts" / "*"))
    assert sorted(r["id"] for r in _rows(result)) == ["e/0", "e/2", "e/3"]


def test_laion_safety_filter_moves_no_later_row_id(images):
    path = write_parquet(
        images / "laion.parquet",
        {
            "URL": [f"img/{i}.jpg" for i in range(4)],
            "TEXT": [f"c{i}" for i in range(4)],
            "punsafe": [0.1, 0.9, 0.1, 0.1],
            "pwatermark": [0.1, 0.1, 0.1, 0.1],
        },
    )
    config = write_stage(
        images / "s.yaml", [builder_entry(path, "laion", T2I, name="e")], stage={"name": "s"}
    )
    result = build_stage(config, images / "out", echo=lambda *_: None)
    assert sorted(r["id"] for r in _rows(result)) == ["e/0", "e/2", "e/3"]
    assert _dropped(result) == {"filter:punsafe": 1}


def test_webdataset_sample_without_image_moves_no_later_row_id(tmp_path):
    shard = write_tar(
        tmp_path / "0.tar",
        {"a.jpg": jpeg_bytes(), "a.txt": b"A", "b.txt": b"B", "c.jpg": jpeg_bytes(), "c.txt": b"C"},
    )
    config = write_stage(
        tmp_path / "s.yaml", [builder_entry(shard, "webdataset", T2I, name="e")], stage={"name": "s"}
    )
    result = build_stage(config, tmp_path / "out", echo=lambda *_: None)
    assert sorted(r["id"] for r in _rows(result)) == ["e/0", "e/2"]


def test_same_record_keeps_its_id_whether_an_earlier_record_is_dropped(images):
    clean = _write(images / "clean.jsonl", "jsonl", _t2i_records(3))
    broken = images / "broken.jsonl"
    broken.write_text(clean.read_text().replace('"caption": "c0"', '"caption": c0'))
    ids = []
    for path in (clean, broken):
        result = _build(images, _entry(path))
        ids.append({r["conversations"][0]["value"]: r["id"] for r in _rows(result)})
        (images / "out").rename(images / f"out-{path.stem}")
    assert {k: v for k, v in ids[0].items() if k in ids[1]} == ids[1]
    assert len(ids[1]) == 2


@pytest.mark.parametrize("fmt", ["jsonl", "json", "csv"])
def test_utf16_file_with_a_byte_order_mark_is_read(images, fmt):
    path = _write(images / f"u16.{fmt}", fmt, _t2i_records())
    path.write_bytes(codecs.BOM_UTF16_LE + path.read_text().encode("utf-16-le"))
    result = _build(images, _entry(path))
    assert sorted(r["id"] for r in _rows(result)) == ["e/0", "e/1", "e/2"]


def test_lone_surrogate_in_a_caption_is_replaced_not_fatal(images):
    path = images / "s.jsonl"
    path.write_text(
        '{"s3_path": "img/0.jpg", "caption": "smile \\ud83d"}\n{"s3_path": "img/1.jpg", "caption": "ok"}'
    )
    result = _build(images, _entry(path))
    assert sorted(r["conversations"][0]["value"].split(": ", 1)[1][:7] for r in _rows(result)) == [
        "ok [[mi",
        "smile \ufffd",
    ]


def test_json_array_with_an_integer_past_64_bits_is_read(images):
    records = [{**r, "hash": 2**70 if i == 0 else i} for i, r in enumerate(_t2i_records())]
    path = _write(images / "big.json", "json", records)
    result = _build(images, _entry(path))
    assert sorted(r["id"] for r in _rows(result)) == ["e/0", "e/1", "e/2"]


def test_byte_order_mark_in_shard_text_and_json_members_is_skipped(tmp_path):
    meta = BOM + json.dumps({"punsafe": 0.1, "pwatermark": 0.2, "width": 640}).encode()
    shard = write_tar(tmp_path / "0.tar", {"k.jpg": jpeg_bytes(), "k.json": meta, "k.txt": BOM + b"a cat"})
    rows, drops = source_rows(tmp_path, builder_entry(shard, "laion", T2I))
    assert [(r["caption"], r["punsafe"], r["intWidth"]) for r in rows] == [("a cat", 0.1, 640)]
    assert drops == {}


def test_lone_surrogate_in_a_per_source_builder_record_is_replaced(tmp_path):
    path = tmp_path / "m.jsonl"
    record = {"id": 1, "image": "a.jpg", "conversations": _turns("<image>\nWhat \ud83d?", "A cat.")}
    path.write_text(json.dumps(record))
    rows, drops = source_rows(tmp_path, builder_entry(path, "mammoth", UND))
    assert rows[0]["conversations"][0]["value"] == "<image>\nWhat \ufffd?" and drops == {}


def test_laion_sizes_and_scores_written_as_text_are_numbers(tmp_path):
    path = write_parquet(
        tmp_path / "laion.parquet",
        {
            "URL": ["a.jpg", "b.jpg", "c.jpg"],
            "TEXT": ["a", "b", "c"],
            "WIDTH": ["640", " 1024 ", "wide"],
            "punsafe": ["0.1", "0.2", "unsafe?"],
            "pwatermark": ["0.1", "0.1", "0.1"],
        },
    )
    rows, drops = source_rows(tmp_path, builder_entry(path, "laion", T2I))
    assert [(r["intWidth"], r["punsafe"]) for r in rows] == [(640, 0.1), (1024, 0.2)]
    assert drops == {"filter:punsafe": 1}  # a punsafe that is not a number is not below the threshold


def test_list_paths_in_every_row_of_a_parquet_reach_the_row_form_not_an_error(images):
    path = write_parquet(
        images / "l.parquet",
        {"s3_path": [["img/0.jpg"], ["img/1.jpg", "img/2.jpg"]], "caption": ["a", "b"]},
    )
    result = _build(images, _entry(path))
    assert [r["id"] for r in _rows(result)] == ["e/0"]
    assert _dropped(result) == {"preprocess:s3_path_not_text": 1}


def test_cli_builds_a_messy_source_with_exit_0_and_stops_a_broken_one_with_exit_2(images, capsys):
    records = [{**r, "score": s} for r, s in zip(_t2i_records(3), [6.1, "6.5", "high"])]
    messy = _write(images / "m.jsonl", "jsonl", records, bom=True)
    broken = images / "b.json"
    broken.write_text('[{"s3_path": "img/0.jpg", "caption": ')
    for path, status in ((messy, 0), (broken, 2)):
        config = write_stage(
            images / f"{path.stem}.yaml", [_entry(path, score_column="score")], stage={"name": "s"}
        )
        assert main(["build", str(config), "--out", str(images / f"out-{path.stem}")]) == status
    err = capsys.readouterr().err
    assert "b.json" in err and "Traceback" not in err and "internal error" not in err


def test_sizes_past_the_integer_range_are_null_not_fatal(tmp_path):
    path = write_parquet(
        tmp_path / "laion.parquet",
        {
            "URL": ["a.jpg", "b.jpg"],
            "TEXT": ["a", "b"],
            "WIDTH": pa.array([18_446_700_093_244_440_575, 640], pa.uint64()),
            "punsafe": [0.1, 0.1],
            "pwatermark": [0.1, 0.1],
        },
    )
    rows, _ = source_rows(tmp_path, builder_entry(path, "laion", T2I))
    assert [r["intWidth"] for r in rows] == [None, 640]


def test_min_size_on_sizes_past_the_integer_range_compares_them(images):
    path = write_parquet(
        images / "big.parquet",
        {
            "s3_path": ["img/0.jpg", "img/1.jpg"],
            "caption": ["a", "b"],
            "intWidth": pa.array([18_446_700_093_244_440_575, 10], pa.uint64()),
            "intHeight": [600, 600],
        },
    )
    result = _build(images, _entry(path, min_size=512))
    assert [r["id"] for r in _rows(result)] == ["e/0"]
    assert _dropped(result) == {"filter:min_size": 1}


def test_message_naming_a_files_columns_shows_only_the_files_own(tmp_path):
    path = write_parquet(tmp_path / "laion.parquet", {"TEXT": ["a"], "punsafe": [0.1], "pwatermark": [0.1]})
    with pytest.raises(SourceError) as raised:
        source_rows(tmp_path, builder_entry(path, "laion", T2I))
    assert str(raised.value).endswith("the file has: TEXT, punsafe, pwatermark")
