"""COCO run-length masks (as GranD / GranD-f store them): decode counts, get the box, encode.

A mask `{"size": [h, w], "counts": ...}` lists alternating runs of 0s and 1s over the pixels in
column-major order, starting with 0s. `counts` is a list of ints (uncompressed) or COCO's compact
string (each run as 5-bit groups offset by 48, runs after the second stored as differences).
The same algorithms as pycocotools' maskApi.c (`rleFrString`, `rleToString`, `rleToBbox`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def decode_counts(counts: str | bytes | Sequence[int]) -> list[int]:
    """Run lengths from a COCO counts string (or a list, returned as is)."""
    if not isinstance(counts, (str, bytes)):
        return [int(c) for c in counts]
    text = counts.decode("ascii") if isinstance(counts, bytes) else counts
    runs: list[int] = []
    p = 0
    while p < len(text):
        x, k, more = 0, 0, True
        while more:
            c = ord(text[p]) - 48
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p, k = p + 1, k + 1
            if not more and c & 0x10:
                x |= -1 << (5 * k)
        if len(runs) > 2:
            x += runs[-2]
        runs.append(x)
    return runs


def encode_counts(runs: Sequence[int]) -> str:
    """The COCO counts string of run lengths `runs`."""
    chars = []
    for i, run in enumerate(runs):
        x = run - runs[i - 2] if i > 2 else run
        more = True
        while more:
            c = x & 0x1F
            x >>= 5
            more = x != -1 if c & 0x10 else x != 0
            if more:
                c |= 0x20
            chars.append(chr(c + 48))
    return "".join(chars)


def rle_box(rle: Mapping) -> list[float] | None:
    """The xyxy pixel box (x2, y2 exclusive) of a mask, None for an empty or malformed mask."""
    try:
        height, width = (int(v) for v in rle["size"])
        runs = decode_counts(rle["counts"])
    except (KeyError, TypeError, ValueError):
        return None
    m = (len(runs) // 2) * 2
    if m == 0 or height <= 0:
        return None
    xs, ys, xe, ye, cc, xp = width, height, 0, 0, 0, 0
    for j in range(m):
        cc += runs[j]
        t = cc - j % 2
        y, x = t % height, t // height
        if j % 2 == 0:
            xp = x
        elif xp < x:
            ys, ye = 0, height - 1
        xs, xe, ys, ye = min(xs, x), max(xe, x), min(ys, y), max(ye, y)
    if xe < xs or ye < ys:
        return None
    return [float(xs), float(ys), float(xe + 1), float(ye + 1)]


def mask_runs(rows: Sequence[Sequence[int]]) -> list[int]:
    """Run lengths (column-major, starting with 0s) of a 0/1 mask given as rows."""
    height, width = len(rows), len(rows[0]) if rows else 0
    runs, current, length = [], 0, 0
    for x in range(width):
        for y in range(height):
            value = 1 if rows[y][x] else 0
            if value != current:
                runs.append(length)
                current, length = value, 0
            length += 1
    runs.append(length)
    return runs
