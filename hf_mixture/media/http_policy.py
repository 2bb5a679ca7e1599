"""Reading one image over http(s): exact status codes, a timeout per request, retries with
exponential backoff, a size cap, and a time budget shared by every fetch of a build.

Why a small urllib client instead of fsspec's HTTP filesystem: fsspec maps every error status to
FileNotFoundError (a 503 that deserves a retry looks like a 404 that does not), retries HEAD as
GET, and its aiohttp timeouts are per session, not per request. An image is one whole-file GET,
which the standard library does exactly, with no extra dependency.
"""

from __future__ import annotations

import http.client
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

from hf_mixture.media.images import MediaError

USER_AGENT = "hf-mixture (+https://github.com/huggingface)"
MAX_IMAGE_BYTES = 256 * 1024**2
CHUNK_BYTES = 1024**2


@dataclass
class MediaBudget:
    """Wall-clock seconds all remote fetches of one build may use, counted from the first fetch
    (None: no budget). Plain data, so it pickles into worker processes with its deadline."""

    seconds: float | None = None
    deadline: float | None = None

    def remaining(self) -> float | None:
        """Seconds left (never negative), or None without a budget; starts the clock."""
        if self.seconds is None:
            return None
        if self.deadline is None:
            self.deadline = time.monotonic() + self.seconds
        return max(0.0, self.deadline - time.monotonic())

    def check(self, location: str) -> None:
        """MediaError `media:budget_exhausted` once the budget is spent."""
        if self.remaining() == 0.0:
            raise MediaError(
                "media:budget_exhausted",
                f"{location}: stage.media_budget_seconds ({self.seconds:g}s) spent; raise it to fetch more",
            )


@dataclass(frozen=True)
class HttpPolicy:
    """How hard to try: `timeout` seconds per attempt, `retries` more attempts after the first
    for retryable failures, waiting `backoff * 2**attempt` (at most `max_backoff`) between them."""

    timeout: float = 30.0
    retries: int = 3
    backoff: float = 0.5
    max_backoff: float = 8.0
    max_bytes: int = MAX_IMAGE_BYTES

    @classmethod
    def from_settings(cls, settings) -> HttpPolicy:
        """The policy a stage's `http_timeout` / `http_retries` ask for."""
        return cls(timeout=settings.http_timeout, retries=settings.http_retries)


class _Retryable(MediaError):
    """A failure that another attempt may not repeat (5xx, 429, timeout, connection, truncation)."""

    def __init__(self, reason: str, detail: str, wait_hint: float | None = None):
        super().__init__(reason, detail)
        self.wait_hint = wait_hint


def http_get(
    url: str, policy: HttpPolicy, budget: MediaBudget, *, sleep: Callable[[float], None] = time.sleep
) -> bytes:
    """The body of `url`; MediaError with a reason code (`media:http_404`, `media:http_5xx`,
    `media:timeout`, `media:truncated`, `media:budget_exhausted`, ...) when it cannot be had."""
    for attempt in range(policy.retries + 1):
        budget.check(url)
        remaining = budget.remaining()
        timeout = policy.timeout if remaining is None else min(policy.timeout, remaining)
        try:
            return _get_once(url, timeout, policy.max_bytes)
        except _Retryable as err:
            if attempt == policy.retries:
                raise MediaError(err.reason, f"{err} (after {attempt + 1} attempts)") from err
            wait = min(policy.max_backoff, max(policy.backoff * 2**attempt, err.wait_hint or 0.0))
            remaining = budget.remaining()
            if remaining is not None and wait >= remaining:
                raise MediaError(
                    "media:budget_exhausted", f"{err}; no time left in stage.media_budget_seconds to retry"
                ) from err
            sleep(wait)
    raise AssertionError("unreachable: the loop returns or raises")


class _SchemeLimitedRedirects(urllib.request.HTTPRedirectHandler):
    """Follows redirects only to http(s): never to ftp:// or file://, whatever the server says."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if not newurl.lower().startswith(("http://", "https://")):
            raise MediaError("media:scheme_not_allowed", f"{req.full_url} redirects to {newurl!r}")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_OPENER = urllib.request.build_opener(_SchemeLimitedRedirects())


def _get_once(url: str, timeout: float, max_bytes: int) -> bytes:
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    started = time.monotonic()
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            return _read_body(url, response, started + timeout, max_bytes)
    except urllib.error.HTTPError as err:
        raise _status_error(url, err) from err
    except TimeoutError as err:
        raise _Retryable("media:timeout", f"{url}: no answer within {timeout:g} s") from err
    except http.client.IncompleteRead as err:
        raise _Retryable("media:truncated", f"{url}: got {len(err.partial)} bytes, expected more") from err
    except urllib.error.URLError as err:
        if isinstance(err.reason, TimeoutError):
            raise _Retryable("media:timeout", f"{url}: no answer within {timeout:g} s") from err
        raise _Retryable("media:connection_error", f"{url}: {err.reason}") from err
    except (ConnectionError, http.client.HTTPException, OSError) as err:
        raise _Retryable("media:connection_error", f"{url}: {type(err).__name__}: {err}") from err


def _read_body(url: str, response, deadline: float, max_bytes: int) -> bytes:
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise MediaError("media:too_large", f"{url}: {declared} bytes is above the {max_bytes}-byte cap")
    chunks, size = [], 0
    while chunk := response.read(CHUNK_BYTES):
        chunks.append(chunk)
        size += len(chunk)
        if size > max_bytes:
            raise MediaError("media:too_large", f"{url}: more than {max_bytes} bytes")
        if time.monotonic() > deadline:
            raise _Retryable("media:timeout", f"{url}: body not complete within the timeout")
    if declared and declared.isdigit() and size < int(declared):
        raise _Retryable("media:truncated", f"{url}: got {size} of {declared} bytes")
    return b"".join(chunks)


def _status_error(url: str, err: urllib.error.HTTPError) -> MediaError:
    code = err.code
    if code in (404, 410):
        return MediaError("media:http_404", f"{url}: HTTP {code}")
    if code in (401, 403):
        return MediaError("media:http_403", f"{url}: HTTP {code} (private, or needs credentials)")
    if code == 429 or code >= 500:
        reason = "media:http_429" if code == 429 else "media:http_5xx"
        return _Retryable(reason, f"{url}: HTTP {code}", _retry_after(err.headers.get("Retry-After")))
    return MediaError("media:http_4xx", f"{url}: HTTP {code}")


def _retry_after(value: str | None) -> float | None:
    """Seconds from a `Retry-After: <seconds>` header (the date form is ignored)."""
    return float(value) if value and value.strip().isdigit() else None
