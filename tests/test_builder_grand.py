"""The `grand` builder: GranD per-image JSON and GranD-f annotations, boxes absolute xyxy."""

from __future__ import annotations

import json

from builder_helpers import SOURCES, build_and_load, entry, source_rows

from builders.rle import decode_counts, encode_counts, mask_runs, rle_box

BASE = SOURCES / "grand"
PER_IMAGE = BASE / "annotations" / "*.json"
GRANDF = BASE / "GranDf" / "annotations" / "train" / "GranDf_HA_GCG_train.json"
FN = "grandf_annotations"


def test_dense_caption_phrases_keep_their_absolute_boxes(tmp_path):
    rows, _ = source_rows(tmp_path, entry(PER_IMAGE, "grand", FN))
    first = rows[0]
    assert (
        first["image"] == "sa_000001.jpg" and first["caption"] == "The image shows a red chair and a crossbar"
    )
    assert first["phrases"] == ["a red chair", "a crossbar"]
    assert first["boxes"] == [[[10.0, 8.0, 30.5, 20.0]], [[0.0, 0.0, 12.0, 9.0]]]  # flat bbox made a list
    assert first["tokens_positive"] == [[16, 27], None]
    assert (first["width"], first["height"]) == (60, 40)


def test_grandf_boxes_are_the_bounds_of_the_rle_masks(tmp_path):
    rows, _ = source_rows(tmp_path, entry(GRANDF, "grand", FN))
    assert rows[0]["boxes"] == [[[5.0, 2.0, 15.0, 6.0]]] and (rows[0]["width"], rows[0]["height"]) == (20, 10)


def test_rle_string_round_trips():
    mask = [[1 if (x + y) % 3 == 0 else 0 for x in range(7)] for y in range(5)]
    runs = mask_runs(mask)
    assert decode_counts(encode_counts(runs)) == runs
    assert rle_box({"size": [5, 7], "counts": encode_counts(runs)}) == [0.0, 0.0, 7.0, 5.0]


def test_image_folder_gives_the_image_reference(tmp_path):
    options = {"image_folder": str(BASE / "images"), "keep_raw": True}
    rows, _ = source_rows(tmp_path, entry(PER_IMAGE, "grand", FN, builder_options=options))
    assert rows[0]["s3_path"] == f"{BASE}/images/sa_000001.jpg"
    assert json.loads(rows[0]["raw"])["objects"][0]["labels"] == ["chair"]


def test_grandf_rows_build_as_grounded_captions(tmp_path):
    item = entry(GRANDF, "grand", FN, name="grandf", builder_options={"image_folder": str(BASE / "images")})
    result, dataset = build_and_load(tmp_path, [item])
    assert len(dataset) == 1 and "<box_p>" in dataset[0]["conversations"][1]["value"]
