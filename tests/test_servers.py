"""The local server fixtures behave as advertised."""

from __future__ import annotations

import http.client
import urllib.error
import urllib.request

import boto3
import fsspec
import pytest
import s3fs
from servers import HttpServer, S3Env


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return resp.read()


def test_s3_fsspec_open_without_storage_options(s3_env: S3Env) -> None:
    s3_env.put("s3://data/dir/a.json", b'{"a": 1}')
    with fsspec.open("s3://data/dir/a.json", "rb") as f:
        assert f.read() == b'{"a": 1}'


def test_s3_glob_and_ls(s3_env: S3Env, tmp_path) -> None:
    local = tmp_path / "b.bin"
    local.write_bytes(b"\x00\x01")
    s3_env.put("s3://data/p/a.txt", b"a")
    s3_env.put_file("s3://data/p/b.bin", local)
    fs = s3fs.S3FileSystem()
    assert fs.glob("data/p/*.txt") == ["data/p/a.txt"]
    assert sorted(fs.ls("data/p")) == ["data/p/a.txt", "data/p/b.bin"]
    assert fs.cat("data/p/b.bin") == b"\x00\x01"


def test_s3_storage_options(s3_env: S3Env) -> None:
    bucket = s3_env.make_bucket()
    s3_env.put(f"s3://{bucket}/k", b"v")
    with fsspec.open(f"s3://{bucket}/k", "rb", **s3_env.storage_options) as f:
        assert f.read() == b"v"


def test_s3_state_is_reset_per_test(s3_env: S3Env) -> None:
    client = boto3.client("s3")  # configured purely by the environment
    assert client.list_buckets()["Buckets"] == []
    s3_env.make_bucket("leftover")


def test_http_fsspec_read(http_server: HttpServer) -> None:
    url = http_server.write("img/x.bin", bytes(range(256)) * 4)
    with fsspec.open(url, "rb") as f:
        assert f.read() == bytes(range(256)) * 4
        f.seek(1000)
        assert f.read(10) == (bytes(range(256)) * 4)[1000:1010]
    assert "/img/x.bin" in http_server.requests


def test_http_404_is_file_not_found(http_server: HttpServer) -> None:
    for path in ("missing.bin", "status/404/x.bin"):
        with pytest.raises(FileNotFoundError):
            with fsspec.open(http_server.url_for(path), "rb") as f:
                f.read()


def test_http_status(http_server: HttpServer) -> None:
    with pytest.raises(urllib.error.HTTPError) as err:
        _get(http_server.url_for("status/500/anything"))
    assert err.value.code == 500


def test_http_flaky(http_server: HttpServer) -> None:
    http_server.write("f.txt", b"ok")
    url = http_server.url_for("flaky/2/f.txt")
    for _ in range(2):
        with pytest.raises(urllib.error.HTTPError) as err:
            _get(url)
        assert err.value.code == 503
    assert _get(url) == b"ok"
    assert http_server.requests == ["/flaky/2/f.txt"] * 3


def test_http_slow(http_server: HttpServer) -> None:
    http_server.write("s.txt", b"late")
    assert _get(http_server.url_for("slow/0.1/s.txt")) == b"late"
    with pytest.raises(TimeoutError):
        urllib.request.urlopen(http_server.url_for("slow/2/s.txt"), timeout=0.2)


def test_http_truncate(http_server: HttpServer) -> None:
    http_server.write("t.bin", b"x" * 100)
    with pytest.raises(http.client.IncompleteRead) as err:
        _get(http_server.url_for("truncate/t.bin"))
    assert len(err.value.partial) == 50
