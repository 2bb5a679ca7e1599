"""Tiny samples of the public sources in the layouts they are published in, under `demo/sources/`.

Run through `python demo/make_demo_data.py` (which calls `make_source_samples()`). Each sample is a
few KB and holds the breakage the builders must handle (see demo/README.md, "Source samples").
Deterministic: seeded images, fixed tar headers (mtime 0, uid 0) and gzip headers (mtime 0).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import shutil
import tarfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image, ImageDraw

DEMO = Path(__file__).resolve().parent
SOURCES = DEMO / "sources"
SIDE = 40


# --------------------------------------------------------------------------------------- helpers


def picture(seed: int, size: tuple[int, int] = (SIDE, SIDE)) -> Image.Image:
    """A small seeded picture: a flat background and one coloured rectangle."""
    rng = np.random.default_rng(seed)
    img = Image.new("RGB", size, tuple(int(c) for c in rng.integers(0, 256, 3)))
    w, h = size
    x1, y1 = int(rng.integers(0, w // 2)), int(rng.integers(0, h // 2))
    ImageDraw.Draw(img).rectangle(
        (x1, y1, x1 + w // 3, y1 + h // 3), fill=tuple(int(c) for c in rng.integers(0, 256, 3))
    )
    return img


def encoded(img: Image.Image, fmt: str = "JPEG") -> bytes:
    buffer = io.BytesIO()
    img.save(buffer, fmt, **({"quality": 80} if fmt == "JPEG" else {}))
    return buffer.getvalue()


def write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return path


def write_json(path: Path, value) -> Path:
    return write(path, json.dumps(value, ensure_ascii=False, indent=1) + "\n")


def write_jsonl(path: Path, records: list[dict]) -> Path:
    return write(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))


def tar_bytes(members: list[tuple[str, bytes]]) -> bytes:
    """A tar of `(name, data)` members with fixed headers (same bytes on every run)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def tar_gz_bytes(members: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0) as gz:
        gz.write(tar_bytes(members))
    return buffer.getvalue()


# ------------------------------------------------------------------------------------- sources


def make_laion() -> None:
    """Both LAION spellings as parquet (URLs only) and one img2dataset shard."""
    base = SOURCES / "laion"
    base.mkdir(parents=True, exist_ok=True)
    original = pa.table(
        {  # laion2B-en-joined / aesthetics spelling; float sizes; AESTHETIC_SCORE
            "URL": [f"https://images.example.com/laion/{i}.jpg" for i in range(5)],
            "TEXT": [
                "A red bicycle against a wall",
                "Herd of cows on alpine pasture",
                "Logo of a bank",
                "A bowl of ramen",
                "Sunset over a harbour",
            ],
            "WIDTH": pa.array([1300.0, 1024.0, 400.0, 768.0, 2048.0], pa.float64()),
            "HEIGHT": pa.array([866.0, 1024.0, 300.0, 1024.0, 1365.0], pa.float64()),
            "similarity": [0.34, 0.31, 0.29, 0.33, 0.36],
            "hash": pa.array([4811837524432161063, -12, 77, 901, 5], pa.int64()),
            "punsafe": pa.array([0.001, 0.02, 0.1, 0.97, 0.03], pa.float32()),  # row 3 unsafe
            "pwatermark": pa.array([0.71, 0.05, 0.93, 0.1, 0.2], pa.float32()),  # row 2 watermarked
            "AESTHETIC_SCORE": [6.1, 5.4, 4.2, 5.9, 6.6],
        }
    )
    pq.write_table(original, base / "part-00000-5114fd87-demo-c000.snappy.parquet", compression="snappy")
    relaion = pa.table(
        {  # Re-LAION lowercase spelling, int sizes, aesthetic
            "url": [f"https://images.example.com/relaion/{i}.jpg" for i in range(3)],
            "caption": ["A lighthouse at dusk", "Two cats on a sofa", "Mountain lake"],
            "width": pa.array([1024, 640, 1920], pa.int32()),
            "height": pa.array([768, 480, 1080], pa.int32()),
            "punsafe": pa.array([0.01, 0.2, 0.6], pa.float32()),
            "pwatermark": pa.array([0.1, 0.85, 0.2], pa.float32()),
            "aesthetic": [5.8, 6.2, 5.1],
        }
    )
    pq.write_table(relaion, base / "relaion2B-en-research-safe-part-00000.parquet")
    members = []
    for i, (caption, punsafe) in enumerate(
        [("A wooden boat on a shore", 0.01), ("A cat asleep", 0.02), ("An unsafe sample", 0.91)]
    ):
        key = f"00000{i:04d}"
        meta = {
            "url": f"https://images.example.com/shard/{i}.jpg",
            "caption": caption,
            "key": key,
            "status": "success",
            "error_message": None,
            "width": SIDE,
            "height": SIDE,
            "original_width": 1024,
            "original_height": 768,
            "exif": "{}",
            "sha256": "0" * 64,
            "similarity": 0.3,
            "punsafe": punsafe,
            "pwatermark": 0.1,
            "hash": 1000 + i,
        }
        members += [
            (f"{key}.jpg", encoded(picture(100 + i))),
            (f"{key}.txt", caption.encode()),
            (f"{key}.json", json.dumps(meta).encode()),
        ]
    write(base / "shards" / "00000.tar", tar_bytes(members))


def make_coyo() -> None:
    """Five COYO-700M rows with the 17 published columns; HTML entities in `text`."""
    texts = [
        "A Pomsky dog sitting and smiling in field of orange flowers",
        "Happy valentine&amp;#39;s day card",
        "Tom &amp; Jerry mug",
        "Caf&eacute; at night &gt; day",
        "Plain caption",
    ]
    table = pa.table(
        {
            "id": pa.array(
                [841814333321, 841814333322, 841814333323, 841814333324, 841814333325], pa.int64()
            ),
            "url": [f"https://images.example.com/coyo/{i}.jpg" for i in range(5)],
            "text": texts,
            "width": pa.array([1000, 512, 640, 800, 300], pa.int32()),
            "height": pa.array([988, 512, 480, 600, 200], pa.int32()),
            "image_phash": ["c9b6a7d8469c1959", "a1", "b2", "c3", "d4"],
            "text_length": pa.array([len(t) for t in texts], pa.int32()),
            "word_count": pa.array([len(t.split()) for t in texts], pa.int32()),
            "num_tokens_bert": pa.array([13, 8, 6, 9, 3], pa.int32()),
            "num_tokens_gpt": pa.array([12, 8, 6, 9, 2], pa.int32()),
            "num_faces": pa.array([0, 1, 0, 2, 0], pa.int32()),
            "clip_similarity_vitb32": pa.array([0.4296875, 0.3, 0.31, 0.28, 0.25], pa.float32()),
            "clip_similarity_vitl14": pa.array([0.35205078125, 0.29, 0.3, 0.27, 0.24], pa.float32()),
            "nsfw_score_opennsfw2": pa.array([0.0003, 0.01, 0.2, 0.45, 0.02], pa.float32()),
            "nsfw_score_gantman": pa.array([0.033, 0.02, 0.1, 0.3, 0.01], pa.float32()),
            "watermark_score": pa.array([0.101, 0.05, 0.9, 0.2, 0.3], pa.float32()),
            "aesthetic_score_laion_v2": pa.array([5.435, 4.9, 5.1, 6.0, 4.2], pa.float32()),
        }
    )
    path = SOURCES / "coyo" / "data" / "part-00000-17da4908-939c-46e5-91d0-15f256041956-c000.snappy.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, compression="snappy")


BLIP_CAPTIONS = [
    "A weathered wooden fishing boat rests on a pebbled shore under an overcast sky.",
    "A golden retriever puppy wearing a blue bandana on a porch.",
    "A futuristic train station with curved white platforms.",
    "A ceramic teapot painted with blue flowers on a linen tablecloth.",
    "A snowy mountain village with lantern-lit cabins.",
]


def make_blip3o() -> None:
    """Two BLIP3o-60k style shards of `{key}.jpg` + `{key}.txt`; the second's last sample has
    no image member."""
    base = SOURCES / "blip3o" / "BLIP3o-60k"
    first = [(f"sa_000000_{i:08d}", BLIP_CAPTIONS[i]) for i in range(3)]
    members = []
    for i, (key, caption) in enumerate(first):
        members += [(f"{key}.jpg", encoded(picture(200 + i))), (f"{key}.txt", caption.encode())]
    write(base / "00000.tar", tar_bytes(members))
    members = [
        ("sa_000001_00000000.jpg", encoded(picture(210))),
        ("sa_000001_00000000.txt", BLIP_CAPTIONS[3].encode()),
        ("sa_000001_00000001.txt", BLIP_CAPTIONS[4].encode()),
    ]
    write(base / "00001.tar", tar_bytes(members))


def make_reflect_dit() -> None:
    """The self-correction CSV (lists joined by `XXX`), its images, and the VLM JSON."""
    base = SOURCES / "reflect_dit"
    folder = "data/dit/gen_eval_sana_train"
    for i in range(6):
        write(base / folder / f"{i:05d}.jpg", encoded(picture(300 + i)))
    rows = [
        (
            "a photo of a red apple and a green pear",
            [0],
            [1, 2],
            ["the pear is missing", "the apple is blue"],
        ),
        ("a blue cup to the left of a yellow book", [3], [4], ["the cup is on the right"]),
        ("a photo of four wine glasses", [5], [1, 2], ["only three glasses"]),  # 2 negatives, 1 reason
    ]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["prompt", "positive_filename", "negative_filename", "negative_reason"])
    for prompt, pos, neg, reasons in rows:
        writer.writerow(
            [
                prompt,
                "XXX".join(f"{folder}/{i:05d}.jpg" for i in pos),
                "XXX".join(f"{folder}/{i:05d}.jpg" for i in neg),
                "XXX".join(reasons),
            ]
        )
    write(base / "data" / "dit" / "object_self_correct_cleaned.csv", out.getvalue())
    write_json(
        base / "data" / "vlm" / "vllm.json",
        [
            {
                "id": 0,
                "image": "00001.jpg",
                "conversations": [
                    {
                        "from": "human",
                        "value": "<image>\nPlease evaluate this generated image based on the following "
                        "prompt: a photo of a red apple and a green pear",
                    },
                    {"from": "gpt", "value": "The pear is missing."},
                ],
            },
            {
                "id": 1,
                "image": "00004.jpg",
                "conversations": [
                    {
                        "from": "human",
                        "value": "<image>\nDoes the image match: a blue cup left of a yellow book?",
                    },
                    {"from": "gpt", "value": "No, the cup is on the right."},
                ],
            },
        ],
    )


def make_sharegpt4o() -> None:
    """Both ShareGPT-4o-Image JSON arrays; one edit record's output file is missing."""
    base = SOURCES / "sharegpt4o"
    t2i = []
    for i, prompt in enumerate(
        [
            "A cozy reading nook by a rain-streaked window, watercolor style.",
            "A lighthouse made of glass at sunset.",
        ]
    ):
        write(base / "text_to_image" / f"{i:05d}.png", encoded(picture(400 + i), "PNG"))
        t2i.append({"input_prompt": prompt, "output_image": f"text_to_image/{i:05d}.png"})
    write_json(base / "text_to_image.json", t2i)
    edits = []
    for i, prompt in enumerate(
        [
            "Change the season to winter and add snow on the roof.",
            "Make the sky purple.",
            "Remove the red box.",
        ]
    ):
        write(base / "text_and_image_to_image" / "input" / f"{i:05d}.png", encoded(picture(410 + i), "PNG"))
        if i != 2:  # the dataset's issue #1: some edit files are absent
            write(
                base / "text_and_image_to_image" / "output" / f"{i:05d}.png", encoded(picture(420 + i), "PNG")
            )
        edits.append(
            {
                "input_prompt": prompt,
                "input_image": [f"text_and_image_to_image/input/{i:05d}.png"],
                "output_image": f"text_and_image_to_image/output/{i:05d}.png",
            }
        )
    write_json(base / "text_and_image_to_image.json", edits)


def make_echo4o() -> None:
    """Echo-4o-Image: a Surrel-Fantasy subset (two range-named tar.gz shards) and a
    multi-reference subset (one tar.gz per category; `sence` sic)."""
    base = SOURCES / "echo4o" / "Echo-4o-Image"
    surreal = base / "Surrel-Fantasy-Image"
    keys = {"0-5000.tar.gz": ["00000", "00001"], "5000-10000.tar.gz": ["05000"]}
    for archive, names in keys.items():
        members = [(f"{k}.jpg", encoded(picture(500 + int(k) % 97))) for k in names]
        write(surreal / "images" / archive, tar_gz_bytes(members))
    prompts = [
        "A giraffe made entirely of stained glass grazing in a neon-lit desert at dusk.",
        "A teapot pouring a waterfall into a tiny lake.",
        "A whale swimming through clouds above a city.",
        "A clock melting over a cactus.",
    ]
    write_jsonl(
        surreal / "conflict.jsonl",
        [
            {
                "task_type": "t2i",
                "instruction": p,
                "output_image": f"/Echo-4o-Image/Surrel-Fantasy-Image/images/{k}.jpg",
                "type": "T1",
            }
            for p, k in zip(prompts, ["00000", "00001", "05000", "09999"])
        ],
    )  # 09999: not in the shard
    multi = base / "Multi-Reference-Image"
    for category, count in (("human", 2), ("object", 2), ("sence", 1)):
        members = [(f"{i:05d}.jpg", encoded(picture(600 + 10 * len(category) + i))) for i in range(count)]
        write(multi / "multi_refer_images_input" / category / f"{category}.tar.gz", tar_gz_bytes(members))
    write(
        multi / "multi_refer_images_output" / "hum_obj" / "hum_obj.tar.gz",
        tar_gz_bytes([(f"{i:05d}.jpg", encoded(picture(650 + i))) for i in range(2)]),
    )
    prefix = "/Echo-4o-Image/Multi-Reference-Image"
    write_jsonl(
        multi / "hum_obj.jsonl",
        [
            {
                "task_type": "multi_ref",
                "instruction": f"Place the person from image 1 next to the object from image 2 ({i}).",
                "input_images": [
                    f"{prefix}/multi_refer_images_input/human/{i:05d}.jpg",
                    f"{prefix}/multi_refer_images_input/object/{i:05d}.jpg",
                ],
                "output_image": f"{prefix}/multi_refer_images_output/hum_obj/{i:05d}.jpg",
            }
            for i in range(2)
        ],
    )


def make_gpt_image_edit() -> None:
    """One hqedit/edit task folder with its metadata JSON, and the training-JSON form."""
    base = SOURCES / "gpt_image_edit"
    task = base / "gpt-edit" / "hqedit" / "edit"
    records = []
    for i, instruction in enumerate(["Turn the daytime sky into a starry night.", "Make the boat red."]):
        ident = f"{70858 + i:08d}"
        write(task / "input" / f"{ident}.png", encoded(picture(700 + i), "PNG"))
        write(task / "output" / f"{ident}.png", encoded(picture(710 + i), "PNG"))
        records.append(
            {
                "id": f"hqedit_edit_{ident}",
                "dataset_source": "hqedit",
                "task": "edit",
                "input": f"input/{ident}.png",
                "output": f"output/{ident}.png",
                "instruction": instruction,
                "instruction_type": "original",
                "input_description": "A lighthouse on a rocky coast.",
            }
        )
    write_json(task / "metadata" / "hqedit_edit.json", records)
    write_json(
        base / "training_json" / "hqedit_gpt_edit.json",
        [
            {
                "image": [f"hqedit/edit/{r['input']}", f"hqedit/edit/{r['output']}"],
                "conversations": [
                    {"from": "human", "value": f"<image>\n{r['instruction']}"},
                    {"from": "gpt", "value": "<gen_image>"},
                ],
            }
            for r in records
        ],
    )


def make_mammoth() -> None:
    """A MAmmoTH-VL JSON array: int and str ids, text-only, multi-image, video, an answer quoting
    `<image>`, an empty turn pair."""
    base = SOURCES / "mammoth"
    for rel, seed in (
        ("chartqa/train/png/multi_col_1.png", 800),
        ("ureader_ocr/0001.jpg", 801),
        ("M4-Instruct-Data/a.jpg", 802),
        ("M4-Instruct-Data/b.jpg", 803),
    ):
        write(
            base / "single_image_data" / rel,
            encoded(picture(seed), "PNG" if rel.endswith(".png") else "JPEG"),
        )

    def turns(*pairs):
        return [t for h, g in pairs for t in ({"from": "human", "value": h}, {"from": "gpt", "value": g})]

    write_json(
        base / "mammoth_si_10M.json",
        [
            {
                "id": "chartqa_12345",
                "source": "chartqa",
                "image": "chartqa/train/png/multi_col_1.png",
                "conversations": turns(
                    (
                        "<image>\nWhat is the difference between the highest and lowest bar?",
                        "The highest is 42 and the lowest 17, so 25.",
                    )
                ),
            },
            {
                "id": 98765,
                "source": "ureader_ocr",
                "image": "ureader_ocr/0001.jpg",
                "conversations": turns(("What does the sign say?\n<image>", "It says OPEN."), ("", "")),
            },
            {"id": "text_1", "source": "math", "conversations": turns(("What is 3 + 4?", "7"))},
            {
                "id": "multi_1",
                "source": "M4",
                "image": ["M4-Instruct-Data/a.jpg", "M4-Instruct-Data/b.jpg"],
                "conversations": turns(("<image>\n<image>\nWhich image is brighter?", "The first one.")),
            },
            {
                "id": "video_1",
                "source": "video",
                "video": "clips/1.mp4",
                "conversations": turns(("<image>\nWhat happens?", "A dog runs.")),
            },
            {
                "id": "quote_1",
                "source": "docvqa",
                "image": "ureader_ocr/0001.jpg",
                "conversations": turns(
                    ("<image>\nHow do I add a picture in LLaVA?", "Write <image> in the prompt.")
                ),
            },
        ],
    )


def make_grand() -> None:
    """Two GranD per-image JSON files and a GranD-f annotation file with RLE masks."""
    from builders.rle import encode_counts, mask_runs

    base = SOURCES / "grand"
    for name, seed in (("sa_000001.jpg", 900), ("sa_000002.jpg", 901)):
        write(base / "images" / name, encoded(picture(seed, (60, 40))))
    chair = {
        "size": [40, 60],
        "counts": encode_counts(
            mask_runs([[1 if 10 <= x < 31 and 8 <= y < 20 else 0 for x in range(60)] for y in range(40)])
        ),
    }
    write_json(
        base / "annotations" / "sa_000001.json",
        {
            "sa_000001.jpg": {
                "objects": [
                    {
                        "id": 16,
                        "bbox": [10.0, 8.0, 30.5, 20.0],
                        "labels": ["chair"],
                        "score": 0.87,
                        "attributes": ["Assistant: the chair is red"],
                        "segmentation": chair,
                        "segmentation_source": "SAM",
                    }
                ],
                "floating_objects": [
                    {
                        "id": 132,
                        "bbox": [0.0, 0.0, 12.0, 9.0],
                        "labels": ["crossbar"],
                        "score": 0.76,
                        "attributes": None,
                    }
                ],
                "short_captions": [
                    {
                        "caption": "a red chair on a street",
                        "details": [
                            {
                                "phrase": "a red chair",
                                "tokens_positive": [0, 11],
                                "id": 16,
                                "bbox": [10.0, 8.0, 30.5, 20.0],
                            }
                        ],
                    }
                ],
                "dense_caption": {
                    "caption": "The image shows a red chair and a crossbar",
                    "details": [
                        {
                            "phrase": "a red chair",
                            "tokens_positive": [16, 27],
                            "ids": [16],
                            "bbox": [[10.0, 8.0, 30.5, 20.0]],
                        },
                        {
                            "phrase": "a crossbar",
                            "tokens_positive": None,
                            "ids": [132],
                            "bbox": [0.0, 0.0, 12.0, 9.0],
                        },
                    ],
                },
                "additional_context": "Outdoor cafe seating suggests a tourist area.",
            }
        },
    )
    write_json(
        base / "annotations" / "sa_000002.json",
        {
            "sa_000002.jpg": {
                "objects": [],
                "short_captions": [],
                "dense_caption": {"caption": "An empty street", "details": []},
            }
        },
    )
    mask = [[1 if 5 <= x < 15 and 2 <= y < 6 else 0 for x in range(20)] for y in range(10)]
    rle = {"size": [10, 20], "counts": encode_counts(mask_runs(mask))}
    write(base / "images" / "gf_0001.jpg", encoded(picture(902, (20, 10))))
    write_json(
        base / "GranDf" / "annotations" / "train" / "GranDf_HA_GCG_train.json",
        [
            {
                "file_name": "gf_0001.jpg",
                "caption": "A small box lies on the table.",
                "groundings": {"A small box": {"token_positives": [0, 11], "rle_masks": [rle]}},
            }
        ],
    )


def make_visualwebinstruct() -> None:
    """VisualWebInstruct conversation JSONL: image lists, text-only rows (absent and null image)."""
    base = SOURCES / "visualwebinstruct"
    write(base / "imgs" / "visualwebinstruct" / "3f2a9c.png", encoded(picture(950), "PNG"))
    write_jsonl(
        base / "visualwebinstruct_conversation.jsonl",
        [
            {
                "image": ["visualwebinstruct/3f2a9c.png"],
                "conversations": [
                    {
                        "from": "human",
                        "value": "<image>\nIn the circuit shown, find the current through the 4 ohm "
                        "resistor.",
                    },
                    {"from": "gpt", "value": "Using Kirchhoff's laws the current is 1.5 A."},
                ],
            },
            {
                "conversations": [
                    {"from": "human", "value": "What is the derivative of sin(x)?"},
                    {"from": "gpt", "value": "cos(x)"},
                ]
            },
            {
                "image": None,
                "conversations": [
                    {"from": "human", "value": "Define inflation."},
                    {"from": "gpt", "value": "A general rise in prices."},
                ],
            },
        ],
    )


def make_llava_user() -> None:
    """A user's own LLaVA-style JSON (the second seed): `image` a string with `width`/`height` and no
    `<image>` token; and a two-image record with `<image><image>` and an `images` list."""
    base = SOURCES / "llava_user"
    write(base / "images" / "000443568.jpg", encoded(picture(1001)))
    write(base / "images" / "pair_a.jpg", encoded(picture(1002)))
    write(base / "images" / "pair_b.jpg", encoded(picture(1003)))
    single = {
        "image": "000443568.jpg",
        "width": 700,
        "height": 700,
        "conversations": [
            {"from": "human", "value": "Write a detailed description of this image..."},
            {"from": "gpt", "value": "The image is of a pair of silver earrings..."},
        ],
    }
    pair = {
        "conversations": [
            {"from": "human", "value": "<image><image>Compare these two images."},
            {"from": "gpt", "value": "Both images show different aspects..."},
        ],
        "images": ["pair_a.jpg", "pair_b.jpg"],
    }
    write_json(base / "data.json", [single, pair])


def make_llamafactory() -> None:
    """A LLaMA-Factory dataset folder: `dataset_info.json` naming an OpenAI-style ShareGPT file
    (`messages` with `role`/`content`), images relative to the folder (its default `media_dir`)."""
    base = SOURCES / "llamafactory"
    write(base / "images" / "cat.jpg", encoded(picture(1004)))
    write_json(
        base / "dataset_info.json",
        {
            "my_vlm_dataset": {
                "file_name": "data.json",
                "formatting": "sharegpt",
                "columns": {"messages": "messages", "images": "images"},
                "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user",
                         "assistant_tag": "assistant", "system_tag": "system"},
            }
        },
    )  # fmt: skip
    messages = [
        {"role": "system", "content": "You describe images briefly."},
        {"role": "user", "content": "<image>What is in the picture?"},
        {"role": "assistant", "content": "A coloured test pattern."},
    ]
    write_json(base / "data.json", [{"messages": messages, "images": ["images/cat.jpg"]}])


def make_source_samples() -> None:
    """Write every source sample under demo/sources/ (from scratch)."""
    shutil.rmtree(SOURCES, ignore_errors=True)
    for make in (
        make_laion,
        make_coyo,
        make_blip3o,
        make_reflect_dit,
        make_sharegpt4o,
        make_echo4o,
        make_gpt_image_edit,
        make_mammoth,
        make_grand,
        make_visualwebinstruct,
        make_llava_user,
        make_llamafactory,
    ):
        make()
