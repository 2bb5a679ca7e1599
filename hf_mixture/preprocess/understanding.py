"""Understanding and grounding preprocess functions (LaViDa-O `und.py`)."""

from __future__ import annotations

import json

from hf_mixture.errors import SkipRow
from hf_mixture.preprocess.common import join_prefix, required_text, turns
from hf_mixture.preprocess.registry import preprocess_fn

GRANDF_PROMPT = "<image>\n Generate a dense image caption with bounding boxes in LOC format."
REFCOCO_PROMPT = "<image>\n Please locate {label} in this image. Give bounding boxes in LOC format."


@preprocess_fn("preproces_und_mammoth_si_10M", needs=["image", "conversations"])
def und_mammoth_si_10m(row: dict, *, rng, s3_prefix: str | None = None) -> dict:
    """A MAmmoTH-VL single-image (or text-only) conversation; `conversations` is JSON text or a list."""
    conversations = _conversation_list(row.get("conversations"))
    image = row.get("image")
    return {
        "task": "understanding",
        "conversations": conversations,
        "images": [] if image in (None, "") else [join_prefix(s3_prefix, image)],
    }


@preprocess_fn("preproces_grandf", needs=["s3_path", "loc_caption"])
def grandf(row: dict, *, rng) -> dict:
    """GranD-f dense grounded captioning: the LOC-format caption is the answer, verbatim."""
    return {
        "task": "grounding",
        "conversations": turns(GRANDF_PROMPT, required_text(row, "loc_caption")),
        "images": [required_text(row, "s3_path")],
    }


@preprocess_fn("preproces_refcoco_rec", needs=["s3_path", "label", "loc_string"])
def refcoco_rec(row: dict, *, rng) -> dict:
    """RefCOCO referring-expression comprehension: one box in LOC format as the answer."""
    label = required_text(row, "label")
    return {
        "task": "grounding",
        "conversations": turns(REFCOCO_PROMPT.format(label=label), required_text(row, "loc_string")),
        "images": [required_text(row, "s3_path")],
    }


def _conversation_list(value) -> list[dict]:
    if isinstance(value, (bytes, str)):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as err:
            raise SkipRow("preprocess:conversations_not_json") from err
    if not isinstance(value, list) or not all(isinstance(t, dict) for t in value):
        raise SkipRow("preprocess:conversations_not_a_list")
    return [{"from": str(t.get("from", "")), "value": str(t.get("value") or "")} for t in value]
