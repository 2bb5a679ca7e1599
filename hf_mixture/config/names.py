"""What a stage (config) name may be: it is a Hub config name and a folder name under `--out`."""

from __future__ import annotations

import re

# Letters, digits, `-`, `_`, `.`; first a letter or digit, so never `.`, `..` or a hidden folder
# (the push skips `.*` paths and builds stage shards in `.<stage>-tmp*` folders). The Hub's config
# names are free text in YAML, but a stage name is also the folder `<stage>/` of its shards and
# the `data_files` glob `<stage>/train-*`, so glob and path characters are refused too.
STAGE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")
RESERVED = {"data"}  # `Dataset.push_to_hub(config_name="data")` is refused by `datasets`


def stage_name_problem(name: str) -> str | None:
    """Why `name` cannot be a stage name, or None when it can."""
    if name in RESERVED:
        return f"{name!r} is reserved by `datasets` (push_to_hub refuses config_name='data'); pick another"
    if not STAGE_NAME.match(name):
        return (
            f"{name!r} is not a valid stage name: use 1-96 letters, digits, `-`, `_` or `.`, starting with "
            "a letter or digit (it becomes the folder <out>/<name>/ and the Hub config name), e.g. s2-256"
        )
    return None
