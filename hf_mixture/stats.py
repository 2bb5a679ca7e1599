"""Per-entry accounting: rows read, dropped by reason, added, written. The numbers must add up."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

from hf_mixture.redact import redact

MAX_EXAMPLES = 3  # rows kept per drop reason, to show why (the report's `examples`)
MAX_MESSAGE_CHARS = 300
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")  # object reprs in exception texts: not reproducible


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
    # per drop reason, the first MAX_EXAMPLES rows: {"id": row id or None, "message": what happened}
    examples: dict[str, list[dict]] = field(default_factory=dict)

    def wants_example(self, reason: str) -> bool:
        """Whether `reason` has fewer than MAX_EXAMPLES examples yet."""
        return len(self.examples.get(reason, ())) < MAX_EXAMPLES

    def note_drop(self, reason: str, row_id: str | None, message: str) -> None:
        """Keep (`row_id`, `message`) as an example of `reason` while it has fewer than
        MAX_EXAMPLES; the message is cut to MAX_MESSAGE_CHARS, secrets are masked and object
        addresses removed (a rebuild writes the same report)."""
        if self.wants_example(reason):
            text = _ADDRESS.sub("", redact(str(message)))
            if len(text) > MAX_MESSAGE_CHARS:
                text = text[: MAX_MESSAGE_CHARS - 3] + "..."
            self.examples.setdefault(reason, []).append({"id": row_id, "message": text})

    def add_examples(self, examples: dict[str, Iterable[dict]]) -> None:
        """Add examples from another part of the entry (e.g. a Ray task): per reason, the
        MAX_EXAMPLES of lowest source position are kept, the ones a single pass in source order
        keeps, whatever order the parts arrive in."""
        for reason, listed in examples.items():
            merged = sorted([*self.examples.get(reason, []), *listed], key=_source_order)
            self.examples[reason] = merged[:MAX_EXAMPLES]

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
        data["examples"] = {reason: listed for reason, listed in sorted(self.examples.items()) if listed}
        return data


def _source_order(example: dict) -> tuple:
    """Sort key of an example: the source position in its id (`<entry>/<position>[#copy]`)."""
    position = str(example["id"]).rsplit("/", 1)[-1].split("#", 1)[0]
    return (0, int(position), "") if position.isdigit() else (1, 0, str(example["id"]))
