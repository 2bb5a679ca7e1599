"""Image-editing preprocess functions (LaViDa-O `interleaved.py`)."""

from __future__ import annotations

from hf_mixture.errors import SkipRow
from hf_mixture.preprocess.common import (
    conversation_list,
    join_prefix,
    optional_score,
    optional_text,
    required_text,
    text_list,
    turns,
)
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


@preprocess_fn("process_gpt_edit", tasks=("edit",), needs=["input_paths", "output_paths", "instruction"])
def gpt_edit(
    row: dict,
    *,
    rng,
    s3_prefix: str | None = None,
    pixel_diff: bool = False,
    no_template: bool = False,
    t2i: bool = False,
    template: str = "",
    reweight: bool = False,
) -> dict:
    """GPT-Image-Edit (OmniEdit / HQ-Edit / UltraEdit) pairs; `pixel_diff` is a training-time
    option, accepted and left to the trainer; the `reweight` kwarg becomes the row's flag."""
    sources = [join_prefix(s3_prefix, p) for p in text_list(row, "input_paths")]
    target = join_prefix(s3_prefix, required_text(row, "output_paths"))
    human = edit_prompt(
        len(sources), required_text(row, "instruction"), template=template, t2i=t2i, no_template=no_template
    )
    record = edit_record(sources, target, human)
    record["reweight"] = bool(reweight)
    record["hpsv2"] = optional_score(row, "hpsv2")
    return record


@preprocess_fn(
    "process_sharegpt_4o_edit", tasks=("edit",), needs=["input_image", "output_image", "input_prompt"]
)
def sharegpt_4o_edit(
    row: dict,
    *,
    rng,
    s3_prefix: str | None = None,
    reweight: bool = False,
    no_template: bool = False,
    t2i: bool = False,
    template: str = "",
) -> dict:
    """ShareGPT-4o-Image edits (`input_image` a path or a list of paths); the `reweight` kwarg
    becomes the row's `reweight` flag (LaViDa-O's edit-area loss weighting)."""
    sources = [join_prefix(s3_prefix, p) for p in text_list(row, "input_image")]
    target = join_prefix(s3_prefix, required_text(row, "output_image"))
    human = edit_prompt(
        len(sources), required_text(row, "input_prompt"), template=template, t2i=t2i, no_template=no_template
    )
    record = edit_record(sources, target, human)
    record["reweight"] = bool(reweight)
    return record


@preprocess_fn(
    "process_pica_banana", tasks=("edit",), needs=["local_input_image", "local_output_image", "text"]
)
def pica_banana(
    row: dict,
    *,
    rng,
    s3_prefix: str | None = None,
    no_template: bool = False,
    t2i: bool = False,
    template: str = "",
    reweight: bool = False,
) -> dict:
    """Pico-Banana style edit triplets: `local_input_image` (a path or a list), `local_output_image`,
    instruction `text`; the `reweight` kwarg becomes the row's flag."""
    sources = [join_prefix(s3_prefix, p) for p in text_list(row, "local_input_image")]
    target = join_prefix(s3_prefix, required_text(row, "local_output_image"))
    human = edit_prompt(
        len(sources), required_text(row, "text"), template=template, t2i=t2i, no_template=no_template
    )
    return {**edit_record(sources, target, human), "reweight": bool(reweight)}


@preprocess_fn(
    "process_metaquery", tasks=("edit",), needs=["source_images_paths", "tgt_path", "dir_name", "prompt"]
)
def metaquery(row: dict, *, rng, s3_prefix: str | None = None) -> dict:
    """MetaQuery-style rows: source images and target relative to `s3_prefix` / the row's
    `dir_name`; human `<image> <image_gen_enc> {prompt}` (one single-spaced prefix per source image -
    LaViDa-O writes one prefix, which is the same text for the usual single source)."""
    dir_name = optional_text(row, "dir_name")
    folder = join_prefix(s3_prefix, dir_name) if dir_name else s3_prefix
    sources = [join_prefix(folder, p) for p in text_list(row, "source_images_paths")]
    target = join_prefix(folder, required_text(row, "tgt_path"))
    return edit_record(sources, target, EDIT_SOURCE_PREFIX * len(sources) + required_text(row, "prompt"))


@preprocess_fn(
    "process_uniworld",
    tasks=("edit", "t2i", "understanding"),
    needs=["image", "image_gen", "image_gen_enc", "is_edit", "conversations"],
)
def uniworld(row: dict, *, rng, folder: str | None = None, do_reweight: bool = False) -> dict:
    """A flattened UniWorld-style record, read as LaViDa-O reads it: `image`, `image_gen`,
    `image_gen_enc` (lists of paths joined to the record's own `folder`, as LaViDa-O does; the
    `folder` kwarg is ours, used for records without one; an absolute path stays as it is),
    `is_edit`, `conversations` (used verbatim). Targets are padded to square when `is_edit` or
    `image` and `image_gen` hold 2 or more images together; `reweight` is set (with a target) to
    `is_edit and do_reweight and exactly 2 images`. Each `image_gen_enc` path must also be in
    `image` (the unified schema stores encoder inputs as indices into `images`); otherwise the row is
    skipped as `preprocess:image_gen_enc_not_in_image`."""
    root = optional_text(row, "folder") or folder
    images = [_under(root, p) for p in text_list(row, "image")]
    targets = [_under(root, p) for p in text_list(row, "image_gen")]
    encoder = [_under(root, p) for p in text_list(row, "image_gen_enc")]
    is_edit = bool(row.get("is_edit"))
    record = {
        "task": "edit" if is_edit else ("t2i" if targets else "understanding"),
        "conversations": conversation_list(row.get("conversations")),
        "images": images,
        "image_gen": targets,
        "image_gen_enc": encoder_indices(images, encoder),
        "pad_image_gen": is_edit or len(images) + len(targets) >= 2,
    }
    if targets:
        record["reweight"] = is_edit and do_reweight and len(images) + len(targets) == 2
    return record


def encoder_indices(images: list[str], encoder: list[str]) -> list[int]:
    """The positions in `images` of the generation encoder's inputs (given as paths, as LaViDa-O
    records hold them); SkipRow `preprocess:image_gen_enc_not_in_image` for a path not in `images`."""
    if any(path not in images for path in encoder):
        raise SkipRow("preprocess:image_gen_enc_not_in_image")
    return [images.index(path) for path in encoder]


def _under(folder: str | None, path: str) -> str:
    """`os.path.join(folder, path)` as LaViDa-O joins: an absolute path or a URI stays as it is."""
    return path if path.startswith("/") or "://" in path else join_prefix(folder, path)
