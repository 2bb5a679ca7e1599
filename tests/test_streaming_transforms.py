"""Train-time transforms and LOC boxes, each pinned to hand-computed outputs."""

from __future__ import annotations

import datasets
import numpy as np
import pytest
from PIL import Image

from hf_mixture.schema import MICRO_CONDITIONS
from hf_mixture.streaming.loc import (
    format_loc_box,
    loc_box_after_crop,
    loc_to_pixel_box,
    parse_loc_boxes,
    pixel_box_to_loc,
    rewrite_loc_boxes,
)
from hf_mixture.streaming.transforms import (
    Crop,
    TrainTransform,
    fill_micro_conditions,
    luma_stats,
    map_function,
    micro_condition_text,
    pad_to_square,
    pad_to_square_and_resize,
    resize_and_random_crop,
    resized_size,
    row_rng,
    truncate_caption,
    truncate_row_caption,
)

LONG = (
    "One cat sits. Two dogs run! Three birds fly? " + "Four fish swim in a very long and winding river. " * 3
)


class FixedDraws:
    """A generator whose `random()` returns given values and `integers` the low bound plus an offset."""

    def __init__(self, randoms, integer_offsets=()):
        self.randoms, self.offsets = list(randoms), list(integer_offsets)

    def random(self):
        return self.randoms.pop(0)

    def integers(self, low, high):
        value = low + self.offsets.pop(0)
        assert low <= value < high
        return value


def t2i_row(caption: str, **extra) -> dict:
    return {
        "id": "e/1",
        "task": "t2i",
        "conversations": [
            {"from": "human", "value": f"Generate an image with the caption: {caption} {MICRO_CONDITIONS}"},
            {"from": "gpt", "value": "Sure <image_gen>"},
        ],
        "image_gen": [],
        "pad_image_gen": False,
        "gen_score": None,
        "hpsv2": None,
        "original_width": None,
        "original_height": None,
        **extra,
    }


def columns_image(width: int, height: int) -> Image.Image:
    """Column x has colour (10 * x, 0, 0)."""
    pixels = np.zeros((height, width, 3), dtype=np.uint8)
    pixels[:, :, 0] = (np.arange(width) * 10)[None, :]
    return Image.fromarray(pixels)


# ---- captions -----------------------------------------------------------------------------------


def test_truncate_keeps_first_k_sentences_when_drawn():
    assert len(LONG) > 150
    assert truncate_caption(LONG, FixedDraws([0.1], [1])) == "One cat sits. Two dogs run!"


def test_truncate_leaves_caption_when_not_drawn_or_short():
    assert truncate_caption(LONG, FixedDraws([0.2])) == LONG
    assert truncate_caption("Short one. Two.", FixedDraws([0.0])) == "Short one. Two."


def test_truncate_cuts_at_max_chars_always():
    assert truncate_caption("x" * 900, FixedDraws([0.9])) == "x" * 800


def test_truncate_rate_is_about_prob():
    rng = np.random.default_rng(0)
    changed = sum(truncate_caption(LONG, rng) != LONG for _ in range(2000))
    # k == n (all sentences kept) leaves the caption unchanged: 1/7 of the truncations
    assert 0.2 * 6 / 7 * 2000 - 60 < changed < 0.2 * 6 / 7 * 2000 + 60


def test_truncate_row_caption_rewrites_only_the_caption():
    row = truncate_row_caption(t2i_row(LONG), FixedDraws([0.0], [0]))
    assert row["conversations"][0]["value"] == (
        f"Generate an image with the caption: One cat sits. {MICRO_CONDITIONS}"
    )
    assert row["conversations"][1] == {"from": "gpt", "value": "Sure <image_gen>"}


def test_truncate_row_caption_ignores_other_tasks():
    row = {**t2i_row(LONG), "task": "edit"}
    assert truncate_row_caption(row, FixedDraws([0.0], [0])) is row


# ---- images -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("width", "height", "expected"),
    [(300, 200, (384, 256)), (200, 300, (256, 384)), (1000, 333, (768, 256)), (256, 256, (256, 256))],
)
def test_resized_size_short_side_and_truncated_long_side(width, height, expected):
    assert resized_size(width, height, 256) == expected


def test_resize_and_random_crop_offsets_and_pixels():
    image = columns_image(8, 4)  # short side 4 == size: no resize
    cropped, crop = resize_and_random_crop(image, 4, FixedDraws([], [0, 3]))
    assert crop == Crop(8, 4, 8, 4, top=0, left=3, size=4)
    assert cropped.size == (4, 4)
    assert list(np.asarray(cropped)[0, :, 0]) == [30, 40, 50, 60]


def test_resize_and_random_crop_resizes_bilinear_short_side():
    image = Image.new("RGB", (20, 10), (0, 200, 0))
    cropped, crop = resize_and_random_crop(image, 5, np.random.default_rng(0))
    assert (crop.resized_width, crop.resized_height, crop.top) == (10, 5, 0)
    assert 0 <= crop.left <= 5
    assert np.all(np.asarray(cropped) == [0, 200, 0])


def test_pad_to_square_centres_on_black():
    image = Image.new("RGB", (4, 2), (255, 0, 0))
    pixels = np.asarray(pad_to_square(image))
    assert pixels.shape == (4, 4, 3)
    assert pixels[0].tolist() == [[0, 0, 0]] * 4 and pixels[3].tolist() == [[0, 0, 0]] * 4
    assert pixels[1].tolist() == [[255, 0, 0]] * 4 and pixels[2].tolist() == [[255, 0, 0]] * 4


def test_pad_to_square_odd_difference_puts_the_extra_row_below():
    pixels = np.asarray(pad_to_square(Image.new("RGB", (3, 1), (255, 255, 255))))
    assert pixels[:, 0, 0].tolist() == [0, 255, 0]


def test_pad_to_square_and_resize_size():
    assert pad_to_square_and_resize(Image.new("RGB", (40, 20)), 16).size == (16, 16)


def test_luma_stats_rec709():
    assert luma_stats(Image.new("RGB", (2, 2), (255, 0, 0))) == pytest.approx((0.2126, 0.0))
    half = Image.fromarray(np.array([[[0, 0, 0], [255, 255, 255]]], dtype=np.uint8))
    assert luma_stats(half) == pytest.approx((0.5, 0.5))


# ---- micro-conditions ---------------------------------------------------------------------------


def test_micro_condition_text_full():
    crop = Crop(640, 480, 341, 256, top=0, left=12, size=256)
    red = Image.new("RGB", (4, 4), (255, 0, 0))
    text = micro_condition_text(FixedDraws([0.4, 0.1]), crop=crop, cropped=red, gen_score=6.12, hpsv2=0.31)
    assert text == (
        "ORIGINAL WIDTH : 640; ORIGINAL HEIGHT : 480; TOP : 0; LEFT : 12; "
        "LUMINANCE : 0.213; CONTRAST : 0.000; SCORE : 6.120; HPS : 3.100"
    )


def test_micro_condition_text_luminance_and_contrast_drawn_independently():
    crop = Crop(64, 64, 64, 64, top=1, left=2, size=64)
    red = Image.new("RGB", (4, 4), (255, 0, 0))
    assert micro_condition_text(FixedDraws([0.7, 0.2]), crop=crop, cropped=red) == (
        "ORIGINAL WIDTH : 64; ORIGINAL HEIGHT : 64; TOP : 1; LEFT : 2; CONTRAST : 0.000"
    )


def test_micro_condition_text_padded_target_has_only_scores():
    assert micro_condition_text(FixedDraws([]), gen_score=5.0) == "SCORE : 5.000"


def test_fill_micro_conditions_one_draw_per_placeholder():
    text = f"a {MICRO_CONDITIONS} b {MICRO_CONDITIONS}"
    assert fill_micro_conditions(text, "M", FixedDraws([0.5, 0.1])) == "a M b "


# ---- whole rows ---------------------------------------------------------------------------------


def test_train_transform_crop_row_uses_stored_original_size():
    row = t2i_row(
        "A cat.", image_gen=[columns_image(8, 4)], gen_score=6.0, original_width=800, original_height=400
    )
    draws = FixedDraws([0.9, 0.9, 0.9, 0.9], [0, 2])  # no truncation, no luma/contrast, kept
    out = TrainTransform(size=4)(row, draws)
    assert out["conversations"][0]["value"] == (
        "Generate an image with the caption: A cat. "
        "ORIGINAL WIDTH : 800; ORIGINAL HEIGHT : 400; TOP : 0; LEFT : 2; SCORE : 6.000"
    )
    assert list(np.asarray(out["image_gen"][0])[0, :, 0]) == [20, 30, 40, 50]


def test_train_transform_pad_row_gets_scores_only():
    row = t2i_row(
        "A cat.", task="edit", image_gen=[Image.new("RGB", (8, 4), (9, 9, 9))], pad_image_gen=True, hpsv2=0.5
    )
    out = TrainTransform(size=8)(row, FixedDraws([0.9]))
    assert out["conversations"][0]["value"].endswith("caption: A cat. HPS : 5.000")
    assert np.asarray(out["image_gen"][0])[0, 0].tolist() == [0, 0, 0]


def test_train_transform_leaves_placeholder_without_target():
    row = t2i_row("A cat.", task="planning")
    out = TrainTransform(size=4)(row, np.random.default_rng(0))
    assert out["conversations"][0]["value"].endswith(MICRO_CONDITIONS)


def test_train_transform_drop_rate_is_about_0_3():
    row = t2i_row("A cat.", image_gen=[Image.new("RGB", (4, 4))])
    dropped = sum(
        TrainTransform(size=4)(row, np.random.default_rng(i))["conversations"][0]["value"].endswith("cat. ")
        for i in range(1000)
    )
    assert 300 - 60 < dropped < 300 + 60


def test_row_rng_depends_on_seed_epoch_and_id_only():
    first = row_rng(1, 0, "a/1").random(3)
    assert np.array_equal(first, row_rng(1, 0, "a/1").random(3))
    assert not np.array_equal(first, row_rng(1, 1, "a/1").random(3))
    assert not np.array_equal(first, row_rng(2, 0, "a/1").random(3))
    assert not np.array_equal(first, row_rng(1, 0, "a/2").random(3))


def test_map_function_on_a_hugging_face_stream():
    rows = [
        {"id": f"e/{i}", "task": "t2i", "conversations": t2i_row(LONG)["conversations"]} for i in range(40)
    ]
    stream = datasets.Dataset.from_list(rows).to_iterable_dataset()
    fn = map_function(lambda row, rng: truncate_row_caption(row, rng, prob=1.0), seed=3)
    first = [r["conversations"][0]["value"] for r in stream.map(fn)]
    again = [r["conversations"][0]["value"] for r in stream.map(fn)]
    assert first == again
    assert len(set(first)) > 1


# ---- LOC boxes ----------------------------------------------------------------------------------

GRAND = (
    "<box_p> A red car </box_p><LOC_BEGIN><LOC_96><LOC_544><LOC_576><LOC_832><LOC_END> is parked beside "
    "<box_p> a green tree </box_p><LOC_BEGIN><LOC_640><LOC_128><LOC_960><LOC_800><LOC_END>."
)


def test_parse_loc_boxes_with_phrases():
    boxes = parse_loc_boxes(GRAND)
    assert [(b.xyxy, b.phrase) for b in boxes] == [
        ((96, 544, 576, 832), "A red car"),
        ((640, 128, 960, 800), "a green tree"),
    ]
    assert GRAND[boxes[0].start : boxes[0].end] == format_loc_box((96, 544, 576, 832))


def test_parse_refcoco_answer_without_phrase():
    (box,) = parse_loc_boxes("<LOC_BEGIN><LOC_64><LOC_384><LOC_320><LOC_640><LOC_END>")
    assert box.xyxy == (64, 384, 320, 640) and box.phrase is None


def test_pixel_box_to_loc_pads_to_square():
    # 200 x 100 image: square side 200, 50 px of padding above; 1 px = 5.12 LOC units
    assert pixel_box_to_loc((0, 0, 200, 100), 200, 100) == (0, 256, 1024, 768)
    assert pixel_box_to_loc((60, 20, 110, 70), 200, 100) == (307, 358, 563, 614)


def test_loc_to_pixel_box_inverts():
    assert loc_to_pixel_box((0, 256, 1024, 768), 200, 100) == pytest.approx((0, 0, 200, 100))


def test_loc_box_after_crop():
    crop = Crop(200, 100, 200, 100, top=0, left=50, size=100)
    assert loc_box_after_crop((0, 256, 1024, 768), crop) == (0, 0, 1024, 1024)
    assert loc_box_after_crop((307, 358, 563, 614), crop) == (102, 204, 614, 716)


def test_rewrite_loc_boxes_keeps_the_text():
    text = rewrite_loc_boxes(GRAND, lambda box: (0, 0, 1, 1))
    assert text.count("<LOC_BEGIN><LOC_0><LOC_0><LOC_1><LOC_1><LOC_END>") == 2
    assert "<box_p> A red car </box_p>" in text and text.endswith(".")
