"""Archive references `tar://<member>::<archive>`: members of .tar / .tar.gz read without unpacking."""

from __future__ import annotations

import gzip
import io
import os
import tarfile
from pathlib import Path

import pytest

from hf_mixture.media.archives import (
    CACHE,
    archive_ref,
    build_index,
    is_archive_ref,
    read_member,
    split_archive_ref,
)
from hf_mixture.media.fetch import ImageFetcher, image_name
from hf_mixture.media.images import MediaError
from hf_mixture.storage import Storage


def tar_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def members_of_random_bytes(n: int, size: int) -> dict[str, bytes]:
    return {f"{i:05d}.bin": os.urandom(size) for i in range(n)}


def storage(tmp_path: Path, **kwargs) -> Storage:
    return Storage(base_dir=tmp_path, **kwargs)


def test_reference_round_trips_member_and_archive():
    ref = archive_ref("/images/00012.jpg", "s3://bucket/a.tar.gz")
    assert ref == "tar://images/00012.jpg::s3://bucket/a.tar.gz"
    assert split_archive_ref(ref) == ("images/00012.jpg", "s3://bucket/a.tar.gz")
    assert not is_archive_ref("s3://bucket/a.jpg")


def test_plain_tar_member_is_read_by_range(tmp_path):
    members = members_of_random_bytes(3, 3000)
    archive = tmp_path / "shard.tar"
    archive.write_bytes(tar_bytes(members))
    data = read_member(storage(tmp_path), archive_ref("00001.bin", str(archive)))
    assert data == members["00001.bin"]


def test_gzip_member_is_read_from_the_nearest_checkpoint(tmp_path):
    members = members_of_random_bytes(6, 40_000)  # incompressible: ~240 KB uncompressed
    archive = tmp_path / "shard.tar.gz"
    archive.write_bytes(gzip.compress(tar_bytes(members)))
    index = build_index(storage(tmp_path), str(archive), span=50_000)
    assert len(index.checkpoints) > 2  # several resume points, not only the start
    for name, data in members.items():
        assert index.read(storage(tmp_path), name) == data


def test_concatenated_gzip_members_are_one_stream(tmp_path):
    members = members_of_random_bytes(2, 2000)
    raw = tar_bytes(members)
    archive = tmp_path / "split.tar.gz"
    archive.write_bytes(gzip.compress(raw[:1500]) + gzip.compress(raw[1500:]))
    assert read_member(storage(tmp_path), archive_ref("00001.bin", str(archive))) == members["00001.bin"]


def test_member_under_a_folder_is_found_by_its_file_name(tmp_path):
    archive = tmp_path / "a.tar"
    archive.write_bytes(tar_bytes({"images/00007.jpg": b"seven"}))
    assert read_member(storage(tmp_path), archive_ref("00007.jpg", str(archive))) == b"seven"


def test_absent_member_is_reported_as_missing_media(tmp_path):
    archive = tmp_path / "a.tar"
    archive.write_bytes(tar_bytes({"00001.jpg": b"x"}))
    fetcher = ImageFetcher(storage(tmp_path), str(tmp_path), [str(tmp_path)])
    with pytest.raises(MediaError) as caught:
        fetcher.read(archive_ref("00002.jpg", str(archive)))
    assert caught.value.reason == "media:missing"


def test_archive_outside_the_allowed_roots_is_refused(tmp_path):
    inside, outside = tmp_path / "root", tmp_path / "elsewhere"
    inside.mkdir(), outside.mkdir()
    (outside / "a.tar").write_bytes(tar_bytes({"x.jpg": b"x"}))
    fetcher = ImageFetcher(storage(tmp_path), str(inside), [str(inside)])
    with pytest.raises(MediaError) as caught:
        fetcher.read(archive_ref("x.jpg", str(outside / "a.tar")))
    assert caught.value.reason == "media:outside_root"


def test_relative_archive_is_resolved_against_the_root(tmp_path):
    resolved = storage(tmp_path).resolve("tar://x.jpg::shards/a.tar", tmp_path / "data")
    assert resolved == archive_ref("x.jpg", str(tmp_path / "data" / "shards" / "a.tar"))


def test_path_mapping_applies_to_the_archive(tmp_path):
    from hf_mixture.storage import PathMapping

    mapped = Storage(base_dir=tmp_path, mappings=(PathMapping("s3://bucket/", f"{tmp_path}/local/"),))
    assert mapped.resolve("tar://x.jpg::s3://bucket/a.tar") == archive_ref("x.jpg", f"{tmp_path}/local/a.tar")


def test_stored_image_name_is_the_member_name():
    assert image_name("tar://images/00012.jpg::/data/0-5000.tar.gz") == "00012.jpg"


def test_rewritten_local_archive_is_indexed_again(tmp_path):
    archive = tmp_path / "a.tar"
    archive.write_bytes(tar_bytes({"x.jpg": b"first"}))
    assert read_member(storage(tmp_path), archive_ref("x.jpg", str(archive))) == b"first"
    archive.write_bytes(tar_bytes({"x.jpg": b"second!"}))
    os.utime(archive, ns=(1, 10**18))
    assert read_member(storage(tmp_path), archive_ref("x.jpg", str(archive))) == b"second!"


def test_gzip_archive_on_s3_is_read_through_fsspec(s3_env, tmp_path):
    members = members_of_random_bytes(3, 5000)
    url = s3_env.put("s3://archives/echo/0-5000.tar.gz", gzip.compress(tar_bytes(members)))
    remote = storage(tmp_path, storage_options={"s3": s3_env.storage_options})
    assert read_member(remote, archive_ref("00002.bin", url)) == members["00002.bin"]
    assert CACHE.index(remote, url).compressed
