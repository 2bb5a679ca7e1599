"""The fast image path: draft decoding, resize sizes, what each check level catches, process pool."""

import io
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from PIL import Image

from hf_mixture.media.embed import decode_pool, embed_images
from hf_mixture.media.fetch import ImageFetcher
from hf_mixture.media.images import CHECKS, MediaError, check_image
from hf_mixture.records import records_to_table
from hf_mixture.storage import Storage


def photo(size, orientation=None, fmt="JPEG") -> bytes:
    """A smooth photo-like image (gradients), optionally with an EXIF orientation tag."""
    width, height = size
    x = np.linspace(0, 255, width, dtype=np.float32)[None, :]
    y = np.linspace(0, 255, height, dtype=np.float32)[:, None]
    pixels = np.stack([x + 0 * y, y + 0 * x, (x + y) / 2], axis=-1).astype(np.uint8)
    image = Image.fromarray(pixels)
    buffer = io.BytesIO()
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    image.save(buffer, fmt, **({"quality": 92, "exif": exif} if fmt == "JPEG" else {}))
    return buffer.getvalue()


def decoded(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


@pytest.mark.parametrize("check", CHECKS)
@pytest.mark.parametrize(("size", "expected"), [((1200, 800), (384, 256)), ((700, 2100), (256, 768))])
def test_resize_gives_the_short_side_and_keeps_the_aspect_ratio(check, size, expected):
    checked = check_image(photo(size), 256, check)
    assert decoded(checked.data).size == expected
    assert (checked.width, checked.height) == size


def test_draft_resize_matches_a_full_decode_resize():
    data = photo((2000, 1600))
    draft = np.asarray(decoded(check_image(data, 256, "draft").data), dtype=np.int16)
    full = np.asarray(decoded(check_image(data, 256, "full").data), dtype=np.int16)
    assert draft.shape == full.shape
    assert np.abs(draft - full).mean() < 2.0


@pytest.mark.parametrize("check", CHECKS)
def test_an_image_not_larger_than_the_resolution_keeps_its_bytes(check):
    data = photo((300, 256))
    assert check_image(data, 256, check).data is data


def test_exif_rotation_is_applied_before_sizing():
    checked = check_image(photo((1200, 800), orientation=6), 256, "draft")
    assert decoded(checked.data).size == (256, 384)


@pytest.mark.parametrize("check", ["full", "draft"])
def test_a_truncated_jpeg_fails_the_decoding_checks(check):
    data = photo((640, 480))
    with pytest.raises(MediaError) as caught:
        check_image(data[: len(data) // 2], 1024, check)
    assert caught.value.reason == "media:corrupt"


def test_the_header_check_does_not_prove_the_image_decodes():
    data = photo((640, 480))
    assert check_image(data[: len(data) // 2], 1024, "header").width == 640


def test_a_truncated_jpeg_that_needs_resizing_fails_even_with_the_header_check():
    data = photo((640, 480))
    with pytest.raises(MediaError):
        check_image(data[: len(data) // 2], 256, "header")


def test_an_unknown_check_names_the_allowed_ones():
    with pytest.raises(ValueError, match="full, draft, header"):
        check_image(photo((64, 64)), None, "fast")


def test_a_transparent_png_is_resized_after_being_put_on_white():
    buffer = io.BytesIO()
    Image.new("RGBA", (600, 400), (10, 20, 30, 0)).save(buffer, "PNG")
    checked = check_image(buffer.getvalue(), 200)
    image = decoded(checked.data)
    assert (image.mode, image.size) == ("RGB", (300, 200))
    assert np.abs(np.asarray(image, dtype=np.int16) - 255).max() <= 2  # white, JPEG q95
    assert checked.changes == ("normalise:transparency_on_white",)


def test_the_process_pool_gives_the_same_images_as_the_reading_threads(tmp_path):
    names = []
    for i, size in enumerate([(900, 600), (200, 150), (640, 1280)]):
        (tmp_path / f"{i}.jpg").write_bytes(photo(size))
        names.append(f"{i}.jpg")
    (tmp_path / "bad.jpg").write_bytes(photo((640, 480))[:500])
    fetcher = ImageFetcher(Storage(base_dir=str(tmp_path)), str(tmp_path), [str(tmp_path)])
    table = records_to_table(
        [{"task": "t2i", "conversations": [], "image_gen": [n]} for n in [*names, "bad.jpg", "gone.jpg"]]
    )
    with ThreadPoolExecutor(4) as executor:
        threads, threads_reasons = embed_images(table, fetcher, short_side=256, executor=executor)
        pooled, pooled_reasons = embed_images(
            table, fetcher, short_side=256, executor=executor, decoder=decode_pool(2)
        )
    # the pool resizes with libvips, the threads with Pillow (resize.py): same sizes, same pixels
    # within JPEG noise; images that are not resized keep their bytes in both
    for pooled_cell, thread_cell in zip(pooled["image_gen"].to_pylist(), threads["image_gen"].to_pylist()):
        if not pooled_cell:
            assert not thread_cell
            continue
        a, b = (np.asarray(decoded(c[0]["bytes"]), dtype=np.int16) for c in (pooled_cell, thread_cell))
        assert a.shape == b.shape and np.abs(a - b).mean() < 1.0
    assert pooled["image_gen"][1].as_py() == threads["image_gen"][1].as_py()  # 200x150: passed through
    expected = [None, None, None, "media:corrupt", "media:missing"]
    assert list(pooled_reasons) == list(threads_reasons) == expected
    assert pooled["original_width"].to_pylist() == [900, 200, 640, None, None]
