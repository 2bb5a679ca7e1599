"""LaViDa-O's `sampling_strategy` strings, parsed strictly."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction

FORMS = "all, full, first:N, first:P%, end:N, end:P%, random:N, random:P%, dup:K"
_NUMBER = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(%?)\s*$")


@dataclass(frozen=True, kw_only=True)
class SamplingStrategy:
    """One parsed strategy: `kind` is all/first/end/random/dup; a count or a percent (never both)."""

    kind: str
    text: str
    count: int | None = None
    percent: float | None = None

    def resolve_count(self, n_rows: int) -> int:
        """Rows the strategy names out of `n_rows` filtered rows (a percent rounds up, as LaViDa-O)."""
        if self.percent is not None:
            # exact decimal arithmetic: with floats, 2.2% of 1500 rows would round up to 34, not 33
            return min(n_rows, math.ceil(Fraction(str(self.percent)) * n_rows / 100))
        return self.count if self.count is not None else n_rows

    @property
    def dup_factor(self) -> int:
        """How many copies of each row the strategy makes (1 except for dup:K)."""
        return self.count if self.kind == "dup" else 1


def parse_sampling_strategy(text: object) -> SamplingStrategy:
    """Parse `text`; raise ValueError naming the allowed forms when it is not one of them."""
    if not isinstance(text, str):
        raise ValueError(f"expected a string such as 'all' or 'random:1000', got {text!r}; forms: {FORMS}")
    value = text.strip()
    if value in ("all", "full"):
        return SamplingStrategy(kind="all", text=value)
    kind, sep, number = value.partition(":")
    if not sep or kind not in ("first", "end", "random", "dup"):
        raise ValueError(f"{text!r} is not a sampling strategy; forms: {FORMS}")
    match = _NUMBER.match(number)
    if not match:
        raise ValueError(f"{text!r}: {number!r} is not a number or percent; forms: {FORMS}")
    amount, is_percent = float(match.group(1)), bool(match.group(2))
    if kind == "dup":
        return _parse_dup(text, amount, is_percent)
    if is_percent:
        if not 0 < amount <= 100:
            raise ValueError(f"{text!r}: a percent must be above 0 and at most 100")
        return SamplingStrategy(kind=kind, text=value, percent=amount)
    if amount != int(amount):
        raise ValueError(f"{text!r}: a row count must be a whole number (or write a percent, e.g. 12.5%)")
    return SamplingStrategy(kind=kind, text=value, count=int(amount))


def _parse_dup(text: str, amount: float, is_percent: bool) -> SamplingStrategy:
    if is_percent or amount != int(amount) or amount < 1:
        raise ValueError(f"{text!r}: dup takes a whole number of copies K >= 1, e.g. dup:3")
    return SamplingStrategy(kind="dup", text=text.strip(), count=int(amount))
