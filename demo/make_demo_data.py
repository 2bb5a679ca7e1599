"""Generate the bundled demo data: small parquet tables and tiny images in LaViDa-O's layouts.

Writes eight parquet tables under `demo/data/` and their images under `demo/images/`. Every image
reference is a private-bucket style URI `s3://lavida-demo/<rel>`, where `<rel>` is the file's path
below `demo/images/`; the stage YAMLs in `configs/demo/` map that prefix to the local folder, so
the demo runs offline. Values are fixed or drawn from seeded numpy generators, so running the
script twice gives byte-identical files (same pyarrow and Pillow versions). Re-run it with:

    python demo/make_demo_data.py

Tables (row counts; see demo/README.md for the columns):
    blip3o_journeydb (14)  T2I, `aes_cutoff: 5.67` + `min_size: 512` filters; row 8 has a NaN score
    blip3o_60k (12)        T2I with hpsv2; row 4's image is MISSING, row 7's image is CORRUPT
                           (40 random bytes); both have score > 5.0 so they survive the filters
    reflect_dit_images (8) T2I, all scores > 5
    laion_sample (10)      the readme's example-entry layout, values around 5.67 and 512
    mammoth_si (10)        understanding; rows 2 and 5 are text-only (image None), row 4 has an
                           image but no `<image>` token, row 1 is a 2-round (4-turn) conversation
    grand_flickr (6)       dense captions with `<box_p>` phrases and LOC boxes
    grounding_refcoco (6)  referring expressions with one LOC box each
    omni_edit_gpt (6)      edit pairs, 48x48 PNG, output = input with the instructed change

Metadata sizes (`intHeight`/`intWidth`) are the sizes the originals would have; the JPEGs keep that
aspect ratio but are at most 96 px per side. Grounding images are 64x64 squares, so a LOC
coordinate (0..1024 over the padded square frame) is 16 LOC units per pixel and the boxes in the
text match the shapes drawn.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image, ImageDraw

DEMO = Path(__file__).resolve().parent
DATA_DIR = DEMO / "data"
IMAGE_DIR = DEMO / "images"
URI_PREFIX = "s3://lavida-demo/"
MAX_SIDE, MIN_SIDE, JPEG_QUALITY = 96, 32, 80
GROUND_SIDE = 64  # grounding images are square: LOC / 16 = pixel
EDIT_SIDE = 48

COLOURS = {
    "red": (210, 40, 40),
    "green": (40, 160, 60),
    "blue": (40, 80, 210),
    "yellow": (235, 205, 40),
    "orange": (240, 140, 30),
    "purple": (130, 60, 170),
    "white": (245, 245, 245),
    "black": (15, 15, 15),
    "gray": (128, 128, 128),
    "brown": (120, 80, 40),
    "sky": (150, 200, 240),
    "sand": (225, 205, 160),
    "grass": (110, 170, 90),
    "cream": (240, 230, 210),
}

# The tables below are data, laid out compactly by hand; keep ruff format away from them.
# fmt: off

# --------------------------------------------------------------------------- text-to-image data
# Rows are (fltLaionAesthScore, intHeight, intWidth, caption); the row index is the file name.

# JOURNEYDB: scores <= 5.67 in rows 1, 3 (exactly 5.67), 6, 10, 12; NaN in row 8; a side < 512
# in rows 2, 9, 11; survivors of `aes_cutoff: 5.67` + `min_size: 512`: rows 0, 4, 5, 7, 13.
JOURNEYDB = [
    (6.12, 512, 768,
     "A lighthouse on a rocky cliff at sunset, with waves crashing below and seagulls circling."),
    (5.41, 1024, 1024,
     "A cozy reading nook with a wool blanket, a stack of old books and a cup of tea beside a "
     "rain-streaked window. Warm lamplight fills the room while the city glows softly outside."),
    (6.48, 1024, 448, "A red fox sitting in fresh snow under tall pine trees."),
    (5.67, 1536, 1024,
     "An astronaut tending a small vegetable garden inside a glass dome on the surface of Mars. "
     "The red desert stretches to the horizon. Earth hangs faintly in the pink sky."),
    (7.03, 768, 1344, "A bowl of ramen with a soft-boiled egg, sliced pork and green onions."),
    (5.90, 1024, 1024, "A steampunk airship drifting above a foggy Victorian city."),
    (4.88, 2048, 1152,
     "Portrait of an elderly fisherman with a white beard and a yellow raincoat."),
    (6.25, 896, 1536,
     "A watercolor painting of a quiet canal in Venice at dawn. Gondolas are tied to striped "
     "wooden poles, and the pastel buildings are reflected in the still green water."),
    (math.nan, 1024, 1024, "A tiny dragon curled up asleep on a pile of gold coins."),
    (5.72, 480, 640, "A neon-lit street market in the rain at night, crowded with food stalls."),
    (5.12, 1024, 2048, "A field of sunflowers under a dramatic thunderstorm sky."),
    (6.81, 384, 384,
     "An isometric illustration of a small island with a windmill, a red barn and a wooden dock. "
     "Sheep graze on the hills and a sailboat is moored by the shore."),
    (5.55, 1024, 768, "A glass chess set on a marble table, lit by a single window."),
    (6.04, 1152, 2048, "A snowy mountain village with lantern-lit cabins and a frozen lake."),
]

BLIP60K = [  # scores <= 5.0 (dropped by the implicit cutoff): rows 1, 5 (exactly 5.0), 8
    (5.83, 1024, 1024,
     "A golden retriever puppy wearing a blue bandana sits on a wooden porch, looking up at the "
     "camera with its head tilted."),
    (4.92, 1024, 768, "A minimalist poster of a single orange leaf floating on dark water."),
    (6.10, 1024, 1024,
     "A bustling bakery counter filled with croissants, baguettes and fruit tarts. A chalkboard "
     "menu hangs on the brick wall, and morning sunlight streams onto the tiled floor."),
    (5.35, 768, 1024, "Two hikers crossing a suspension bridge over a misty jungle river."),
    (6.44, 1024, 1024, "A vintage red bicycle leaning against a yellow wall covered in ivy."),
    (5.00, 512, 512, "A close-up of dew drops on a spider web at sunrise."),
    (5.71, 1024, 1024,
     "A futuristic train station with curved white platforms and a glass roof. Passengers with "
     "rolling suitcases walk beneath hanging plants while a silver train waits."),
    (6.02, 1024, 1024, "A stack of pancakes topped with blueberries and maple syrup."),
    (4.61, 1024, 1024, "A lone tree on a hill under a starry night sky."),
    (5.96, 1536, 1024, "A child flying a kite shaped like a fish on a windy beach."),
    (5.18, 1024, 1024,
     "An old library with spiral staircases, tall oak shelves and green reading lamps. Dust "
     "floats in the light from the arched windows, and a cat sleeps on an open atlas."),
    (6.27, 1024, 1024, "A ceramic teapot painted with blue flowers on a linen tablecloth."),
]
BLIP60K_HPSV2 = [0.291, 0.254, 0.312, 0.268, 0.301, 0.259, 0.287, 0.296, 0.251, 0.322, 0.274, 0.329]
BLIP60K_MISSING_ROW, BLIP60K_CORRUPT_ROW = 4, 7

REFLECT = [  # all scores > 5
    (5.42, 1024, 1024, "A photo of three red apples and one green pear on a white plate."),
    (6.18, 1024, 1024, "A blue cup to the left of a yellow book."),
    (5.07, 768, 1024, "A photo of a giraffe standing next to a small wooden house."),
    (6.73, 1024, 1024,
     "Two black cats sitting on a striped sofa, one of them wearing a tiny crown. Behind them a "
     "large window shows a snowy garden with a snowman holding a broom."),
    (5.88, 1024, 768, "A purple umbrella above a brown dog."),
    (5.26, 1024, 1024, "A photo of four wine glasses arranged in a square on a round table."),
    (6.01, 1024, 1024, "A green traffic light next to a stop sign on an empty road."),
    (5.63, 768, 1344,
     "A white horse and a brown cow grazing together in a meadow beside a river. Tall poplar "
     "trees line the far bank, and a red tractor is parked near a stone wall."),
]

LAION = [  # survivors of aes_cutoff 5.67 + min_size 512: rows 1, 5, 8
    (5.67, 768, 1024,
     "A bright living room with a gray sectional sofa, a jute rug and a floor lamp."),
    (5.91, 512, 512, "A close-up photo of a ripe strawberry on a white background."),
    (5.32, 1024, 1024,
     "A mountain lake surrounded by pine forest, with a wooden canoe pulled up on the pebbly "
     "shore. Low clouds hang over the peaks and the water reflects the dark trees."),
    (6.40, 511, 768, "A pair of brown leather boots on a wooden floor."),
    (5.66, 800, 600, "A black and white photograph of a city street in the rain."),
    (5.68, 512, 910, "A plate of spaghetti with tomato sauce and fresh basil leaves."),
    (7.12, 1200, 511,
     "A tall glass vase filled with pink tulips on a kitchen windowsill. Behind it, a blurred "
     "garden with a green lawn and a white picket fence is visible through the glass."),
    (4.95, 400, 300, "A cartoon drawing of a smiling sun wearing sunglasses."),
    (6.05, 1536, 1024, "An aerial view of a winding river through an autumn forest."),
    (5.80, 640, 480, "A handmade ceramic mug with a speckled cream glaze."),
]

# --------------------------------------------------------------------- understanding data (MAmmoTH)

CHARTS = {  # row -> bars as (label, colour, value 0..50)
    0: [("A", "blue", 18), ("B", "orange", 31), ("C", "green", 42), ("D", "purple", 25)],
    1: [("2019", "blue", 22), ("2020", "red", 35), ("2021", "green", 12), ("2022", "orange", 40)],
    6: [("North", "green", 30), ("South", "blue", 44), ("East", "red", 20)],
    8: [("Mon", "orange", 10), ("Tue", "orange", 26), ("Wed", "orange", 38), ("Thu", "orange", 17),
        ("Fri", "orange", 45)],
}
SHAPES = {  # row -> (shape, colour, background)
    3: ("circle", "red", "cream"), 4: ("square", "blue", "white"),
    7: ("triangle", "green", "sky"), 9: ("circle", "yellow", "gray"),
}
MAMMOTH_ROWS = [  # (image relative to the s3_prefix or None, [(human, gpt), ...])
    ("chartqa/000.jpg", [("<image>\nWhich category has the highest value in the bar chart?",
                          "Category C has the highest value, at about 42.")]),
    ("chartqa/001.jpg", [("<image>\nHow many bars are shown in the chart?", "There are four bars."),
                         ("Which year has the shortest bar, and what color is it?",
                          "The shortest bar is 2021, and it is green.")]),
    (None, [("What is the derivative of x^3 + 2x with respect to x?",
             "Using the power rule, the derivative is 3x^2 + 2.")]),
    ("ai2d/003.jpg", [("<image>\nWhat shape is drawn in the middle of the picture?",
                       "A red circle is drawn in the middle of the picture.")]),
    ("ai2d/004.jpg", [("What is the color of the square in this picture?",  # no <image> token
                       "The square is blue.")]),
    (None, [("Translate 'good morning, my friend' into French.", "Bonjour, mon ami.")]),
    ("chartqa/006.jpg", [("<image>\nWhat is the difference between the South and East values?",
                          "South is 44 and East is 20, so the difference is 24.")]),
    ("ai2d/007.jpg", [("<image>\nDescribe the image in one sentence.",
                       "A green triangle stands on a light blue background.")]),
    ("chartqa/008.jpg", [("<image>\nOn which day was the value the highest? Answer with one word.",
                          "Friday.")]),
    ("ai2d/009.jpg", [("<image>\nIs the shape in the image a circle or a square?",
                       "It is a circle, colored yellow on a gray background.")]),
]

# ------------------------------------------------------------------------------ grounding data

GRAND_ROWS = [  # (sentence with {0},{1}.. slots, [(phrase, colour, shape, LOC box x1,y1,x2,y2)])
    ("{0} is parked beside {1} on a quiet street.",
     [("A red car", "red", "rect", (96, 544, 576, 832)),
      ("a green tree", "green", "ellipse", (640, 128, 960, 800))]),
    ("{0} plays with {1} on {2}.",
     [("A brown dog", "brown", "ellipse", (160, 400, 512, 720)),
      ("a yellow ball", "yellow", "ellipse", (608, 592, 752, 736)),
      ("the green lawn", "grass", "rect", (0, 768, 1024, 1024))]),
    ("{0} stands in front of {1}.",
     [("A man in a blue shirt", "blue", "rect", (384, 256, 576, 960)),
      ("a white wall", "white", "rect", (0, 0, 1024, 640))]),
    ("{0} flies over {1} under {2}.",
     [("An orange kite", "orange", "ellipse", (448, 96, 640, 288)),
      ("the sandy beach", "sand", "rect", (0, 704, 1024, 1024)),
      ("a clear blue sky", "sky", "rect", (0, 0, 1024, 672))]),
    ("{0} is sitting on {1}.",
     [("A black cat", "black", "ellipse", (352, 224, 704, 544)),
      ("a purple cushion", "purple", "rect", (224, 512, 832, 768))]),
    ("Two people walk past {0} while {1} waits at the corner.",
     [("a gray building", "gray", "rect", (64, 64, 480, 960)),
      ("a yellow taxi", "yellow", "rect", (576, 640, 992, 864))]),
]
REFCOCO_ROWS = [  # (label, index of the referred object, [(colour, shape, LOC box)])
    ("the red ball on the left", 0, [("red", "ellipse", (64, 384, 320, 640)),
                                     ("red", "ellipse", (640, 384, 896, 640))]),
    ("blue box at the top", 1, [("green", "rect", (128, 640, 448, 960)),
                                ("blue", "rect", (416, 64, 736, 320))]),
    ("the smallest circle", 2, [("orange", "ellipse", (96, 96, 480, 480)),
                                ("orange", "ellipse", (512, 448, 928, 864)),
                                ("orange", "ellipse", (704, 96, 832, 224))]),
    ("green square right of the yellow one", 1, [("yellow", "rect", (128, 352, 384, 608)),
                                                 ("green", "rect", (576, 352, 832, 608))]),
    ("the tall purple bar", 0, [("purple", "rect", (448, 64, 576, 960)),
                                ("purple", "rect", (704, 640, 832, 960))]),
    ("white circle in the bottom right corner", 1, [("white", "ellipse", (96, 96, 352, 352)),
                                                    ("white", "ellipse", (672, 672, 960, 960))]),
]

# -------------------------------------------------------------------------------- editing data

EDIT_ROWS = [  # (instruction, background, [(colour, shape, pixel box)], edit)
    ("Change the color of the red square to blue.", "cream",
     [("red", "rect", (14, 14, 34, 34))], ("recolour", 0, "blue")),
    ("Add a yellow circle in the top left corner.", "sky",
     [("green", "rect", (24, 24, 42, 42))], ("add", "yellow", "ellipse", (3, 3, 17, 17))),
    ("Remove the green triangle from the picture.", "white",
     [("green", "triangle", (4, 10, 22, 30)), ("blue", "ellipse", (28, 14, 44, 30))],
     ("remove", 0)),
    ("Make the background black.", "white",
     [("orange", "ellipse", (12, 12, 36, 36))], ("background", "black")),
    ("Move the orange ball to the right side of the image.", "grass",
     [("orange", "ellipse", (4, 16, 20, 32))], ("move", 0, (28, 16, 44, 32))),
    ("Draw a white horizontal stripe across the middle.", "purple",
     [("yellow", "triangle", (14, 4, 34, 20))], ("add", "white", "rect", (0, 21, 47, 27))),
]

# fmt: on

T2I_SCHEMA = pa.schema(
    [
        ("s3_path", pa.string()),
        ("caption", pa.string()),
        ("fltLaionAesthScore", pa.float64()),
        ("intHeight", pa.int64()),
        ("intWidth", pa.int64()),
    ]
)


# -------------------------------------------------------------------------------------- helpers


def uri(rel: str) -> str:
    """The private-bucket URI of `demo/images/<rel>`."""
    return URI_PREFIX + rel


def image_path(rel: str) -> Path:
    path = IMAGE_DIR / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def save_jpeg(img: Image.Image, rel: str) -> None:
    img.save(image_path(rel), "JPEG", quality=JPEG_QUALITY)


def save_png(img: Image.Image, rel: str) -> None:
    img.save(image_path(rel), "PNG")


def write_table(name: str, rows: list[dict], schema: pa.Schema) -> None:
    """Write `rows` as demo/data/<name>.parquet with exactly `schema`'s columns (no index)."""
    table = pa.Table.from_pylist(rows, schema=schema)
    pq.write_table(table, DATA_DIR / f"{name}.parquet")


def thumb_size(height: int, width: int) -> tuple[int, int]:
    """(width, height) of the stored JPEG: the metadata aspect ratio, sides in [32, 96]."""
    scale = MAX_SIDE / max(height, width)
    return (max(MIN_SIDE, round(width * scale)), max(MIN_SIDE, round(height * scale)))


def draw_shape(draw: ImageDraw.ImageDraw, shape: str, box, colour: str) -> None:
    fill = COLOURS[colour]
    if shape == "ellipse" or shape == "circle":
        draw.ellipse(box, fill=fill)
    elif shape == "triangle":
        x1, y1, x2, y2 = box
        draw.polygon([((x1 + x2) / 2, y1), (x2, y2), (x1, y2)], fill=fill)
    else:
        draw.rectangle(box, fill=fill)


def scene(rng: np.random.Generator, size: tuple[int, int]) -> Image.Image:
    """A vertical two-colour gradient with light grain and one to three random shapes."""
    width, height = size
    top, bottom = rng.integers(0, 256, size=(2, 3))
    t = np.linspace(0.0, 1.0, height)[:, None, None]
    pixels = np.broadcast_to(top * (1 - t) + bottom * t, (height, width, 3))
    pixels = pixels + rng.normal(0.0, 4.0, (height, width, 3))
    img = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    for _ in range(int(rng.integers(1, 4))):
        x1, x2 = sorted(int(v) for v in rng.integers(0, width, 2))
        y1, y2 = sorted(int(v) for v in rng.integers(0, height, 2))
        fill = tuple(int(c) for c in rng.integers(0, 256, 3))
        box = (x1, y1, x2 + 6, y2 + 6)
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(box, fill=fill)
    return img


def canvas(side: int, background: str) -> Image.Image:
    return Image.new("RGB", (side, side), COLOURS[background])


def loc_string(box) -> str:
    """`<LOC_BEGIN><LOC_x1><LOC_y1><LOC_x2><LOC_y2><LOC_END>` for an xyxy box in [0, 1024]."""
    x1, y1, x2, y2 = box
    assert 0 <= x1 < x2 <= 1024 and 0 <= y1 < y2 <= 1024, box
    return "<LOC_BEGIN>" + "".join(f"<LOC_{v}>" for v in box) + "<LOC_END>"


def loc_to_pixels(box) -> tuple[int, int, int, int]:
    scale = GROUND_SIDE / 1024
    x1, y1, x2, y2 = (round(v * scale) for v in box)
    return (x1, y1, x2 - 1, y2 - 1)


def box_area(box) -> int:
    return (box[2] - box[0]) * (box[3] - box[1])


def grounding_image(objects, background: str = "cream") -> Image.Image:
    """A 64x64 picture with one shape per (colour, shape, LOC box), largest drawn first."""
    img = canvas(GROUND_SIDE, background)
    draw = ImageDraw.Draw(img)
    for colour, shape, box in sorted(objects, key=lambda obj: -box_area(obj[2])):
        draw_shape(draw, shape, loc_to_pixels(box), colour)
    return img


# --------------------------------------------------------------------------------------- tables


def t2i_rows(folder: str, seed: int, table, skip=()) -> list[dict]:
    """Rows of a T2I table; writes `t2i/<folder>/NNN.jpg` for every row index not in `skip`."""
    rng = np.random.default_rng(seed)
    rows = []
    for i, (score, height, width, caption) in enumerate(table):
        rel = f"t2i/{folder}/{i:03d}.jpg"
        img = scene(rng, thumb_size(height, width))  # drawn even when skipped: keeps rng in step
        if i not in skip:
            save_jpeg(img, rel)
        rows.append({"s3_path": uri(rel), "caption": caption, "fltLaionAesthScore": score,
                     "intHeight": height, "intWidth": width})  # fmt: skip
    return rows


def make_blip3o_journeydb() -> None:
    write_table("blip3o_journeydb", t2i_rows("journeydb", 1, JOURNEYDB), T2I_SCHEMA)


def make_blip3o_60k() -> None:
    """BLIP3o-60k with hpsv2; one image left unwritten, one replaced by 40 random bytes."""
    rows = t2i_rows("blip60k", 2, BLIP60K, skip=(BLIP60K_MISSING_ROW, BLIP60K_CORRUPT_ROW))
    corrupt = np.random.default_rng(20).bytes(40)
    image_path(f"t2i/blip60k/{BLIP60K_CORRUPT_ROW:03d}.jpg").write_bytes(corrupt)
    for row, hps in zip(rows, BLIP60K_HPSV2, strict=True):
        row["hpsv2"] = hps
    schema = T2I_SCHEMA.insert(3, pa.field("hpsv2", pa.float64()))
    write_table("blip3o_60k", rows, schema)


def make_reflect_dit_images() -> None:
    write_table("reflect_dit_images", t2i_rows("reflect", 3, REFLECT), T2I_SCHEMA)


def make_laion_sample() -> None:
    write_table("laion_sample", t2i_rows("laion", 4, LAION), T2I_SCHEMA)


def bar_chart(bars) -> Image.Image:
    """A 80x64 bar chart; bar heights are the values in pixels on a 50 px axis."""
    img = Image.new("RGB", (80, 64), COLOURS["white"])
    draw = ImageDraw.Draw(img)
    draw.line([(6, 4), (6, 57), (77, 57)], fill=COLOURS["black"])
    step = 70 // len(bars)
    for k, (_, colour, value) in enumerate(bars):
        x1 = 9 + k * step
        draw.rectangle((x1, 57 - value, x1 + step - 4, 56), fill=COLOURS[colour])
    return img


def mammoth_image(row: int) -> Image.Image:
    if row in CHARTS:
        return bar_chart(CHARTS[row])
    shape, colour, background = SHAPES[row]
    img = canvas(56, background)
    draw_shape(ImageDraw.Draw(img), shape, (14, 14, 41, 41), colour)
    return img


def llava_turns(pairs) -> str:
    """The JSON string of a LLaVA conversation built from (human, gpt) pairs."""
    turns = []
    for human, gpt in pairs:
        turns += [{"from": "human", "value": human}, {"from": "gpt", "value": gpt}]
    return json.dumps(turns, ensure_ascii=False)


def make_mammoth_si() -> None:
    rows = []
    for i, (rel, pairs) in enumerate(MAMMOTH_ROWS):
        if rel is not None:
            save_jpeg(mammoth_image(i), f"mammoth/{rel}")
        rows.append({"image": rel, "conversations": llava_turns(pairs)})
    schema = pa.schema([("image", pa.string()), ("conversations", pa.string())])
    write_table("mammoth_si", rows, schema)


def make_grand_flickr() -> None:
    rows = []
    for i, (sentence, phrases) in enumerate(GRAND_ROWS):
        rel = f"grand/{i:03d}.jpg"
        save_jpeg(grounding_image([(c, s, box) for _, c, s, box in phrases]), rel)
        slots = [f"<box_p> {p} </box_p>{loc_string(box)}" for p, _, _, box in phrases]
        rows.append({"s3_path": uri(rel), "loc_caption": sentence.format(*slots)})
    schema = pa.schema([("s3_path", pa.string()), ("loc_caption", pa.string())])
    write_table("grand_flickr", rows, schema)


def make_grounding_refcoco() -> None:
    rows = []
    for i, (label, target, objects) in enumerate(REFCOCO_ROWS):
        rel = f"refcoco/{i:03d}.jpg"
        save_jpeg(grounding_image(objects), rel)
        rows.append({"s3_path": uri(rel), "label": label, "loc_string": loc_string(objects[target][2])})
    schema = pa.schema([("s3_path", pa.string()), ("label", pa.string()), ("loc_string", pa.string())])
    write_table("grounding_refcoco", rows, schema)


def edit_pair(background: str, objects, edit) -> tuple[Image.Image, Image.Image]:
    """Draw the source picture, then the same picture with `edit` applied."""
    kind, *args = edit
    after = [list(obj) for obj in objects]
    out_background = background
    if kind == "recolour":
        after[args[0]][0] = args[1]
    elif kind == "add":
        after.append([args[0], args[1], args[2]])
    elif kind == "remove":
        del after[args[0]]
    elif kind == "move":
        after[args[0]][2] = args[1]
    elif kind == "background":
        out_background = args[0]
    return edit_image(background, objects), edit_image(out_background, after)


def edit_image(background: str, objects) -> Image.Image:
    img = canvas(EDIT_SIDE, background)
    draw = ImageDraw.Draw(img)
    for colour, shape, box in objects:
        draw_shape(draw, shape, box, colour)
    return img


def make_omni_edit_gpt() -> None:
    rows = []
    for i, (instruction, background, objects, edit) in enumerate(EDIT_ROWS):
        source, target = edit_pair(background, objects, edit)
        src_rel, tgt_rel = f"edit/input/{i:03d}.png", f"edit/output/{i:03d}.png"
        save_png(source, src_rel)
        save_png(target, tgt_rel)
        rows.append({"input_paths": uri(src_rel), "output_paths": uri(tgt_rel), "instruction": instruction})
    schema = pa.schema(
        [("input_paths", pa.string()), ("output_paths", pa.string()), ("instruction", pa.string())]
    )
    write_table("omni_edit_gpt", rows, schema)


def make_source_samples() -> None:
    """The per-source samples in their published layouts, under demo/sources/ (demo/source_samples.py)."""
    import source_samples  # demo/ is on sys.path when this file runs as a script

    source_samples.make_source_samples()


def main() -> None:
    for folder in (
        DATA_DIR,
        IMAGE_DIR,
    ):  # start clean so the deliberately missing image stays missing
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
    make_blip3o_journeydb()
    make_blip3o_60k()
    make_reflect_dit_images()
    make_laion_sample()
    make_mammoth_si()
    make_grand_flickr()
    make_grounding_refcoco()
    make_omni_edit_gpt()
    make_source_samples()
    make_task_samples()  # demo/data/ was emptied above: the task tables are made again too


def make_task_samples() -> None:
    """The per-task tables of demo/make_task_samples.py (they share demo/data/)."""
    import make_task_samples as task_samples

    task_samples.main()


if __name__ == "__main__":
    main()
