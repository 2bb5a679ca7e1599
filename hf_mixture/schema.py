"""The unified row schema (../shared/spec/schema.md): the contract between builders and the rest.

Rows travel in two forms. While a stage is built, image columns hold *references* (strings, as
the source wrote them); the media stage turns them into encoded bytes. `REFERENCE_SCHEMA` is the
Arrow schema of the first form, `FEATURES` the `datasets` Features of the stored form.
"""

from __future__ import annotations

import re

import pyarrow as pa
from datasets import Features, Image, List, Value

TASKS = ("t2i", "edit", "understanding", "grounding", "planning", "reflection")
IMAGE_TOKEN = "<image>"
IMAGE_GEN_TOKEN = "<image_gen>"
IMAGE_GEN_ENC_TOKEN = "<image_gen_enc>"
MICRO_CONDITIONS = "[[micro_conds_texts]]"
# Row ids (schema.md): `<entry key>/<source row key>`, then `#<k>` for the k-th copy `dup:K` makes,
# then `~<k>` (k >= 1) for the k-th time the mix draws that row again (`all_exhausted`).
DUP_COPY_MARK, MIX_REPEAT_MARK = "#", "~"
_ID_SUFFIXES = re.compile(r"(#\d+)?(~\d+)?$")


def source_row_id(row_id: str) -> str:
    """The id of the source row behind `row_id` (`e/3#1~2` -> `e/3`): without its `dup:K` copy
    and mix repeat suffixes."""
    return _ID_SUFFIXES.sub("", row_id, count=1)


FEATURES = Features(
    {
        "id": Value("string"),
        "source": Value("string"),
        "task": Value("string"),
        "length_group": Value("string"),
        "conversations": List({"from": Value("string"), "value": Value("string")}),
        "images": List(Image()),
        "image_gen": List(Image()),
        "image_gen_enc": List(Value("int32")),
        "pad_image_gen": Value("bool"),
        "do_not_mask_text": Value("bool"),
        "reweight": Value("bool"),
        "gen_score": Value("float32"),
        "hpsv2": Value("float32"),
        "original_width": Value("int32"),
        "original_height": Value("int32"),
        "license": Value("string"),
    }
)

COLUMNS = list(FEATURES)
IMAGE_COLUMNS = ("images", "image_gen")
TURN_TYPE = pa.struct([("from", pa.string()), ("value", pa.string())])

REFERENCE_SCHEMA = pa.schema(
    [
        pa.field(name, pa.list_(pa.string()) if name in IMAGE_COLUMNS else typ)
        for name, typ in zip(FEATURES.arrow_schema.names, FEATURES.arrow_schema.types)
    ]
)

RECORD_DEFAULTS = {
    "images": [],
    "image_gen": [],
    "image_gen_enc": [],
    "pad_image_gen": False,
    "do_not_mask_text": False,
    "reweight": None,
    "gen_score": None,
    "hpsv2": None,
    "original_width": None,
    "original_height": None,
    "license": None,
}
