"""The package's exceptions: each subclasses the builtin a caller would catch."""

from __future__ import annotations


class HfMixtureError(Exception):
    """Base of every error this package raises on purpose."""


class ConfigError(HfMixtureError, ValueError):
    """A stage YAML file is wrong; the message lists every problem found, with where and how to fix."""

    def __init__(self, problems: list[str], path: str | None = None):
        self.problems = list(problems)
        self.path = path
        head = f"{len(self.problems)} problem(s) in {path}:" if path else "configuration error:"
        super().__init__("\n".join([head, *(f"  - {p}" for p in self.problems)]))


class MissingDriverError(HfMixtureError, ImportError):
    """Reading a URI scheme needs an optional package that is not installed (s3fs, gcsfs, aiohttp)."""


class SourceError(HfMixtureError, ValueError):
    """A source file cannot be read as declared (format, columns, sizes)."""


class SamplingError(HfMixtureError, ValueError):
    """A sampling strategy cannot be applied to the rows an entry has (e.g. random:N above the count)."""


class MixingError(HfMixtureError, ValueError):
    """The entries cannot be interleaved as the weights ask (e.g. a draw count without bound)."""


class OutputError(HfMixtureError, ValueError):
    """The output folder is not in the expected layout, or a stage cannot be written into it."""


class SkipRow(Exception):
    """Raised by a preprocess function to drop one row on purpose; `reason` becomes a report counter."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason
