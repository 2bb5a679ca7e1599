"""Bad media: HTTP failures from the local server, broken and awkward image files. Each image is
dropped (or normalised) with its own reason code and the build goes on."""

from __future__ import annotations

import io
import json
import socket
import struct
import time
import zlib

import numpy as np
import pytest
from factories import jpeg_bytes, write_parquet, write_stage
from PIL import Image

from hf_mixture.media.http_policy import HttpPolicy, MediaBudget, http_get
from hf_mixture.media.images import MediaError, check_image
from hf_mixture.media.normalise import MAX_PIXELS

FAST = HttpPolicy(timeout=2.0, retries=2, backoff=0.01, max_backoff=0.05)


def _reason(call) -> str:
    with pytest.raises(MediaError) as raised:
        call()
    return raised.value.reason


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


# ------------------------------------------------------------------------------------- HTTP


def test_404_is_not_retried(http_server):
    assert _reason(lambda: http_get(http_server.url_for("status/404/a.jpg"), FAST, MediaBudget())) == (
        "media:http_404"
    )
    assert http_server.requests == ["/status/404/a.jpg"]


@pytest.mark.parametrize(("code", "reason"), [(403, "media:http_403"), (400, "media:http_4xx")])
def test_other_client_errors_are_not_retried(http_server, code, reason):
    assert _reason(lambda: http_get(http_server.url_for(f"status/{code}/a"), FAST, MediaBudget())) == reason
    assert len(http_server.requests) == 1


def test_5xx_is_retried_with_exponential_backoff(http_server):
    waits: list[float] = []
    url = http_server.url_for("status/503/a.jpg")
    assert _reason(lambda: http_get(url, FAST, MediaBudget(), sleep=waits.append)) == "media:http_5xx"
    assert len(http_server.requests) == 3
    assert waits == [0.01, 0.02]


def test_flaky_server_succeeds_within_the_retries(http_server):
    http_server.write("f.jpg", b"payload")
    assert http_get(http_server.url_for("flaky/2/f.jpg"), FAST, MediaBudget(), sleep=lambda s: None) == (
        b"payload"
    )
    assert len(http_server.requests) == 3


def test_flaky_server_fails_when_retries_run_out(http_server):
    http_server.write("f.jpg", b"payload")
    policy = HttpPolicy(timeout=2.0, retries=1, backoff=0.0)
    assert _reason(lambda: http_get(http_server.url_for("flaky/2/f.jpg"), policy, MediaBudget())) == (
        "media:http_5xx"
    )


def test_slow_answer_times_out_per_request(http_server):
    http_server.write("s.jpg", b"late")
    policy = HttpPolicy(timeout=0.2, retries=0)
    started = time.monotonic()
    assert _reason(lambda: http_get(http_server.url_for("slow/2/s.jpg"), policy, MediaBudget())) == (
        "media:timeout"
    )
    assert time.monotonic() - started < 1.5


def test_truncated_body_is_detected(http_server):
    http_server.write("t.jpg", jpeg_bytes())
    policy = HttpPolicy(timeout=2.0, retries=1, backoff=0.0)
    assert _reason(lambda: http_get(http_server.url_for("truncate/t.jpg"), policy, MediaBudget())) == (
        "media:truncated"
    )
    assert len(http_server.requests) == 2


def test_connection_refused_is_a_connection_error():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    policy = HttpPolicy(timeout=1.0, retries=1, backoff=0.0)
    assert _reason(lambda: http_get(f"http://127.0.0.1:{port}/x.jpg", policy, MediaBudget())) == (
        "media:connection_error"
    )


def test_budget_caps_the_wait_then_refuses_without_a_request(http_server):
    http_server.write("s.jpg", b"late")
    budget = MediaBudget(0.3)
    policy = HttpPolicy(timeout=5.0, retries=0)
    started = time.monotonic()
    assert _reason(lambda: http_get(http_server.url_for("slow/2/s.jpg"), policy, budget)) == "media:timeout"
    assert time.monotonic() - started < 1.5
    time.sleep(0.05)
    assert _reason(lambda: http_get(http_server.url_for("s.jpg"), policy, budget)) == (
        "media:budget_exhausted"
    )
    assert http_server.requests == ["/slow/2/s.jpg"]


def test_retry_that_would_outlast_the_budget_stops_early(http_server):
    policy = HttpPolicy(timeout=1.0, retries=3, backoff=5.0)
    url = http_server.url_for("status/500/a")
    assert _reason(lambda: http_get(url, policy, MediaBudget(1.0))) == "media:budget_exhausted"
    assert len(http_server.requests) == 1


def test_body_above_the_size_cap_is_refused(http_server):
    http_server.write("big.bin", b"x" * 5000)
    policy = HttpPolicy(max_bytes=1000)
    assert (
        _reason(lambda: http_get(http_server.url_for("big.bin"), policy, MediaBudget())) == "media:too_large"
    )


# ------------------------------------------------------------------------------ image files


def _huge_header_png() -> bytes:
    """A valid tiny PNG whose header claims 20000 x 20000 pixels (IHDR patched, CRC fixed)."""
    data = bytearray(_png(Image.new("L", (1, 1))))
    ihdr = struct.pack(">IIBBBBB", 20000, 20000, 8, 0, 0, 0, 0)
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return bytes(data)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "media:empty"),
        (jpeg_bytes((64, 48))[:300], "media:corrupt"),
        (_png(Image.new("RGB", (64, 48), (1, 2, 3)))[:60], "media:corrupt"),
        (b"\x89PNG\r\n\x1a\n" + b"garbage" * 20, "media:corrupt"),
        (b"not an image at all", "media:corrupt"),
        (_huge_header_png(), "media:too_large"),
    ],
    ids=["zero-byte", "truncated-jpeg", "truncated-png", "corrupt-png", "not-an-image", "bomb"],
)
def test_unusable_image_is_dropped_with_its_reason(data, reason):
    assert 20000 * 20000 > MAX_PIXELS
    assert _reason(lambda: check_image(data, None, "full")) == reason


def _frames_bytes(fmt: str) -> bytes:
    frames = [Image.new("RGB", (16, 12), c) for c in ((255, 0, 0), (0, 255, 0))]
    buffer = io.BytesIO()
    frames[0].save(buffer, format=fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)
    return buffer.getvalue()


def _rotated_jpeg() -> bytes:
    image = Image.new("RGB", (40, 20), (250, 0, 0))
    exif = image.getexif()
    exif[0x0112] = 6  # stored sideways: display rotated 90 degrees
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif)
    return buffer.getvalue()


def _cmyk_jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("CMYK", (16, 12), (0, 255, 255, 0)).save(buffer, format="JPEG")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "mode", "size", "first_pixel"),
    [
        (_cmyk_jpeg(), "RGB", (16, 12), (254, 0, 0)),
        (_png(Image.new("P", (16, 12))), "RGB", (16, 12), (0, 0, 0)),
        (_png(Image.new("LA", (16, 12), (9, 128))), "L", (16, 12), 132),  # 9 half over white
        (_png(Image.fromarray(np.full((12, 16), 65535, np.uint16))), "L", (16, 12), 255),
        (_rotated_jpeg(), "RGB", (20, 40), (254, 0, 0)),
        (_frames_bytes("GIF"), "RGB", (16, 12), (255, 0, 0)),
        (_frames_bytes("WEBP"), "RGB", (16, 12), None),
    ],
    ids=["cmyk", "palette", "la", "16-bit", "exif-rotation", "animated-gif", "animated-webp"],
)
def test_awkward_image_is_stored_as_one_upright_standard_frame(data, mode, size, first_pixel):
    checked = check_image(data, None, "full")
    stored = Image.open(io.BytesIO(checked.data))
    assert (stored.mode, stored.size) == (mode, size)
    assert (checked.width, checked.height) == size
    assert getattr(stored, "n_frames", 1) == 1
    assert stored.getexif().get(0x0112, 1) == 1
    if first_pixel is not None:  # JPEG is lossy: within a few levels
        pixel = stored.getpixel((0, 0))
        assert np.allclose(np.atleast_1d(pixel), np.atleast_1d(first_pixel), atol=6), pixel


def test_plain_rgb_image_keeps_its_bytes():
    data = jpeg_bytes((32, 24))
    assert check_image(data, None, "full").data is data


# ------------------------------------------------------------------------------- end to end


def test_build_drops_each_bad_image_with_its_reason_and_goes_on(http_server, tmp_path):
    from hf_mixture.build import build_stage

    good = http_server.write("ok.jpg", jpeg_bytes((40, 30)))
    http_server.write("cmyk.jpg", _cmyk_jpeg())
    http_server.write("zero.jpg", b"")
    http_server.write("bad.jpg", b"not a jpeg")
    http_server.write("slow.jpg", jpeg_bytes())
    http_server.write("cut.jpg", jpeg_bytes())
    refs = [
        good,
        http_server.url_for("cmyk.jpg"),
        http_server.url_for("missing.jpg"),
        http_server.url_for("status/500/x.jpg"),
        http_server.url_for("slow/3/slow.jpg"),
        http_server.url_for("truncate/cut.jpg"),
        http_server.url_for("zero.jpg"),
        http_server.url_for("bad.jpg"),
    ]
    source = write_parquet(
        tmp_path / "t2i.parquet", {"s3_path": refs, "caption": [f"c{i}" for i in range(8)]}
    )
    entry = {
        "name": "web",
        "json_path": str(source),
        "sampling_strategy": "all",
        "preprocess_fn": "preproces_text_to_image_generation_s3",
    }
    stage = {"name": "web", "http_timeout": 0.3, "http_retries": 1}
    config = write_stage(tmp_path / "web.yaml", [entry], stage=stage)
    result = build_stage(config, tmp_path / "out", echo=lambda *_: None)
    report = json.loads(result.report_path.read_text())
    assert report["entries"][0]["dropped"] == {
        "media:corrupt": 1,
        "media:empty": 1,
        "media:http_404": 1,
        "media:http_5xx": 1,
        "media:timeout": 1,
        "media:truncated": 1,
    }
    assert result.written.num_examples == 2
    assert all(e.balance() == 0 for e in result.entries)
