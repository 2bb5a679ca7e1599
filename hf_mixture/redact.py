"""Keep secrets out of what hf-mixture prints and writes (messages, logs, reports, saved YAML).

Masked: the values of the token variables below when set, anything shaped like a Hub token
(`hf_...`), the user:password part of URLs, signature/token query parameters, and the values of
secret-named keys in YAML text (`token:`, `secret:`, `password:` ...).
"""

from __future__ import annotations

import logging
import os
import re

SECRET_ENV_VARS = (
    "HF_TOKEN",
    "HUGGING_FACE_HUB_TOKEN",
    "HF_API_TOKEN",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "GOOGLE_API_KEY",
)
MASK = "***"
MIN_SECRET_LENGTH = 6
_HF_TOKEN = re.compile(r"\bhf_[A-Za-z0-9]{20,}\b")
_URL_USERINFO = re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.-]*://)[^/\s@'\"]+@")
_QUERY_SECRET = re.compile(
    r"([?&](?:token|access_token|api_key|sig|signature|x-amz-signature|x-amz-credential|"
    r"x-amz-security-token|x-goog-signature|x-goog-credential)=)[^&\s'\"]+",
    re.IGNORECASE,
)
_YAML_SECRET = re.compile(
    r"^(\s*(?:-\s*)?[\"']?(?:[a-z_]*token|[a-z_]*secret[a-z_]*|password|passwd|api_key|credentials?)"
    r"[\"']?\s*:[ \t]*)(?!\s*$)[^\n#]*[^\s#]",
    re.IGNORECASE | re.MULTILINE,
)


def secret_values() -> list[str]:
    """The values of the token variables set in the environment (longest first)."""
    values = {os.environ.get(name, "") for name in SECRET_ENV_VARS}
    return sorted((v for v in values if len(v) >= MIN_SECRET_LENGTH), key=len, reverse=True)


def redact(text: str) -> str:
    """`text` with every secret masked (see the module docstring)."""
    if not text:
        return text
    for secret in secret_values():
        text = text.replace(secret, MASK)
    text = _HF_TOKEN.sub(MASK, text)
    text = _URL_USERINFO.sub(rf"\1{MASK}@", text)
    text = _QUERY_SECRET.sub(rf"\1{MASK}", text)
    return _YAML_SECRET.sub(rf"\1{MASK}", text)


class RedactingFilter(logging.Filter):
    """A logging filter that masks secrets in each record's final message."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact(record.getMessage()), None
        return True


class RedactingStream:
    """Wraps a text stream (stdout, stderr) so that everything written through it is masked."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text: str) -> int:
        """Write `text` masked."""
        return self._stream.write(redact(text))

    def __getattr__(self, name):
        return getattr(self._stream, name)
