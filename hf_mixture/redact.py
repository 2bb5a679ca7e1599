"""Keep secrets out of what hf-mixture prints and writes (messages, logs, reports, saved YAML).

Text (`redact`): the values of the token variables below when set, every value found under a
stage's `storage_options` (registered when the config is loaded), anything shaped like a Hub token
(`hf_...`), the user:password part of URLs, signature/token query parameters, `Bearer`/`Basic`
credentials, and the values of secret-named keys in YAML text (`token:`, `secret:`, `password:` ...).

Parsed YAML (`redact_config`): what is written to the output folder is re-serialised from the
parsed config with every value under `storage_options` and of secret-named keys replaced, and
every string passed through `redact`, so the YAML style (flow or block) does not matter.
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
# A key naming a secret: contains one of these words, or is `key` / ends in one of the key suffixes.
SECRET_KEY_WORDS = ("token", "secret", "password", "passwd", "credential", "authorization", "signature")
SECRET_KEY_SUFFIXES = ("api_key", "access_key", "private_key", "account_key", "sas_key")
_REGISTERED: set[str] = set()
_BEARER = re.compile(r"\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{6,}")  # Authorization header values
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


def register_secrets(values) -> None:
    """Mask these strings (e.g. every value under `storage_options`) in everything redacted from now on."""
    _REGISTERED.update(str(v) for v in values if v is not None and len(str(v)) >= MIN_SECRET_LENGTH)


def config_secrets(value) -> list[str]:
    """Every scalar leaf of a mapping / list (the values under `storage_options`), as text."""
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in config_secrets(item)]
    if isinstance(value, (list, tuple)):
        return [leaf for item in value for leaf in config_secrets(item)]
    return [] if value is None or isinstance(value, bool) else [str(value)]


def secret_values() -> list[str]:
    """The values of the token variables set in the environment and the registered secrets
    (longest first)."""
    values = {os.environ.get(name, "") for name in SECRET_ENV_VARS} | _REGISTERED
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
    text = _BEARER.sub(rf"\1 {MASK}", text)
    return _YAML_SECRET.sub(rf"\1{MASK}", text)


def redact_config(value, *, secret: bool = False):
    """A copy of parsed YAML data safe to write: every leaf under a `storage_options` key or a
    secret-named key (`SECRET_KEY_WORDS`) becomes `***` (keys kept, so the shape stays readable),
    every other string goes through `redact`."""
    if isinstance(value, dict):
        return {
            _redact_key(key): redact_config(item, secret=secret or _secret_key(key))
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [redact_config(item, secret=secret) for item in value]
    if secret and value is not None and not isinstance(value, bool):
        return MASK
    return redact(value) if isinstance(value, str) else value


def _secret_key(key) -> bool:
    name = str(key).lower()
    if "://" in name:
        return False  # a URL used as a key (path_mappings): its credentials are redacted in the key
    return (
        name in ("storage_options", "key")
        or any(word in name for word in SECRET_KEY_WORDS)
        or name.endswith(SECRET_KEY_SUFFIXES)
    )


def _redact_key(key):
    return redact(key) if isinstance(key, str) else key


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
