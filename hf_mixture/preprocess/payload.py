"""Records already in LaViDa-O's payload form: the entries of a LaViDa-O config that name no
`preprocess_fn` (LaViDa-O hands such records to `_get_item` unchanged; lavida-o-loader.md section 7),
e.g. what `hf-mixture export llava` writes.

Keys read (each optional but `conversations`): `image`, `image_gen`, `image_gen_enc` (a path or a
list of paths; `image_gen_enc` paths must also be in `image`), `pad_image_gen`, `do_not_mask_text`,
`reweight` (its presence is kept, as LaViDa-O builds token weights whenever the key exists),
`gen_score` / `hpsv2` (LaViDa-O's one-item lists; the first item is the row's score), and `task`
(ours; inferred from the targets and tokens when absent).
"""

from __future__ import annotations

from hf_mixture.preprocess.common import as_list, conversation_list, optional_score, text_list
from hf_mixture.preprocess.editing import encoder_indices
from hf_mixture.preprocess.registry import preprocess_fn
from hf_mixture.schema import TASKS

PAYLOAD_FN = "lavida_payload"


@preprocess_fn(PAYLOAD_FN, tasks=TASKS, needs=["conversations"])  # the record says its task
def lavida_payload(row: dict, *, rng) -> dict:
    """A LaViDa-O payload record as a unified row (see the module docstring)."""
    conversations = conversation_list(row.get("conversations"))
    images = text_list(row, "image")
    targets = text_list(row, "image_gen")
    record = {
        "task": _task(row, conversations, targets),
        "conversations": conversations,
        "images": images,
        "image_gen": targets,
        "image_gen_enc": encoder_indices(images, text_list(row, "image_gen_enc")),
        "pad_image_gen": bool(row.get("pad_image_gen")),
        "do_not_mask_text": bool(row.get("do_not_mask_text")),
        "gen_score": _first_score(row, "gen_score"),
        "hpsv2": _first_score(row, "hpsv2"),
    }
    if row.get("reweight") is not None:
        record["reweight"] = bool(row["reweight"])
    return record


def _task(row: dict, conversations: list[dict], targets: list[str]) -> str:
    if row.get("task") in TASKS:
        return row["task"]
    text = " ".join(t["value"] for t in conversations)
    if "<image_gen_enc>" in text:
        return "edit"
    if "<image_gen_fake>" in text or (targets and row.get("do_not_mask_text")):
        return "planning"
    return "t2i" if targets else "understanding"


def _first_score(row: dict, key: str) -> float | None:
    scores = as_list(row.get(key), key)
    return optional_score({key: scores[0]}, key) if scores else None
