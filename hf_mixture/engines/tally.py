"""Counters of distributed tasks, summed into an entry's `EntryStats`.

Tasks report to one small actor per build (`Tally`); this module imports only Ray, so the actor's
process starts fast. A report is keyed (entry token, step, piece or batch): a task that Ray retries
replaces its earlier report instead of adding to it.
"""

from __future__ import annotations

import ray

from hf_mixture.stats import EntryStats


@ray.remote(num_cpus=0)
class Tally:
    """Reports by key; `take(token)` returns and forgets those of one entry."""

    def __init__(self):
        self._parts: dict = {}

    def put(self, key: tuple, counts: dict) -> None:
        self._parts[key] = counts

    def take(self, token: str) -> list[dict]:
        keys = [k for k in self._parts if k[0] == token]
        return [self._parts.pop(k) for k in keys]


def report(tally, key: tuple, stats: EntryStats, **extra: int) -> None:
    """Send a task's counters (and `extra` numbers, e.g. `data_bytes`) and wait until the actor
    has them (none lost when the task ends)."""
    ray.get(tally.put.remote(key, {**stats_counts(stats), **extra}))


def stats_counts(stats: EntryStats) -> dict:
    """The additive counters of `stats`."""
    return {
        "read": stats.read,
        "sampled": stats.sampled,
        "dup_added": stats.dup_added,
        "rows": stats.rows,
        "dropped": {reason: n for reason, n in stats.dropped.items() if n},
        "repaired": {fix: n for fix, n in stats.repaired.items() if n},
        "examples": stats.examples,
    }


def add_counts(stats: EntryStats, counts: dict) -> None:
    """Add one task's counters (from `stats_counts`) to `stats`."""
    stats.read += counts["read"]
    stats.sampled += counts["sampled"]
    stats.dup_added += counts["dup_added"]
    stats.rows += counts["rows"]
    stats.dropped.update(counts["dropped"])
    stats.repaired.update(counts["repaired"])
    stats.add_examples(counts.get("examples", {}))
