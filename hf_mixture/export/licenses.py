"""Source licenses and Hub ids for the dataset card.

The per-row `license` column (the entry's or stage's `license:` in the YAML) is the authority. When a
source has no license there, the card falls back to what /work/shared/spec/sources.md records for the
public source a LaViDa-O preprocess function (or entry name) reads; anything else is `unknown`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

UNKNOWN = "unknown"

# Hub license ids (https://hf.co/docs/hub/repositories-licenses) a source is likely to carry.
HUB_LICENSE_IDS = frozenset(
    {
        "apache-2.0", "mit", "openrail", "bigscience-openrail-m", "creativeml-openrail-m", "bsd-2-clause",
        "bsd-3-clause", "cc0-1.0", "cc-by-2.0", "cc-by-3.0", "cc-by-4.0", "cc-by-sa-3.0", "cc-by-sa-4.0",
        "cc-by-nc-2.0", "cc-by-nc-3.0", "cc-by-nc-4.0", "cc-by-nc-sa-4.0", "cc-by-nc-nd-4.0", "cc-by-nd-4.0",
        "odc-by", "odbl", "pddl", "gpl-3.0", "lgpl-3.0", "agpl-3.0", "llama2", "llama3", "gemma", "unlicense",
        "cdla-permissive-2.0", "cdla-sharing-1.0", "other",
    }
)  # fmt: skip

_ALIASES = {
    "apache": "apache-2.0",
    "apache-license-2.0": "apache-2.0",
    "cc0": "cc0-1.0",
    "odc-by-1.0": "odc-by",
}


@dataclass(frozen=True)
class KnownSource:
    """A public source: its Hub repo and license as published."""

    repo_id: str
    license: str


# By LaViDa-O preprocess function (specific to one source), then by entry-name prefix.
KNOWN_BY_FUNCTION = {
    "preproces_und_mammoth_si_10M": KnownSource("MAmmoTH-VL/MAmmoTH-VL-Instruct-12M", "apache-2.0"),
    "preproces_grandf": KnownSource("MBZUAI/GranD-f", "apache-2.0"),
    "process_gpt_edit": KnownSource("UCSC-VLAA/GPT-Image-Edit-1.5M", "cc-by-4.0"),
    "preproces_vw_instruct": KnownSource("TIGER-Lab/VisualWebInstruct", "apache-2.0"),
}
KNOWN_BY_NAME_PREFIX = {
    "blip3o-journeydb": KnownSource("BLIP3o/BLIP3o-Pretrain-JourneyDB", UNKNOWN),
    "blip3o-60k": KnownSource("BLIP3o/BLIP3o-60k", UNKNOWN),
    "reflect-dit": KnownSource("KonstantinosKK/reflect-dit-train-images", "apache-2.0"),
    "echo-4o": KnownSource("Yejy53/Echo-4o-Image", "mit"),
    "coyo": KnownSource("kakaobrain/coyo-700m", "cc-by-4.0"),
    "sharegpt-4o": KnownSource("FreedomIntelligence/ShareGPT-4o-Image", UNKNOWN),
}


def hub_license_id(text: str | None) -> str:
    """A Hub license id for a free-text license ("CC-BY 4.0" -> "cc-by-4.0"), or `unknown`."""
    if not text or not text.strip():
        return UNKNOWN
    slug = re.sub(r"[\s_]+", "-", text.strip().lower()).replace("license-", "")
    slug = re.sub(r"-v?(\d)", r"-\1", slug)
    slug = _ALIASES.get(slug, slug)
    return slug if slug in HUB_LICENSE_IDS else UNKNOWN


def known_source(name: str, preprocess_fn: str | None) -> KnownSource | None:
    """The public source an entry reads, when its function or name identifies one."""
    if preprocess_fn in KNOWN_BY_FUNCTION:
        return KNOWN_BY_FUNCTION[preprocess_fn]
    for prefix, source in KNOWN_BY_NAME_PREFIX.items():
        if name.lower().startswith(prefix):
            return source
    return None


def source_license(row_licenses: list[str | None], known: KnownSource | None) -> tuple[str, str]:
    """(license as written, Hub id) for a source: the row `license` values first, then `known`."""
    written = sorted({v for v in row_licenses if v})
    if written:
        ids = {hub_license_id(v) for v in written}
        return ", ".join(written), ids.pop() if len(ids) == 1 else UNKNOWN
    if known and known.license != UNKNOWN:
        return f"{known.license} (as published)", known.license
    return UNKNOWN, UNKNOWN
