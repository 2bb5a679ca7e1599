"""Box conventions (hf_mixture/grounding.py), pinned on known boxes."""

import pytest

from hf_mixture.grounding import (
    BOX_FORMATS,
    box_format,
    format_boxes,
    grounded_phrase,
    loc_coordinates,
    pixel_coordinates,
    qwen_coordinates,
    xywh_to_xyxy,
)


def test_loc_on_a_square_image_scales_by_1024_over_side():
    # 512 px square: LOC = 2 * pixel
    assert loc_coordinates([10, 20, 300, 512], 512, 512).tolist() == [[20, 40, 600, 1024]]


def test_loc_on_a_wide_image_pads_top_and_bottom():
    # 200x100: padded to 200x200 (50 px above), scale 5.12; 10*5.12=51.2 -> 51, (20+50)*5.12=358.4 -> 358
    assert loc_coordinates([10, 20, 30, 40], 200, 100).tolist() == [[51, 358, 154, 461]]


def test_loc_on_a_tall_image_pads_left_and_right():
    # 100x200: padded 50 px left; the whole image spans x 256..768 of the LOC frame
    assert loc_coordinates([0, 0, 100, 200], 100, 200).tolist() == [[256, 0, 768, 1024]]


def test_loc_rounds_half_up_and_clamps_to_0_1024():
    # 1000 px square: scale 1.024; 0.48828125 * 1.024 = 0.5 -> 1; boxes beyond the image clamp
    assert loc_coordinates([0.48828125, -5, 1200, 999.5], 1000, 1000).tolist() == [[1, 0, 1024, 1023]]


def test_loc_text_is_one_group_per_box():
    text = format_boxes([[0, 0, 64, 64], [16, 16, 32, 48]], 64, 64, "loc")
    assert text == (
        "<LOC_BEGIN><LOC_0><LOC_0><LOC_1024><LOC_1024><LOC_END>"
        "<LOC_BEGIN><LOC_256><LOC_256><LOC_512><LOC_768><LOC_END>"
    )


def test_qwen_boxes_are_per_mille_of_the_unpadded_image():
    assert qwen_coordinates([10, 20, 30, 40], 200, 100).tolist() == [[50, 200, 150, 400]]
    assert format_boxes([[10, 20, 30, 40], [0, 0, 250, 100]], 200, 100, "qwen") == (
        "<|box_start|>(50,200),(150,400)<|box_end|><|box_start|>(0,0),(1000,1000)<|box_end|>"
    )


def test_pixel_boxes_round_and_clamp_to_the_image():
    assert pixel_coordinates([10.4, 20.5, 230, 40], 200, 100).tolist() == [[10, 21, 200, 40]]
    assert format_boxes([10.4, 20.5, 30, 40], 200, 100, "pixels") == "[10, 21, 30, 40]"


def test_phrases_are_wrapped_per_format():
    assert grounded_phrase("dog", [0, 0, 64, 64], 64, 64) == (
        "<box_p> dog </box_p><LOC_BEGIN><LOC_0><LOC_0><LOC_1024><LOC_1024><LOC_END>"
    )
    assert grounded_phrase("dog", [0, 0, 64, 64], 64, 64, "qwen") == (
        "<|object_ref_start|>dog<|object_ref_end|><|box_start|>(0,0),(1000,1000)<|box_end|>"
    )
    assert grounded_phrase("dog", [0, 0, 64, 64], 64, 64, "pixels") == "<box_p> dog </box_p>[0, 0, 64, 64]"


def test_xywh_converts_to_xyxy():
    assert xywh_to_xyxy([10, 20, 5, 7]) == [10.0, 20.0, 15.0, 27.0]


@pytest.mark.parametrize(
    "boxes, size, message",
    [
        ([30, 0, 10, 5], (100, 100), "x2 < x1"),
        ([0, 0, 1], (100, 100), r"\[x1, y1, x2, y2\]"),
        ([0, 0, float("nan"), 5], (100, 100), "finite"),
        ([0, 0, 1, 1], (0, 100), "positive"),
    ],
)
def test_bad_boxes_are_refused_with_the_reason(boxes, size, message):
    with pytest.raises(ValueError, match=message):
        format_boxes(boxes, *size)


def test_unknown_format_lists_the_known_ones():
    with pytest.raises(ValueError, match="loc, qwen, pixels"):
        box_format("yolo")
    assert set(BOX_FORMATS) == {"loc", "qwen", "pixels"}
