"""Understanding and grounding preprocess functions (LaViDa-O `und.py`)."""

from __future__ import annotations

from hf_mixture.preprocess.common import (
    conversation_list,
    join_prefix,
    optional_text,
    required_text,
    text_list,
    turns,
)
from hf_mixture.preprocess.registry import preprocess_fn

GRANDF_PROMPT = "<image>\n Generate a dense image caption with bounding boxes in LOC format."
REFCOCO_PROMPT = "<image>\n Please locate {label} in this image. Give bounding boxes in LOC format."
REASONING_REQUEST = (
    "\n Please also perform detailed reasoning for this problem and provide detailed reasoning traces."
)
LONG_ANSWER_WORDS = 150
JUDGE_PROMPT = (
    "<image>\nPlease evaluate this generated image based on the following prompt: {prompt} "
    "Focus on text alignment and compositionality."
)


@preprocess_fn("preproces_und_mammoth_si_10M", tasks=("understanding",), needs=["image", "conversations"])
def und_mammoth_si_10m(row: dict, *, rng, s3_prefix: str | None = None) -> dict:
    """A MAmmoTH-VL single-image (or text-only) conversation; `conversations` is JSON text or a list."""
    conversations = conversation_list(row.get("conversations"))
    image = optional_text(row, "image")  # a one-item list is its item; several: image_not_text
    return {
        "task": "understanding",
        "conversations": conversations,
        "images": [] if image is None else [join_prefix(s3_prefix, image)],
    }


@preprocess_fn("preproces_vw_instruct", tasks=("understanding",), needs=["image", "conversations"])
def vw_instruct(row: dict, *, rng, s3_prefix: str | None = None) -> dict:
    """A VisualWebInstruct conversation (`image`: a list of paths, or none for text-only). When the
    first gpt answer has more than 150 whitespace-separated words, the first human turn asks for
    detailed reasoning traces."""
    conversations = conversation_list(row.get("conversations"))
    answer = next((t["value"] for t in conversations if t["from"] == "gpt"), "")
    if len(answer.split()) > LONG_ANSWER_WORDS:
        first = next((i for i, t in enumerate(conversations) if t["from"] == "human"), None)
        if first is not None:
            turn = conversations[first]
            conversations[first] = {**turn, "value": turn["value"] + REASONING_REQUEST}
    return {
        "task": "understanding",
        "conversations": conversations,
        "images": [join_prefix(s3_prefix, p) for p in text_list(row, "image")],
    }


@preprocess_fn("llava_conversations", tasks=("understanding",), needs=["image", "conversations"])
def llava_conversations(row: dict, *, rng) -> dict:
    """Ours (no LaViDa-O counterpart): a LLaVA / ShareGPT conversation kept verbatim, `image` a
    list of paths (or none for text-only); the default function of the `llava`, `sharegpt` and
    `llamafactory` builders."""
    return {
        "task": "understanding",
        "conversations": conversation_list(row.get("conversations")),
        "images": text_list(row, "image"),
    }


@preprocess_fn("preprocess_reflection_und", tasks=("reflection",), needs=["image", "prompts", "results"])
def reflection_und(row: dict, *, rng, s3_prefix: str | None = None) -> dict:
    """Reflect-DiT judge rows: a generated image and its prompt; the answer is the critique
    (`results`) - the self-reflection task."""
    prompt = required_text(row, "prompts")
    return {
        "task": "reflection",
        "conversations": turns(JUDGE_PROMPT.format(prompt=prompt), required_text(row, "results")),
        "images": [join_prefix(s3_prefix, required_text(row, "image"))],
    }


@preprocess_fn("preproces_grandf", tasks=("grounding",), needs=["s3_path", "loc_caption"])
def grandf(row: dict, *, rng) -> dict:
    """GranD-f dense grounded captioning: the LOC-format caption is the answer, verbatim."""
    return {
        "task": "grounding",
        "conversations": turns(GRANDF_PROMPT, required_text(row, "loc_caption")),
        "images": [required_text(row, "s3_path")],
    }


@preprocess_fn("preproces_refcoco_rec", tasks=("grounding",), needs=["s3_path", "label", "loc_string"])
def refcoco_rec(row: dict, *, rng) -> dict:
    """RefCOCO referring-expression comprehension: one box in LOC format as the answer."""
    label = required_text(row, "label")
    return {
        "task": "grounding",
        "conversations": turns(REFCOCO_PROMPT.format(label=label), required_text(row, "loc_string")),
        "images": [required_text(row, "s3_path")],
    }
