"""Image-editing preprocess functions (LaViDa-O `interleaved.py`)."""

from __future__ import annotations

from hf_mixture.errors import SkipRow
from hf_mixture.preprocess.common import as_list, join_prefix, optional_score, required_text, turns
from hf_mixture.preprocess.registry import preprocess_fn
from hf_mixture.schema import MICRO_CONDITIONS

EDIT_SOURCE_PREFIX = "<image> <image_gen_enc> "
EDIT_ANSWER = "Sure <image_gen>"


def edit_prompt(
    n_sources: int, instruction: str, *, template: str = "", t2i: bool = False, no_template: bool = False
) -> str:
    """The human turn of an edit: one `<image> <image_gen_enc> ` per source image, then
    `{template} {instruction}` (LaViDa-O's double space included)."""
    prefix = "" if no_template else EDIT_SOURCE_PREFIX * n_sources
    text = f"{prefix}{template} {instruction}"
    return f"{text} {MICRO_CONDITIONS}" if t2i else text


def edit_record(sources: list[str], target: str, human: str, answer: str = EDIT_ANSWER) -> dict:
    """An edit row: sources feed both branches (`images` and `image_gen_enc`), target is generated
    and padded to square."""
    if not sources:
        raise SkipRow("preprocess:no_source_image")
    return {
        "task": "edit",
        "conversations": turns(human, answer),
        "images": sources,
        "image_gen": [target],
        "image_gen_enc": list(range(len(sources))),
        "pad_image_gen": True,
    }


@preprocess_fn("process_gpt_edit", needs=["input_paths", "output_paths", "instruction"])
def gpt_edit(
    row: dict,
    *,
    rng,
    s3_prefix: str | None = None,
    pixel_diff: bool = False,
    no_template: bool = False,
    t2i: bool = False,
    template: str = "",
) -> dict:
    """GPT-Image-Edit (OmniEdit / HQ-Edit / UltraEdit) pairs; `pixel_diff` is a training-time
    option, accepted and left to the trainer."""
    sources = [join_prefix(s3_prefix, p) for p in as_list(row.get("input_paths")) if p]
    target = join_prefix(s3_prefix, required_text(row, "output_paths"))
    human = edit_prompt(
        len(sources), required_text(row, "instruction"), template=template, t2i=t2i, no_template=no_template
    )
    record = edit_record(sources, target, human)
    record["reweight"] = False
    record["hpsv2"] = optional_score(row, "hpsv2")
    return record
