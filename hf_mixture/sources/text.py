"""The one way text sources (JSON, JSONL, CSV, JSON objects) are opened: byte-order mark skipped
(UTF-16 files with one re-encoded), and bare `NaN` / `Infinity` / `-Infinity` in JSON read as null.

A UTF-8 byte-order mark (EF BB BF, written by Windows tools and by Python's `utf-8-sig`) is not
JSON: `json` and ijson reject it, and a JSONL reader would lose the first line. pandas (which
LaViDa-O reads its JSON with) skips it, so do we, in every format.

Python's `json.dump` and pandas write non-finite floats as bare `NaN` / `Infinity`, which are not
JSON either; `json.loads` accepts them, ijson (the streaming JSON array reader) does not. They are
read as null in every format (a null score or size is what the filters already drop).
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from contextlib import contextmanager

from hf_mixture.storage import Storage

BOM = codecs.BOM_UTF8
_CHUNK = 1 << 20
# a whole JSON string, a lone quote (a string the chunk cuts), or a bare non-finite constant
_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|"|-?Infinity|NaN')
_LONGEST_CONSTANT = len(b"-Infinity")


_UTF16 = {codecs.BOM_UTF16_LE: "utf-16-le", codecs.BOM_UTF16_BE: "utf-16-be"}


@contextmanager
def open_text_source(storage: Storage, path: str) -> Iterator:
    """`path` opened as UTF-8 bytes: after its UTF-8 byte-order mark when it has one; a file that
    starts with a UTF-16 byte-order mark (Windows "Unicode" exports) is read through a UTF-8
    re-encoder (characters it cannot decode replaced)."""
    with storage.open(path) as handle:
        head = handle.read(len(BOM))
        encoding = _UTF16.get(head[:2])
        if head == BOM:
            yield handle
        elif encoding:
            handle.seek(2)
            yield codecs.StreamRecoder(
                handle,
                codecs.getencoder("utf-8"),
                codecs.getdecoder(encoding),
                codecs.getreader(encoding),
                codecs.getwriter(encoding),
                errors="replace",
            )
        else:
            handle.seek(0)
            yield handle


def non_finite_constant(name: str) -> None:
    """`parse_constant` for `json.loads`: `NaN`, `Infinity`, `-Infinity` -> None (null)."""
    return None


class NonFiniteAsNull:
    """A binary file object over `handle` in which bare `NaN`, `Infinity` and `-Infinity` outside
    JSON strings read as `null` (for ijson, which rejects them). Strings are left untouched."""

    def __init__(self, handle):
        self.handle = handle
        self._carry = b""
        self._out = bytearray()
        self._eof = False

    def read(self, size: int = -1) -> bytes:
        while not self._eof and (size < 0 or len(self._out) < size):
            chunk = self.handle.read(_CHUNK)
            self._eof = not chunk
            self._convert(self._carry + chunk)
        if size < 0:
            size = len(self._out)
        data = bytes(self._out[:size])
        del self._out[:size]
        return data

    def _convert(self, data: bytes) -> None:
        done = scanned = 0
        for match in _TOKENS.finditer(data):
            scanned = match.end()
            token = match.group()
            if token == b'"' and not self._eof:  # a string the chunk cuts: read on from its quote
                self._out += data[done : match.start()]
                self._carry = data[match.start() :]
                return
            if token.startswith(b'"'):
                continue
            self._out += data[done : match.start()] + b"null"
            done = match.end()
        cut = len(data) if self._eof else max(scanned, len(data) - _LONGEST_CONSTANT)
        self._out += data[done:cut]
        self._carry = data[cut:]
