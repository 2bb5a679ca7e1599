"""Planning preprocess functions: layouts in LOC format before the image, and feedback rows.

LaViDa-O's `…_s3_loc` and `…_layout_sam` (`text_image.py`) and `process_gpt_edit_loc_gnd`
(`interleaved.py`). The layout strings (`grounding_text`, `cap_short`, `cap_detail`) are already
in LOC format in LaViDa-O's parquets and are used verbatim (the stage `box_format` does not apply:
there are no raw boxes to convert).

Task names: `planning` when the answer states a layout (with or without the image after it),
`reflection` when the prompt carries past generations and their feedback, `t2i` for a plain
`no_plan` generation.
"""

from __future__ import annotations

from hf_mixture.errors import SkipRow
from hf_mixture.preprocess.common import as_list, join_prefix, optional_score, required_text, text_list, turns
from hf_mixture.preprocess.editing import edit_prompt
from hf_mixture.preprocess.registry import preprocess_fn
from hf_mixture.preprocess.text_to_image import SCORE_COLUMN, caption_columns, pick_caption_key
from hf_mixture.schema import MICRO_CONDITIONS

CAPTION_PROMPT = "Generate an image with the caption: {caption} " + MICRO_CONDITIONS + "."
PLAN_REQUEST = " Please first think and plan the layout in LOC format."
DETAIL_REQUEST = " Please plan each region in detail by providing individual descriptions."
PLAN_ANSWER = "Sure I should place the objects in the following manner {plan} "
FEEDBACK_INTRO = " Please also consider past generations and their feedbacks. Do not repeat these errors "
FEEDBACK_ITEM = "Generation {n}: <image>\n Feedback {n}: {reason}"
DROPPED_CAPTION = "an image with region captions."
DETAIL_PROBABILITY = 0.4
CAPTION_DROP_PROBABILITY = 0.1
EDIT_PLAN_REQUEST = ". Please first think and plan the layout in LOC format. "
EDIT_REASONS = {
    "add": "I should consider adding the objects in these locations : ",
    "remove": "I should consider removing the objects in these locations : ",
    "swap": "I should consider replacing the objects in these locations : ",
    "replace": "I should consider replacing the objects in these locations : ",
    "adjust": "I should consider adjusting the objects in these locations : ",
}
EDIT_REASON_OTHER = "I should consider editing the objects in these locations : "


def planned_answer(plan: str | None, plan_only: bool) -> str:
    """The gpt turn: the layout then `<image_gen>`, or `<image_gen_fake>` for a text-only plan,
    or just `<image_gen>` without a plan."""
    if plan is None:
        return "<image_gen>"
    return PLAN_ANSWER.format(plan=plan) + ("<image_gen_fake>" if plan_only else "<image_gen>")


def feedback_text(
    rng, negatives: list[str], reasons: list[str], max_reflection: int
) -> tuple[str, list[int]]:
    """LaViDa-O's feedback block and the negatives it shows: n ~ U{1..min(#negatives, max_reflection)},
    indices drawn with replacement (as LaViDa-O does), one `<image>` per pick."""
    count = int(rng.integers(1, min(len(negatives), max_reflection) + 1))
    picks = [int(i) for i in rng.choice(len(negatives), size=count, replace=True)]
    items = [FEEDBACK_ITEM.format(n=k + 1, reason=reasons[i]) for k, i in enumerate(picks)]
    return FEEDBACK_INTRO + "\n".join(items), picks


def _split(row: dict, column: str) -> list[str]:
    value = row.get(column)
    if isinstance(value, str):
        return [part.strip() for part in value.split(";")]
    return [str(v).strip() for v in as_list(value, column)]


def _s3_loc_needs(kwargs: dict) -> list[str]:
    needs = ["s3_path", *caption_columns(kwargs)]
    if not kwargs.get("no_plan"):
        needs.append("grounding_text")
    if kwargs.get("add_feedback"):
        needs += ["negatives", "negative_reasons"]
    return needs


@preprocess_fn(
    "preproces_text_to_image_generation_s3_loc", tasks=("planning", "t2i", "reflection"), needs=_s3_loc_needs
)
def text_to_image_s3_loc(
    row: dict,
    *,
    rng,
    caption_key: str = "caption",
    plan_only: bool = False,
    no_plan: bool = False,
    add_feedback: bool = False,
    s3_prefix_enc: str | None = None,
    max_reflection: int = 5,
    random_truncate: bool = True,
    random_caption_keys=None,
    no_drop_keys=None,
) -> dict:
    """Planning T2I: a caption, then the layout (`grounding_text`) and the image.

    `plan_only`: the answer ends at `<image_gen_fake>` with no target (the literal
    `[[micro_conds_texts]]` stays, as in LaViDa-O). `no_plan`: the image alone. `add_feedback`:
    past generations (`negatives`, `;`-separated, joined to `s3_prefix_enc`) and their
    `negative_reasons` join the prompt as understanding images. Which negatives, and how many, is
    drawn with `rng` - the row's content, not an augmentation - so a rebuild shows the same ones.
    `random_caption_keys` picks the caption column with `rng`, as in the plain T2I function;
    `random_truncate` and `no_drop_keys` are training-time options, accepted and left to the trainer."""
    if plan_only and no_plan:
        raise ValueError("process_fn_kwargs: plan_only and no_plan exclude each other; set one of them")
    caption = required_text(row, pick_caption_key(rng, caption_key, random_caption_keys))
    feedback, images = "", []
    if add_feedback:
        feedback, images = _feedback(row, rng, s3_prefix_enc, max_reflection)
    plan = None if no_plan else required_text(row, "grounding_text")
    human = CAPTION_PROMPT.format(caption=caption) + (" " if no_plan else PLAN_REQUEST) + feedback
    record = {
        "task": "reflection" if add_feedback else ("t2i" if no_plan else "planning"),
        "conversations": turns(human, planned_answer(plan, plan_only)),
        "images": images,
        "gen_score": optional_score(row, SCORE_COLUMN),
        "hpsv2": optional_score(row, "hpsv2"),
    }
    if not plan_only:
        record["image_gen"] = [required_text(row, "s3_path")]
        record["do_not_mask_text"] = not no_plan
    return record


def _feedback(row: dict, rng, prefix: str | None, max_reflection: int) -> tuple[str, list[str]]:
    negatives, reasons = _split(row, "negatives"), _split(row, "negative_reasons")
    if not any(negatives):
        raise SkipRow("preprocess:missing_negatives")
    if len(negatives) != len(reasons):
        raise SkipRow("preprocess:negatives_reasons_mismatch")
    text, picks = feedback_text(rng, negatives, reasons, max_reflection)
    return text, [join_prefix(prefix, negatives[i]) for i in picks]


def _layout_sam_needs(kwargs: dict) -> list[str]:
    return list(dict.fromkeys([kwargs.get("caption_key", "caption"), "s3_path", "cap_short", "cap_detail"]))


@preprocess_fn(
    "preproces_text_to_image_generation_layout_sam", tasks=("planning", "t2i"), needs=_layout_sam_needs
)
def text_to_image_layout_sam(
    row: dict,
    *,
    rng,
    s3_prefix: str | None = None,
    plan_only: bool = False,
    no_plan: bool = False,
    caption_key: str = "caption",
    caption_drop: float = CAPTION_DROP_PROBABILITY,
) -> dict:
    """Layout-SAM: a caption and region layout (`cap_short`, or `cap_detail` with a request for
    per-region descriptions), then the image.

    Two draws with `rng`, in this order, are the row's content (LaViDa-O draws them per call; the
    trainer has no other place to do them): detail layout with probability 0.4, then the caption
    replaced by "an image with region captions." with probability `caption_drop` (LaViDa-O's 0.1;
    the caption is read from `caption_key`). LaViDa-O's `crop_parms`
    (a fixed resize + crop of the target) has no column in the unified schema and is not applied:
    the layout refers to that crop, so these rows need a schema column to be exact (see report)."""
    if plan_only and no_plan:
        raise ValueError("process_fn_kwargs: plan_only and no_plan exclude each other; set one of them")
    detail = bool(rng.random() < DETAIL_PROBABILITY)
    caption = DROPPED_CAPTION if rng.random() < caption_drop else required_text(row, caption_key)
    plan = None if no_plan else required_text(row, "cap_detail" if detail else "cap_short")
    request = " " if no_plan else PLAN_REQUEST + (DETAIL_REQUEST if detail else "")
    record = {
        "task": "t2i" if no_plan else "planning",
        "conversations": turns(
            CAPTION_PROMPT.format(caption=caption) + request, planned_answer(plan, plan_only)
        ),
    }
    if not plan_only:
        record["image_gen"] = [join_prefix(s3_prefix, required_text(row, "s3_path"))]
        record["do_not_mask_text"] = not no_plan
    return record


@preprocess_fn(
    "process_gpt_edit_loc_gnd",
    tasks=("planning",),
    needs=["input_paths", "output_paths", "instruction", "grounding_text"],
)
def gpt_edit_loc_gnd(
    row: dict,
    *,
    rng,
    task: str = "edit",
    plan_only: bool = False,
    s3_prefix: str | None = None,
    template: str = "",
    no_template: bool = False,
    t2i: bool = False,
) -> dict:
    """Reasoning edits: the answer first states the edit regions (`grounding_text`), with a reason
    chosen by the edit type - the row's `edit_type` when set, else the kwarg `task` (add, remove,
    swap/replace, adjust; anything else "editing", a wording inferred from the spec) - then the
    image, or `<image_gen_fake>` with no target when `plan_only`. No `reweight` key. `t2i` appends
    the micro-condition placeholder to the prompt, as LaViDa-O does."""
    sources = [join_prefix(s3_prefix, p) for p in text_list(row, "input_paths")]
    if not sources:
        raise SkipRow("preprocess:no_source_image")
    edit_type = row.get("edit_type") or task
    reason = EDIT_REASONS.get(str(edit_type).strip().lower(), EDIT_REASON_OTHER)
    instruction = required_text(row, "instruction") + EDIT_PLAN_REQUEST
    human = edit_prompt(len(sources), instruction, template=template, t2i=t2i, no_template=no_template)
    answer = f"Sure {reason} {required_text(row, 'grounding_text')} " + (
        "<image_gen_fake>" if plan_only else "<image_gen>"
    )
    record = {
        "task": "planning",
        "conversations": turns(human, answer),
        "images": sources,
        "image_gen_enc": list(range(len(sources))),
        "pad_image_gen": True,
    }
    if not plan_only:
        record["image_gen"] = [join_prefix(s3_prefix, required_text(row, "output_paths"))]
        record["do_not_mask_text"] = True
    return record
