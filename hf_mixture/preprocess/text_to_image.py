"""Text-to-image preprocess functions (LaViDa-O `text_image.py`)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from hf_mixture.preprocess.common import join_prefix, optional_score, required_text, turns
from hf_mixture.preprocess.registry import SKIP_REASON, TEMPLATE_TEXT, preprocess_fn
from hf_mixture.schema import MICRO_CONDITIONS, TURN_TYPE

T2I_PROMPT = "Generate an image with the caption: {caption} " + MICRO_CONDITIONS
T2I_ANSWER = "Sure <image_gen>"
SCORE_COLUMN = "fltLaionAesthScore"
PIAT_SCHEME = "piat://"
PIAT_HASH_COLUMN = "strImagehash"
PIAT_CAPTION_KEY = "longLLA_captions"


def caption_columns(kwargs: dict, default: str = "caption") -> list[str]:
    """The caption columns an entry reads: `random_caption_keys`, else `caption_key`."""
    return list(kwargs.get("random_caption_keys") or [kwargs.get("caption_key", default)])


def _t2i_needs(kwargs: dict) -> list[str]:
    return ["s3_path", *caption_columns(kwargs)]


def _piat_needs(kwargs: dict) -> list[str]:
    return [PIAT_HASH_COLUMN, *caption_columns(kwargs, PIAT_CAPTION_KEY)]


def pick_caption_key(rng, caption_key: str, random_caption_keys) -> str:
    """`caption_key`, or one of `random_caption_keys` drawn with `rng` (LaViDa-O draws per call;
    here per row, seeded, so a rebuild keeps the same caption)."""
    if random_caption_keys:
        return random_caption_keys[int(rng.integers(len(random_caption_keys)))]
    return caption_key


def t2i_s3_batch(
    table: pa.Table,
    *,
    caption_key: str = "caption",
    s3_prefix: str | None = None,
    random_caption_keys: list[str] | None = None,
    **_ignored,
) -> pa.Table | None:
    """The batch form of `preproces_text_to_image_generation_s3` (None: use the row form)."""
    if random_caption_keys or s3_prefix:
        return None
    return _t2i_table(table, caption_key, "s3_path", table["s3_path"].cast(pa.string()))


def t2i_piat_batch(
    table: pa.Table, *, caption_key: str = PIAT_CAPTION_KEY, random_caption_keys=None, **_ignored
) -> pa.Table | None:
    """The batch form of `preproces_text_to_image_generation_piat_hash` (None: use the row form)."""
    if random_caption_keys:
        return None
    hashes = table[PIAT_HASH_COLUMN].cast(pa.string())
    paths = pc.binary_join_element_wise(PIAT_SCHEME, hashes, "")
    return _t2i_table(table, caption_key, PIAT_HASH_COLUMN, hashes, paths)


def _t2i_table(
    table: pa.Table,
    caption_key: str,
    image_column: str,
    image_values: pa.Array,
    paths: pa.Array | None = None,
) -> pa.Table:
    """t2i records for a whole table: caption prompt, one target per row (`paths`, default the
    image column's values), optional scores, and the skip reason of rows missing a value. The
    caption is the template text (registry.TEMPLATE_TEXT): two turns, human then gpt, the human
    turn never blank, one `<image_gen>` in the answer for the one target."""
    caption = table[caption_key].cast(pa.string())
    before, _, after = T2I_PROMPT.partition("{caption}")
    human = pc.binary_join_element_wise(before, caption, after, "")
    conversations = _two_turn_lists(human, pa.repeat(pa.scalar(T2I_ANSWER), len(table)))
    columns = {
        "task": pa.repeat(pa.scalar("t2i"), len(table)),
        "conversations": conversations,
        "image_gen": _singleton_lists(image_values if paths is None else paths),
        SKIP_REASON: _missing_reasons({caption_key: caption, image_column: image_values}),
        TEMPLATE_TEXT: caption,
    }
    for name, column in (("gen_score", SCORE_COLUMN), ("hpsv2", "hpsv2")):
        if column in table.column_names:
            values = table[column].cast(pa.float32())
            columns[name] = pc.if_else(pc.is_nan(values), pa.scalar(None, pa.float32()), values)
    return pa.table(columns)


@preprocess_fn("preproces_text_to_image_generation_s3", tasks=("t2i",), needs=_t2i_needs, batch=t2i_s3_batch)
def text_to_image_s3(
    row: dict,
    *,
    rng,
    caption_key: str = "caption",
    random_caption_keys: list[str] | None = None,
    random_truncate: bool = True,
    no_drop_keys=None,
    s3_prefix: str | None = None,
) -> dict:
    """A caption and an image to generate. `random_truncate` and `no_drop_keys` are training-time
    options, accepted and left to the trainer: the stored caption is the whole caption."""
    caption = required_text(row, pick_caption_key(rng, caption_key, random_caption_keys))
    return {
        "task": "t2i",
        "conversations": turns(T2I_PROMPT.format(caption=caption), T2I_ANSWER),
        "image_gen": [join_prefix(s3_prefix, required_text(row, "s3_path"))],
        "gen_score": optional_score(row, SCORE_COLUMN),
        "hpsv2": optional_score(row, "hpsv2"),
    }


@preprocess_fn(
    "preproces_text_to_image_generation_piat_hash", tasks=("t2i",), needs=_piat_needs, batch=t2i_piat_batch
)
def text_to_image_piat_hash(
    row: dict,
    *,
    rng,
    caption_key: str = PIAT_CAPTION_KEY,
    random_caption_keys: list[str] | None = None,
    random_truncate: bool = True,
    no_drop_keys=None,
) -> dict:
    """LAION / COYO rows of Adobe's image store: the target is `piat://<strImagehash>`.

    `piat://` is Adobe-internal; the reference is kept as is, so map it to your copy of the images
    with a stage path mapping, e.g. `path_mappings: {"piat://": "/data/laion/by-hash/"}` (and add
    nothing to `allowed_schemes`: the mapped path is a plain file). `random_truncate` and
    `no_drop_keys` are training-time options, accepted and left to the trainer."""
    caption = required_text(row, pick_caption_key(rng, caption_key, random_caption_keys))
    return {
        "task": "t2i",
        "conversations": turns(T2I_PROMPT.format(caption=caption), T2I_ANSWER),
        "image_gen": [PIAT_SCHEME + required_text(row, PIAT_HASH_COLUMN)],
        "gen_score": optional_score(row, SCORE_COLUMN),
        "hpsv2": optional_score(row, "hpsv2"),
    }


def _missing_reasons(columns: dict[str, pa.Array]) -> pa.Array:
    """Per row, `preprocess:missing_<name>` for the first null or blank column, else null."""
    reasons = pa.nulls(len(next(iter(columns.values()))), pa.string())
    for name, values in reversed(columns.items()):
        empty_or_space = pc.or_(pc.equal(pc.binary_length(values), 0), pc.utf8_is_space(values))
        blank = pc.fill_null(empty_or_space, True)  # no trimmed copy of every caption
        reasons = pc.if_else(blank, pa.scalar(f"preprocess:missing_{name}"), reasons)
    return reasons


def _two_turn_lists(human: pa.Array, gpt: pa.Array) -> pa.Array:
    """list<struct<from,value>> of [human, gpt] per row, built without Python loops."""
    n = len(human)
    values = pa.concat_arrays([_array(human).cast(pa.string()), _array(gpt).cast(pa.string())])
    pairs = np.empty(2 * n, dtype=np.int64)
    pairs[0::2], pairs[1::2] = np.arange(n), np.arange(n) + n
    roles = pa.array(["human", "gpt"], pa.string()).take(pa.array(np.tile([0, 1], n)))
    structs = pa.StructArray.from_arrays([roles, values.take(pa.array(pairs))], fields=list(TURN_TYPE))
    return pa.ListArray.from_arrays(pa.array(np.arange(0, 2 * n + 1, 2, dtype=np.int32)), structs)


def _array(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """One contiguous array (a ChunkedArray inside `pa.chunked_array([...])` would be converted
    element by element through Python)."""
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def _singleton_lists(values: pa.Array) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    return pa.ListArray.from_arrays(pa.array(np.arange(len(values) + 1, dtype=np.int32)), values)
