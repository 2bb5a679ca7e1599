"""Third-party failures that are the user's to fix (network, object-store credentials, file system),
turned into one message saying what was wrong, where and how to fix it.

`hf_mixture.cli.main` maps these to exit 2; anything not recognised here stays an internal error (exit 1).
Matching is by class name and module so that no optional package (botocore, requests, httpx2) has
to be imported to recognise its errors.
"""

from __future__ import annotations

import errno
import os

# Class names (anywhere in an error's MRO) of network failures: httpx/httpx2, requests, urllib3, aiohttp.
_NETWORK = {
    "ConnectError",
    "ConnectTimeout",
    "TimeoutException",
    "TransportError",
    "NetworkError",
    "ConnectionError",  # requests (the builtin is an OSError, handled below)
    "Timeout",
    "NewConnectionError",
    "MaxRetryError",
    "ClientConnectorError",
    "ServerTimeoutError",
    "OfflineModeIsEnabled",
}
# botocore errors about credentials / access.
_CREDENTIALS = {"NoCredentialsError", "PartialCredentialsError", "NoRegionError", "ProfileNotFound"}
_HOW_S3 = (
    "set AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or a profile), or the stage's storage_options.s3 "
    "(key, secret, endpoint_url)"
)


def _names(err: BaseException) -> set[str]:
    return {cls.__name__ for cls in type(err).__mro__}


def _module(err: BaseException) -> str:
    return type(err).__module__ or ""


def user_message(err: BaseException) -> str | None:
    """The message for `err` when it is the user's to fix; None when it is a bug."""
    names, module = _names(err), _module(err)
    if module.startswith(("botocore", "aiobotocore", "s3fs")) or names & _CREDENTIALS:
        return _storage_message(err, names)
    if "HfHubHTTPError" in names:
        return f"the Hub refused the request: {err}; check the token (HF_TOKEN / `hf auth login`) and repo id"
    if is_network_error(err):
        return network_message(err)
    if isinstance(err, OSError):
        return os_error_message(err)
    return None


def is_network_error(err: BaseException) -> bool:
    """Whether `err` is a failure to reach a server (httpx/httpx2, requests, urllib3, aiohttp)."""
    if isinstance(err, OSError) and type(err).__module__ == "builtins":
        return False
    return bool(_names(err) & _NETWORK) or _module(err).startswith(("httpx", "requests", "urllib3"))


def network_message(err: BaseException, where: str | None = None) -> str:
    """`could not reach <where>: <cause>; check the network / HF_ENDPOINT`."""
    url = _request_url(err)
    hub = f"the Hub ({hub_endpoint()})"
    where = where or (hub if url is None or url.startswith(hub_endpoint()) else url)
    how = (
        "check the network / HF_ENDPOINT" if where.startswith("the Hub") else "check the network and the URL"
    )
    return f"could not reach {where}: {err}; {how}"


def hub_endpoint() -> str:
    """The Hub URL huggingface_hub talks to (HF_ENDPOINT or https://huggingface.co)."""
    return os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")


def _request_url(err: BaseException) -> str | None:
    try:
        request = getattr(err, "request", None)
    except RuntimeError:  # httpx raises when the error has no request
        return None
    url = getattr(request, "url", None)
    return str(url) if url else None


def _storage_message(err: BaseException, names: set[str]) -> str:
    if names & _CREDENTIALS:
        return f"object storage: {err}; {_HOW_S3}"
    if "EndpointConnectionError" in names or "ConnectTimeoutError" in names:
        return f"could not reach the object store: {err}; check the network and endpoint_url"
    return f"object storage refused the request: {err}; check the bucket name, credentials and permissions"


_OS_HOW = {
    errno.EEXIST: "it exists and is not a folder; remove it or choose another path",
    errno.ENOTDIR: "a part of the path is a file, not a folder; choose another path",
    errno.EACCES: "permission denied; choose a path you can write to or fix its permissions",
    errno.EPERM: "operation not permitted; choose a path you can write to or fix its permissions",
    errno.EROFS: "the file system is read-only; choose a writable path",
    errno.ENOSPC: "no space left on the device; free space or choose another disk",
    errno.ENOENT: "no such file or folder; check the path",
    errno.EISDIR: "it is a folder, a file was expected; check the path",
}


def os_error_message(err: OSError) -> str:
    """`<path>: <what is wrong>; <how to fix>` for file-system errors, else the error's text."""
    how = _OS_HOW.get(err.errno)
    path = err.filename
    if how is None or path is None:
        return str(err)
    second = f" -> {err.filename2}" if err.filename2 else ""
    return f"{path}{second}: {how} ({err.strerror})"
