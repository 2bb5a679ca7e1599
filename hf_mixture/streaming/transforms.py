"""The train-time steps the build leaves out on purpose (schema.md; lavida-o-loader.md 2.2, 2.6, 4.3).

Each function takes an explicit numpy `Generator`; nothing here touches a module-level RNG.
`TrainTransform` chains them for one unified row; `row_rng(seed, epoch, row_id)` gives the
per-row generator that makes the result the same after a resume, and `map_function` turns a
transform into a function for `IterableDataset.map`.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image

from hf_mixture.preprocess.text_to_image import T2I_PROMPT
from hf_mixture.schema import MICRO_CONDITIONS
from hf_mixture.streaming.loc import loc_box_after_crop, rewrite_loc_boxes

MAX_CAP_LENGTH = 800
TRUNCATE_PROB = 0.2
TRUNCATE_MIN_CHARS = 150
MICRO_DROP_PROB = 0.3
LUMA_PROB = 0.5
SENTENCE_END = re.compile(r"(?<=[.!?]) +")
REC709 = np.array([0.2126, 0.7152, 0.0722], dtype=np.float64)
T2I_BEFORE, _, T2I_AFTER = T2I_PROMPT.partition("{caption}")

RowTransform = Callable[[dict, np.random.Generator], dict]


def row_rng(seed: int, epoch: int, row_id: str) -> np.random.Generator:
    """The generator of one row in one epoch: the same on every resume, worker and rank."""
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, int(epoch), zlib.crc32(row_id.encode("utf-8"))])


# ---- captions -------------------------------------------------------------------------------


def truncate_caption(
    caption: str,
    rng: np.random.Generator,
    *,
    prob: float = TRUNCATE_PROB,
    min_chars: int = TRUNCATE_MIN_CHARS,
    max_chars: int = MAX_CAP_LENGTH,
) -> str:
    """LaViDa-O's random truncation: with probability `prob`, a caption longer than `min_chars`
    keeps its first k sentences (k uniform in 1..n, split after `.!?`); then it is cut at
    `max_chars` characters."""
    if rng.random() < prob and len(caption) > min_chars:
        sentences = SENTENCE_END.split(caption)
        caption = " ".join(sentences[: int(rng.integers(1, len(sentences) + 1))])
    return caption[:max_chars]


def truncate_row_caption(row: dict, rng: np.random.Generator, **kwargs) -> dict:
    """`row` with the caption of its t2i prompt (`Generate an image with the caption: … [[micro…]]`)
    passed through `truncate_caption`; other rows unchanged."""
    turns = row.get("conversations") or []
    if row.get("task") != "t2i" or not turns:
        return row
    text = turns[0]["value"]
    if not (text.startswith(T2I_BEFORE) and text.endswith(T2I_AFTER)):
        return row
    caption = text[len(T2I_BEFORE) : len(text) - len(T2I_AFTER)]
    first = {**turns[0], "value": T2I_BEFORE + truncate_caption(caption, rng, **kwargs) + T2I_AFTER}
    return {**row, "conversations": [first, *turns[1:]]}


# ---- generation targets -------------------------------------------------------------------------


@dataclass(frozen=True)
class Crop:
    """Where `resize_and_random_crop` took its square: offsets in the resized image."""

    original_width: int
    original_height: int
    resized_width: int
    resized_height: int
    top: int
    left: int
    size: int


def resized_size(width: int, height: int, size: int) -> tuple[int, int]:
    """Short side = `size`, long side scaled and truncated (LaViDa-O's `int()`)."""
    if width <= height:
        return size, height * size // width
    return width * size // height, size


def resize_and_random_crop(
    image: Image.Image, size: int, rng: np.random.Generator
) -> tuple[Image.Image, Crop]:
    """Resize so the short side is `size` (BILINEAR), then a uniform random `size` square crop
    (TOP drawn first, then LEFT)."""
    image = image.convert("RGB")
    new_w, new_h = resized_size(image.width, image.height, size)
    resized = image.resize((new_w, new_h), Image.Resampling.BILINEAR)
    top = int(rng.integers(0, new_h - size + 1))
    left = int(rng.integers(0, new_w - size + 1))
    crop = Crop(image.width, image.height, new_w, new_h, top, left, size)
    return resized.crop((left, top, left + size, top + size)), crop


def pad_to_square(image: Image.Image) -> Image.Image:
    """`image` centred on a black square of side max(w, h) (offsets floor((side - w) / 2))."""
    image = image.convert("RGB")
    side = max(image.size)
    if image.width == image.height:
        return image
    canvas = Image.new("RGB", (side, side), (0, 0, 0))
    canvas.paste(image, ((side - image.width) // 2, (side - image.height) // 2))
    return canvas


def pad_to_square_and_resize(image: Image.Image, size: int) -> Image.Image:
    """`pad_to_square`, then resized to `size` x `size` (BICUBIC, PIL's default)."""
    square = pad_to_square(image)
    return square if square.width == size else square.resize((size, size), Image.Resampling.BICUBIC)


# ---- micro-conditions ---------------------------------------------------------------------------


def luma_stats(image: Image.Image) -> tuple[float, float]:
    """Mean and standard deviation of the Rec.709 luma of `image`, in [0, 1]."""
    pixels = np.asarray(image.convert("RGB"), dtype=np.float64) / 255.0
    luma = pixels @ REC709
    return float(luma.mean()), float(luma.std())


def micro_condition_text(
    rng: np.random.Generator,
    *,
    crop: Crop | None = None,
    cropped: Image.Image | None = None,
    gen_score: float | None = None,
    hpsv2: float | None = None,
    luma_prob: float = LUMA_PROB,
) -> str:
    """LaViDa-O's micro-condition string (2.6): geometry of the crop, LUMINANCE and CONTRAST of the
    crop each with probability `luma_prob`, then SCORE and HPS (x10); joined with `; `. A padded
    target (`crop` None) gets only SCORE/HPS."""
    parts = []
    if crop is not None:
        parts += [
            f"ORIGINAL WIDTH : {crop.original_width}",
            f"ORIGINAL HEIGHT : {crop.original_height}",
            f"TOP : {crop.top}",
            f"LEFT : {crop.left}",
        ]
        use_luma, use_contrast = rng.random() < luma_prob, rng.random() < luma_prob
        if cropped is not None and (use_luma or use_contrast):
            mean, std = luma_stats(cropped)
            parts += [f"LUMINANCE : {mean:.3f}"] if use_luma else []
            parts += [f"CONTRAST : {std:.3f}"] if use_contrast else []
    if gen_score is not None:
        parts.append(f"SCORE : {gen_score:.3f}")
    if hpsv2 is not None:
        parts.append(f"HPS : {hpsv2 * 10:.3f}")
    return "; ".join(parts)


def fill_micro_conditions(
    text: str, micro: str, rng: np.random.Generator, *, drop_prob: float = MICRO_DROP_PROB
) -> str:
    """Every `[[micro_conds_texts]]` in `text` replaced, in order, by `micro`, or with probability
    `drop_prob` (one draw per placeholder) by the empty string."""
    pieces = text.split(MICRO_CONDITIONS)
    out = [pieces[0]]
    for piece in pieces[1:]:
        out.append("" if rng.random() < drop_prob else micro)
        out.append(piece)
    return "".join(out)


# ---- one row ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainTransform:
    """The train-time steps for one unified row with decoded images.

    Order: caption truncation (t2i prompts), then each `image_gen` target resized and randomly
    cropped to `size` (or padded to square when `pad_image_gen`), then `[[micro_conds_texts]]`
    filled from the first target (left literally when the row has no target, as LaViDa-O does).
    `remap_loc` also rewrites the LOC boxes of the answer turns of planning rows into the frame
    of the crop (LaViDa-O does not: off by default). The output row has the same keys; `image_gen`
    holds `size` x `size` RGB images.
    """

    size: int = 256
    truncate_captions: bool = True
    micro_conditions: bool = True
    remap_loc: bool = False
    micro_drop_prob: float = MICRO_DROP_PROB

    def __call__(self, row: dict, rng: np.random.Generator) -> dict:
        if self.truncate_captions:
            row = truncate_row_caption(row, rng)
        targets = row.get("image_gen") or []
        if not targets:
            return row
        outputs, crops = [], []
        for image in targets:
            if row.get("pad_image_gen"):
                outputs.append(pad_to_square_and_resize(image, self.size))
                crops.append(None)
            else:
                cropped, crop = resize_and_random_crop(image, self.size, rng)
                outputs.append(cropped)
                crops.append(crop)
        row = {**row, "image_gen": outputs}
        if self.micro_conditions:
            row = self._fill(row, crops[0], outputs[0], rng)
        if self.remap_loc and crops[0] is not None and row.get("task") == "planning":
            row = _remap_answers(row, crops[0])
        return row

    def _fill(self, row: dict, crop: Crop | None, cropped: Image.Image, rng: np.random.Generator) -> dict:
        if crop is not None and row.get("original_width") and row.get("original_height"):
            crop = _with_original(crop, int(row["original_width"]), int(row["original_height"]))
        micro = micro_condition_text(
            rng, crop=crop, cropped=cropped, gen_score=row.get("gen_score"), hpsv2=row.get("hpsv2")
        )
        turns = [
            {**t, "value": fill_micro_conditions(t["value"], micro, rng, drop_prob=self.micro_drop_prob)}
            if MICRO_CONDITIONS in t["value"]
            else t
            for t in row["conversations"]
        ]
        return {**row, "conversations": turns}


def _with_original(crop: Crop, width: int, height: int) -> Crop:
    """The crop with the stored pre-build size (the build may have resized the image)."""
    return Crop(width, height, crop.resized_width, crop.resized_height, crop.top, crop.left, crop.size)


def _remap_answers(row: dict, crop: Crop) -> dict:
    turns = [
        {**t, "value": rewrite_loc_boxes(t["value"], lambda box: loc_box_after_crop(box, crop))}
        if t["from"] == "gpt"
        else t
        for t in row["conversations"]
    ]
    return {**row, "conversations": turns}


def map_function(transform: RowTransform, *, seed: int, epoch: int = 0) -> Callable[[dict], dict]:
    """`transform` as a function for `datasets.IterableDataset.map`: each row gets `row_rng(seed,
    epoch, row["id"])`, so a resumed stream transforms a row exactly as before."""
    return _MapFunction(transform, seed, epoch)


@dataclass(frozen=True)
class _MapFunction:
    transform: RowTransform
    seed: int
    epoch: int

    def __call__(self, row: dict) -> dict:
        return self.transform(row, row_rng(self.seed, self.epoch, row["id"]))
