"""Generate tiny sample tables for every preprocess function that `make_demo_data.py` does not cover.

Writes `demo/data/task_*.{parquet,json}` and their images under `demo/task_images/`, in the
column layouts the functions read (LaViDa-O's private parquets, or the public GranD / GranD-f /
RefCOCO annotations; the GranD-f file is read by the `grand` builder). Values are fixed, images
are drawn shapes, so two runs give identical files (same pyarrow and Pillow versions).
`make_demo_data.py` empties `demo/data/`, so run this after it:

    python demo/make_demo_data.py && python demo/make_task_samples.py

Image references are `s3://lavida-demo/tasks/<rel>` (mapped to `demo/task_images/` by the demo
YAMLs) except the LAION/COYO sample, whose rows hold `strImagehash` values; the function turns
them into `piat://<hash>`, mapped to `demo/task_images/piat/`. Grounding images are deliberately
not square (64x32 and 32x64) so the LOC padding shows.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image, ImageDraw

from builders.rle import encode_counts

DEMO = Path(__file__).resolve().parent
DATA_DIR = DEMO / "data"
IMAGE_DIR = DEMO / "task_images"
URI = "s3://lavida-demo/tasks/"

# fmt: off
COLOURS = {"red": (210, 40, 40), "blue": (40, 80, 210), "green": (40, 160, 60), "yellow": (235, 205, 40),
           "cream": (240, 230, 210), "sky": (150, 200, 240), "gray": (128, 128, 128)}
# Grounding scenes: (file, size (w, h), background, [(phrase, colour, box xyxy)])
SCENES = [
    ("wide.png", (64, 32), "cream",
     [("a red square", "red", (8, 4, 24, 20)), ("a blue ball", "blue", (40, 8, 56, 28))]),
    ("tall.png", (32, 64), "sky",
     [("a green box", "green", (4, 8, 20, 24)), ("a yellow ball", "yellow", (8, 40, 28, 60))]),
]
PIAT_HASHES = ["3f9a0c21", "b7d2e410", "c0ffee99"]
LAION = [  # (hash, caption, fltLaionAesthScore, intHeight, intWidth)
    (PIAT_HASHES[0], "A red kite above a green field on a windy day.", 6.1, 768, 1024),
    (PIAT_HASHES[1], "A blue teapot on a wooden table next to two cups.", 5.9, 1024, 1024),
    (PIAT_HASHES[2], "A yellow taxi in the rain at night.", 4.8, 1024, 768),
]
# reflect-dit-grounded: caption, layout, negatives, reasons
PLAN = "<box_p> a red square </box_p><LOC_BEGIN><LOC_128><LOC_320><LOC_384><LOC_576><LOC_END>"
REFLECT = [
    ("a red square on the left of a blue ball",
     PLAN + " <box_p> a blue ball </box_p><LOC_BEGIN><LOC_640><LOC_384><LOC_896><LOC_704><LOC_END>",
     "neg/000.jpg;neg/001.jpg", "The ball is red, not blue.;The square is missing."),
    ("a green box above a yellow ball",
     "<box_p> a green box </box_p><LOC_BEGIN><LOC_320><LOC_128><LOC_576><LOC_384><LOC_END>",
     "neg/002.jpg", "There are two green boxes."),
]
EDIT_REASON = [  # instruction, grounding_text, edit_type
    ("Add a yellow ball on the right",
     "<box_p> a yellow ball </box_p><LOC_BEGIN><LOC_600><LOC_400><LOC_900><LOC_700><LOC_END>", "add"),
    ("Remove the red square",
     "<box_p> a red square </box_p><LOC_BEGIN><LOC_100><LOC_100><LOC_400><LOC_400><LOC_END>", None),
]
LONG_ANSWER = " ".join(["Step by step, the area is width times height."] * 20)  # 180 words
# fmt: on


def image_path(rel: str) -> Path:
    path = IMAGE_DIR / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def solid(
    size: tuple[int, int], colour: str, shape: str | None = None, shape_colour: str = "gray"
) -> Image.Image:
    img = Image.new("RGB", size, COLOURS[colour])
    if shape:
        draw = ImageDraw.Draw(img)
        w, h = size
        box = (w // 4, h // 4, 3 * w // 4, 3 * h // 4)
        (draw.ellipse if shape == "ball" else draw.rectangle)(box, fill=COLOURS[shape_colour])
    return img


def make_images() -> None:
    for name, size, background, objects in SCENES:
        img = Image.new("RGB", size, COLOURS[background])
        draw = ImageDraw.Draw(img)
        for phrase, colour, box in objects:
            box = (box[0], box[1], box[2] - 1, box[3] - 1)  # xyxy edges -> inclusive pixels
            (draw.ellipse if "ball" in phrase else draw.rectangle)(box, fill=COLOURS[colour])
        img.save(image_path(name), "PNG")
    for i, (colour, shape) in enumerate(
        [("cream", "square"), ("sky", "ball"), ("green", "ball"), ("cream", None)]
    ):
        solid((32, 32), colour, shape, "red").save(image_path(f"gen/{i:03d}.jpg"), "JPEG", quality=80)
    for i, colour in enumerate(["red", "gray", "green"]):
        solid((32, 32), colour, "square").save(image_path(f"neg/{i:03d}.jpg"), "JPEG", quality=80)
    for i, (background, shape) in enumerate([("cream", "square"), ("sky", "ball"), ("gray", "square")]):
        solid((48, 48), background).save(image_path(f"edit/src_{i:03d}.png"), "PNG")
        solid((48, 48), background, shape, "yellow").save(image_path(f"edit/tgt_{i:03d}.png"), "PNG")
    for i, digest in enumerate(PIAT_HASHES):  # a hash store: file name = hash, no extension
        solid((40, 30), ["sky", "cream", "yellow"][i], "ball").save(
            image_path(f"piat/{digest}"), "JPEG", quality=80
        )


def write_parquet(name: str, rows: list[dict], schema: pa.Schema) -> None:
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), DATA_DIR / f"{name}.parquet")


def write_json(name: str, records: list) -> None:
    """A JSON array, one record per line."""
    text = "[\n" + ",\n".join(json.dumps(r) for r in records) + "\n]\n"
    (DATA_DIR / name).write_text(text, encoding="utf-8")


def turns_struct() -> pa.DataType:
    return pa.list_(pa.struct([("from", pa.string()), ("value", pa.string())]))


def make_laion_piat() -> None:
    schema = pa.schema(
        [
            ("strImagehash", pa.string()),
            ("longLLA_captions", pa.string()),
            ("fltLaionAesthScore", pa.float64()),
            ("intHeight", pa.int64()),
            ("intWidth", pa.int64()),
        ]
    )
    rows = [dict(zip(schema.names, values)) for values in LAION]
    write_parquet("task_laion_piat", rows, schema)


def make_reflect_dit_grounded() -> None:
    schema = pa.schema(
        [
            ("s3_path", pa.string()),
            ("caption", pa.string()),
            ("grounding_text", pa.string()),
            ("negatives", pa.string()),
            ("negative_reasons", pa.string()),
            ("fltLaionAesthScore", pa.float64()),
        ]
    )
    rows = [
        {
            "s3_path": f"{URI}gen/{i:03d}.jpg",
            "caption": caption,
            "grounding_text": plan,
            "negatives": negatives,
            "negative_reasons": reasons,
            "fltLaionAesthScore": 6.0 + i / 4,
        }
        for i, (caption, plan, negatives, reasons) in enumerate(REFLECT)
    ]
    write_parquet("task_reflect_dit_grounded", rows, schema)


def make_layout_sam() -> None:
    schema = pa.schema(
        [
            ("caption", pa.string()),
            ("s3_path", pa.string()),
            ("cap_short", pa.string()),
            ("cap_detail", pa.string()),
        ]
    )
    rows = [
        {
            "caption": "a quiet room with a lamp",
            "s3_path": "gen/002.jpg",
            "cap_short": PLAN,
            "cap_detail": PLAN.replace("a red square", "a red square lamp shade with a thin metal stand"),
        },
        {"caption": "a ball on the floor", "s3_path": "gen/003.jpg", "cap_short": PLAN, "cap_detail": PLAN},
    ]
    write_parquet("task_layout_sam", rows, schema)


def make_vw_instruct() -> None:
    schema = pa.schema([("image", pa.list_(pa.string())), ("conversations", turns_struct())])
    rows = [
        {
            "image": ["wide.png"],
            "conversations": [
                {"from": "human", "value": "<image>\nHow many objects are in the picture?"},
                {"from": "gpt", "value": "There are two objects: a red square and a blue ball."},
            ],
        },
        {
            "image": ["tall.png"],
            "conversations": [
                {"from": "human", "value": "<image>\nThe green box is 3 m by 4 m. What is its area?"},
                {"from": "gpt", "value": LONG_ANSWER},
            ],
        },
        {
            "image": [],
            "conversations": [
                {"from": "human", "value": "What is 7 times 6?"},
                {"from": "gpt", "value": "42"},
            ],
        },
    ]
    write_parquet("task_vw_instruct", rows, schema)


def make_reflect_dit_und() -> None:
    schema = pa.schema([("image", pa.string()), ("prompts", pa.string()), ("results", pa.string())])
    rows = [
        {
            "image": "neg/000.jpg",
            "prompts": REFLECT[0][0],
            "results": "The ball is red, not blue. Score: 0.3",
        },
        {
            "image": "gen/000.jpg",
            "prompts": "a red square",
            "results": "The image matches the prompt. Score: 0.9",
        },
    ]
    write_parquet("task_reflect_dit_und", rows, schema)


def make_omniedit_reason() -> None:
    schema = pa.schema(
        [
            ("input_paths", pa.string()),
            ("output_paths", pa.string()),
            ("instruction", pa.string()),
            ("grounding_text", pa.string()),
            ("edit_type", pa.string()),
        ]
    )
    rows = [
        {
            "input_paths": f"{URI}edit/src_{i:03d}.png",
            "output_paths": f"{URI}edit/tgt_{i:03d}.png",
            "instruction": instruction,
            "grounding_text": plan,
            "edit_type": edit_type,
        }
        for i, (instruction, plan, edit_type) in enumerate(EDIT_REASON)
    ]
    write_parquet("task_omniedit_reason", rows, schema)


def make_edit_triplets() -> None:
    sharegpt = pa.schema(
        [("input_image", pa.list_(pa.string())), ("output_image", pa.string()), ("input_prompt", pa.string())]
    )
    write_parquet(
        "task_sharegpt4o_edit",
        [
            {
                "input_image": ["edit/src_002.png"],
                "output_image": "edit/tgt_002.png",
                "input_prompt": "Put a yellow square in the middle.",
            }
        ],
        sharegpt,
    )
    pica = pa.schema(
        [("local_input_image", pa.string()), ("local_output_image", pa.string()), ("text", pa.string())]
    )
    write_parquet(
        "task_pica_banana",
        [
            {
                "local_input_image": f"{URI}edit/src_001.png",
                "local_output_image": f"{URI}edit/tgt_001.png",
                "text": "Add a yellow ball.",
            }
        ],
        pica,
    )
    metaquery = pa.schema(
        [
            ("source_images_paths", pa.list_(pa.string())),
            ("tgt_path", pa.string()),
            ("dir_name", pa.string()),
            ("prompt", pa.string()),
        ]
    )
    write_parquet(
        "task_metaquery",
        [
            {
                "source_images_paths": ["src_000.png"],
                "tgt_path": "tgt_000.png",
                "dir_name": f"{URI}edit",
                "prompt": "Make the square yellow.",
            }
        ],
        metaquery,
    )
    uniworld = pa.schema(
        [
            ("image", pa.list_(pa.string())),
            ("image_gen", pa.list_(pa.string())),
            ("image_gen_enc", pa.list_(pa.string())),
            ("is_edit", pa.bool_()),
            ("conversations", turns_struct()),
        ]
    )
    write_parquet(
        "task_uniworld",
        [
            {
                "image": ["edit/src_001.png"],
                "image_gen": ["edit/tgt_001.png"],
                "image_gen_enc": ["edit/src_001.png"],
                "is_edit": True,
                "conversations": [
                    {"from": "human", "value": "<image> <image_gen_enc> Add a yellow ball."},
                    {"from": "gpt", "value": "<image_gen>"},
                ],
            },
            {
                "image": [],
                "image_gen": ["gen/001.jpg"],
                "image_gen_enc": [],
                "is_edit": False,
                "conversations": [
                    {"from": "human", "value": "Draw a gray ball on a blue sky."},
                    {"from": "gpt", "value": "<image_gen>"},
                ],
            },
        ],
        uniworld,
    )


def mask_rle(size: tuple[int, int], box, ball: bool, compressed: bool) -> dict:
    """COCO RLE of the shape drawn in `box` on a `size` (w, h) image: counts as a list, or as COCO's
    compressed string (as GranD-f publishes them)."""
    img = Image.new("L", size, 0)
    box = (box[0], box[1], box[2] - 1, box[3] - 1)
    (ImageDraw.Draw(img).ellipse if ball else ImageDraw.Draw(img).rectangle)(box, fill=1)
    flat = np.asarray(img, dtype=bool).flatten(order="F")
    edges = np.flatnonzero(np.diff(flat.astype(np.int8))) + 1
    counts = np.diff(np.concatenate([[0], edges, [flat.size]])).tolist()
    counts = ([0] if flat[0] else []) + counts
    return {"size": [size[1], size[0]], "counts": encode_counts(counts) if compressed else counts}


def make_grounding() -> None:
    records, refs = [], []
    for index, (name, size, _, objects) in enumerate(SCENES):
        caption = "An image with " + " and ".join(phrase for phrase, _, _ in objects) + "."
        groundings = {}
        for phrase, _, box in objects:
            start = caption.index(phrase)
            groundings[phrase] = {
                "token_positives": [start, start + len(phrase)],
                "rle_masks": [mask_rle(size, box, "ball" in phrase, compressed=index == 1)],
            }
            refs.append(
                {
                    "image": f"{URI}{name}",
                    "label": phrase.replace("a ", "the ", 1),
                    "bbox": [box[0], box[1], box[2] - box[0], box[3] - box[1]],
                    "width": size[0],
                    "height": size[1],
                }
            )
        records.append({"file_name": f"{URI}{name}", "caption": caption, "groundings": groundings})
    write_json("task_grandf_gcg.json", records)
    schema = pa.schema(
        [
            ("image", pa.string()),
            ("label", pa.string()),
            ("bbox", pa.list_(pa.float64())),
            ("width", pa.int64()),
            ("height", pa.int64()),
        ]
    )
    write_parquet("task_refcoco_boxes", refs, schema)


def main() -> None:
    shutil.rmtree(IMAGE_DIR, ignore_errors=True)
    IMAGE_DIR.mkdir(parents=True)
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    for old in DATA_DIR.glob("task_*"):
        old.unlink()
    make_images()
    make_laion_piat()
    make_reflect_dit_grounded()
    make_layout_sam()
    make_vw_instruct()
    make_reflect_dit_und()
    make_omniedit_reason()
    make_edit_triplets()
    make_grounding()


if __name__ == "__main__":
    main()
