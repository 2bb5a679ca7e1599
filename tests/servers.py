"""Real local servers for tests: a moto S3 server and a static HTTP file server.

Everything binds to 127.0.0.1 on an OS-chosen port; nothing is mocked in-process.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

__all__ = [
    "HttpServer",
    "S3Env",
    "S3Server",
    "http_server",
    "s3_env",
    "s3_server",
]

S3_ACCESS_KEY = "testing"
S3_SECRET_KEY = "testing"
S3_REGION = "us-east-1"


# --------------------------------------------------------------------------- S3


@dataclass(frozen=True)
class S3Server:
    """A running moto server."""

    endpoint_url: str

    def reset(self) -> None:
        """Drop all buckets, objects and other state held by the server."""
        req = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST")
        with urllib.request.urlopen(req, timeout=10) as resp:
            resp.read()


def _split_s3_url(url: str) -> tuple[str, str]:
    """Split ``s3://bucket/key`` into ``(bucket, key)``."""
    parts = urlsplit(url)
    if parts.scheme not in ("s3", "s3a") or not parts.netloc or not parts.path.strip("/"):
        raise ValueError(f"expected s3://bucket/key, got {url!r}")
    return parts.netloc, parts.path.lstrip("/")


@dataclass
class S3Env:
    """Helpers for a test talking to the moto server through the ambient AWS environment.

    Objects are written with boto3 directly, so an s3fs instance that has already
    listed a prefix keeps a stale listing cache; call its ``invalidate_cache()``
    if a test writes after listing.
    """

    endpoint_url: str
    storage_options: dict[str, Any]
    _client: Any = field(repr=False)
    _buckets: set[str] = field(default_factory=set, repr=False)

    def make_bucket(self, name: str | None = None) -> str:
        """Create bucket ``name`` (a unique name if omitted) if missing; return its name."""
        name = name or f"test-{uuid.uuid4().hex[:12]}"
        if name not in self._buckets:
            try:
                self._client.create_bucket(Bucket=name)
            except self._client.exceptions.BucketAlreadyOwnedByYou:
                pass
            self._buckets.add(name)
        return name

    def put(self, url: str, data: bytes) -> str:
        """Store ``data`` at ``s3://bucket/key``, creating the bucket if needed."""
        bucket, key = _split_s3_url(url)
        self.make_bucket(bucket)
        self._client.put_object(Bucket=bucket, Key=key, Body=data)
        return url

    def put_file(self, url: str, local_path: str | Path) -> str:
        """Upload a local file to ``s3://bucket/key``, creating the bucket if needed."""
        return self.put(url, Path(local_path).read_bytes())


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """A moto S3 server on 127.0.0.1 for the whole session."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # per-request access log
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield S3Server(endpoint_url=f"http://{host}:{port}")
    finally:
        server.stop()


def _clear_s3fs_instances() -> None:
    """Forget cached s3fs filesystems so the next one picks up the current environment."""
    try:
        import s3fs
    except ImportError:
        return
    s3fs.S3FileSystem.clear_instance_cache()


@pytest.fixture
def s3_env(
    s3_server: S3Server, monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[S3Env]:
    """An empty moto server that plain ``fsspec.open("s3://...")`` reaches via the environment."""
    import boto3
    import fsspec.config

    s3_server.reset()
    no_file = tmp_path_factory.mktemp("aws") / "absent"
    for var in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    ):
        monkeypatch.delenv(var, raising=False)
    # fsspec's config (read from FSSPEC_S3_* at import) would override the environment
    monkeypatch.delitem(fsspec.config.conf, "s3", raising=False)
    env = {
        "AWS_ACCESS_KEY_ID": S3_ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": S3_SECRET_KEY,
        "AWS_DEFAULT_REGION": S3_REGION,
        "AWS_REGION": S3_REGION,
        "AWS_ENDPOINT_URL": s3_server.endpoint_url,
        "AWS_ENDPOINT_URL_S3": s3_server.endpoint_url,
        "AWS_CONFIG_FILE": str(no_file),
        "AWS_SHARED_CREDENTIALS_FILE": str(no_file),
    }
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    _clear_s3fs_instances()
    client = boto3.client(
        "s3",
        endpoint_url=s3_server.endpoint_url,
        aws_access_key_id=S3_ACCESS_KEY,
        aws_secret_access_key=S3_SECRET_KEY,
        region_name=S3_REGION,
    )
    storage_options: dict[str, Any] = {
        "endpoint_url": s3_server.endpoint_url,
        "key": S3_ACCESS_KEY,
        "secret": S3_SECRET_KEY,
        "client_kwargs": {"region_name": S3_REGION},
    }
    try:
        yield S3Env(endpoint_url=s3_server.endpoint_url, storage_options=storage_options, _client=client)
    finally:
        client.close()
        _clear_s3fs_instances()


# ------------------------------------------------------------------------- HTTP


_RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")


class _Handler(BaseHTTPRequestHandler):
    """Serves ``server.root`` and the special routes documented on :class:`HttpServer`."""

    server: _FileServer  # type: ignore[assignment]
    protocol_version = "HTTP/1.0"  # one request per connection: no stale keep-alive sockets

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Stay silent."""

    def do_HEAD(self) -> None:
        """Answer like GET, without a body."""
        self._dispatch(body=False)

    def do_GET(self) -> None:
        """Answer a request."""
        self._dispatch(body=True)

    def _dispatch(self, body: bool) -> None:
        self.server.log_request_path(self.path)
        path = unquote(urlsplit(self.path).path)
        parts = path.lstrip("/").split("/", 2)
        try:
            if parts[0] == "status" and len(parts) >= 2 and parts[1].isdigit():
                self._send_status(int(parts[1]), body)
            elif parts[0] == "slow" and len(parts) == 3:
                time.sleep(float(parts[1]))
                self._send_file(parts[2], body)
            elif parts[0] == "flaky" and len(parts) == 3 and parts[1].isdigit():
                if self.server.count_hit(self.path) <= int(parts[1]):
                    self._send_status(HTTPStatus.SERVICE_UNAVAILABLE, body)
                else:
                    self._send_file(parts[2], body)
            elif parts[0] == "truncate" and len(parts) >= 2:
                self._send_file("/".join(parts[1:]), body, truncate=True)
            else:
                self._send_file(path.lstrip("/"), body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (e.g. timed out on /slow)

    def _send_status(self, code: int, body: bool) -> None:
        payload = f"status {int(code)}\n".encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if body:
            self.wfile.write(payload)

    def _send_file(self, relpath: str, body: bool, truncate: bool = False) -> None:
        root = self.server.root
        target = (root / relpath).resolve()
        if not target.is_relative_to(root) or not target.is_file():
            self._send_status(HTTPStatus.NOT_FOUND, body)
            return
        data = target.read_bytes()
        size = len(data)
        start, end = 0, size  # end exclusive
        match = None if truncate else _RANGE_RE.match(self.headers.get("Range", "").strip())
        if match and (match[1] or match[2]):
            if match[1]:
                start = int(match[1])
                end = min(int(match[2]) + 1, size) if match[2] else size
            else:
                start = max(size - int(match[2]), 0)
            if start >= size or start >= end:
                self.send_response(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(HTTPStatus.PARTIAL_CONTENT)
            self.send_header("Content-Range", f"bytes {start}-{end - 1}/{size}")
        else:
            self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Accept-Ranges", "none" if truncate else "bytes")
        self.send_header("Content-Length", str(end - start))
        self.end_headers()
        if body:
            chunk = data[start:end]
            self.wfile.write(chunk[: len(chunk) // 2] if truncate else chunk)


class _FileServer(ThreadingHTTPServer):
    """A threading HTTP server holding the served root, request log and flaky-route counters."""

    daemon_threads = True

    def __init__(self, root: Path) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.root = root.resolve()
        self.requests: list[str] = []
        self._hits: dict[str, int] = {}
        self._lock = threading.Lock()

    def log_request_path(self, path: str) -> None:
        """Record a requested path."""
        with self._lock:
            self.requests.append(path)

    def count_hit(self, path: str) -> int:
        """Count one more request of ``path``; return the running total."""
        with self._lock:
            self._hits[path] = self._hits.get(path, 0) + 1
            return self._hits[path]


@dataclass
class HttpServer:
    """A running static file server.

    Routes (``relpath`` is relative to ``root``; GET and HEAD both count as requests):

    * ``/<relpath>``: the file, with single-range ``Range`` support (206).
    * ``/status/<code>/...``: that HTTP status with a short text body.
    * ``/slow/<seconds>/<relpath>``: the file after sleeping ``seconds``.
    * ``/flaky/<n>/<relpath>``: 503 for the first ``n`` requests of that exact path, then the file.
    * ``/truncate/<relpath>``: full ``Content-Length``, half the bytes, then the connection closes.
    """

    url: str
    root: Path
    _server: _FileServer = field(repr=False)

    @property
    def requests(self) -> list[str]:
        """Request paths (with query string) in arrival order."""
        return self._server.requests

    def url_for(self, relpath: str) -> str:
        """The URL of ``relpath`` (which may start with a special route prefix)."""
        return f"{self.url}/{relpath.lstrip('/')}"

    def write(self, relpath: str, data: bytes) -> str:
        """Create the served file ``relpath`` with ``data``; return its URL."""
        path = self.root / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return self.url_for(relpath)


@pytest.fixture
def http_server(tmp_path: Path) -> Iterator[HttpServer]:
    """A static HTTP file server on 127.0.0.1 serving a fresh temporary directory."""
    root = tmp_path / "www"
    root.mkdir()
    server = _FileServer(root)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    try:
        yield HttpServer(url=f"http://{host}:{port}", root=root, _server=server)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
