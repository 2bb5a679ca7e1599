"""Per-entry accounting: rows read, dropped by reason, added, written. The numbers must add up."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field


@dataclass
class EntryStats:
    """What happened to one YAML entry's rows, from source to stage."""

    index: int
    name: str
    key: str
    length_group: str
    preprocess_fn: str
    sampling_strategy: str
    filters: list[str] = field(default_factory=list)
    read: int = 0
    dropped: Counter = field(default_factory=Counter)
    repaired: Counter = field(default_factory=Counter)  # rows kept after a safe fix, by fix
    sampled: int = 0
    dup_added: int = 0
    rows: int = 0
    mixing_added: int = 0
    written: int = 0
    expected_share: float = 0.0
    realised_share: float = 0.0

    def balance(self) -> int:
        """read + added - written - dropped: zero when every row is accounted for."""
        return self.read + self.dup_added + self.mixing_added - self.written - sum(self.dropped.values())

    def why_empty(self) -> str:
        """Why the entry kept no rows, in words: what the source gave and where its rows went
        (e.g. `read 3 rows, all dropped: media:missing_file 3`)."""
        if not self.read:
            return "read no rows from its source"
        top = sorted(((n, r) for r, n in self.dropped.items() if n), reverse=True)[:3]
        reasons = ", ".join(f"{reason} {n}" for n, reason in top)
        return (
            f"read {self.read} rows, all dropped: {reasons}"
            if reasons
            else f"read {self.read} rows, none kept"
        )

    def to_dict(self) -> dict:
        """A JSON-ready dict, drop reasons sorted."""
        data = asdict(self)
        data["dropped"] = {reason: n for reason, n in sorted(self.dropped.items()) if n}
        data["repaired"] = {fix: n for fix, n in sorted(self.repaired.items()) if n}
        return data
