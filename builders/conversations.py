"""LLaVA-format conversations as the sources publish them, made regular.

MAmmoTH-VL, VisualWebInstruct, Reflect-DiT's VLM JSON and GPT-Image-Edit's training JSON all store
`conversations: [{"from": ..., "value": ...}]`. Known breakage handled here: the list stored as
JSON text, `user`/`assistant` role names, null or bytes values, empty turns, and a literal
`<image>` written inside an answer (text, not an image slot: such a row is dropped and counted,
since a trainer would read it as an image token).
"""

from __future__ import annotations

import json

import pyarrow as pa

from hf_mixture.errors import SkipRow
from hf_mixture.schema import IMAGE_TOKEN, TURN_TYPE

TURNS_TYPE = pa.list_(TURN_TYPE)
ROLES = {"human": "human", "user": "human", "gpt": "gpt", "assistant": "gpt", "model": "gpt"}


def llava_turns(value) -> list[dict]:
    """Turns as `[{"from": "human"|"gpt", "value": str}]` from a list or its JSON text; blank turn
    pairs are removed. SkipRow `source:conversations_not_a_list` / `source:unknown_role`."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as err:
            raise SkipRow("source:conversations_not_json") from err
    if not isinstance(value, list) or not all(isinstance(t, dict) for t in value):
        raise SkipRow("source:conversations_not_a_list")
    turns = []
    for turn in value:
        role = ROLES.get(str(turn.get("from") or "").strip().lower())
        text = turn.get("value")
        text = text.decode("utf-8", errors="replace") if isinstance(text, bytes) else text
        text = "" if text is None else str(text)
        if role is None:
            if not text.strip():
                continue  # an empty turn with no role: nothing to keep
            raise SkipRow("source:unknown_role")
        turns.append({"from": role, "value": text})
    return _without_blank_pairs(turns)


def _without_blank_pairs(turns: list[dict]) -> list[dict]:
    """Drop (human, gpt) pairs in which both turns are blank; a row left with none has no turns."""
    kept, i = [], 0
    while i < len(turns):
        pair = turns[i : i + 2]
        if all(not t["value"].strip() for t in pair):
            i += 2
            continue
        kept.append(turns[i])
        i += 1
    return kept


def check_image_tokens(turns: list[dict], n_images: int) -> None:
    """SkipRow when the `<image>` tokens cannot match the images: a token in an answer
    (`source:image_token_in_answer`), or a non-zero count in questions that differs from
    `n_images` (`source:image_token_mismatch`). No token at all is left to the pipeline, which
    prepends one as LaViDa-O does."""
    if any(t["from"] == "gpt" and IMAGE_TOKEN in t["value"] for t in turns):
        raise SkipRow("source:image_token_in_answer")
    count = sum(t["value"].count(IMAGE_TOKEN) for t in turns)
    if count and count != n_images:
        raise SkipRow("source:image_token_mismatch")
