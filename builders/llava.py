"""The user's own conversation data: LLaVA / ShareGPT records, and LLaMA-Factory datasets.

`builder: llava` (alias `sharegpt`) reads JSON / JSONL / parquet records as users write them:
- images: `image` (a path or a list of paths) or `images` (a list); absent or empty for text rows;
- turns: `conversations` or `messages`, each turn `from`/`value` or `role`/`content`; roles
  `human`/`user` and `gpt`/`assistant` (any case);
- a `system` turn (or a `system` key) is merged into the first user turn, as `<system>\\n\\n<turn>`:
  the unified schema has no system prompt and LaViDa-O's chat template adds its own;
- any other key (`width`, `height`, ...) is ignored (`id` is kept in the source row; the mixture's
  row id is `<entry>/<position>` as for every source).
Image paths are kept as written (resolved like every reference: relative to `image_root`, else the
YAML file's folder) or joined to the `image_folder` option.

`builder: llamafactory` reads a LLaMA-Factory dataset: `json_path` is its `dataset_info.json`,
`builder_options.dataset` the dataset name in it. Its `file_name` (relative to that file's folder),
`formatting` (only `sharegpt`: `alpaca` rows have no image list), `columns` (`messages`, `images`,
`system`) and `tags` (`role_tag`, `content_tag`, `user_tag`, `assistant_tag`, `system_tag`; the
ShareGPT defaults `from`/`value`/`human`/`gpt`/`system`) are honoured as LLaMA-Factory reads them
(llamafactory.md), and relative image paths are joined to `media_dir` (option; default the
dataset folder, as LLaMA-Factory's).

Both yield `id`, `image` (list of paths), `conversations` (`human`/`gpt` turns) for the
`llava_conversations` preprocess function (their default `preprocess_fn`), which keeps the turns
verbatim. `<image>` tokens: none in a row with images -> one per image is added in front of the
first turn by the pipeline (counted as `repair:image_token_added`); a count that differs from the
images, or a token inside an answer, drops the row (`source:image_token_mismatch`,
`source:image_token_in_answer`). A role other than user / assistant / system (tool calls,
observations) drops the row as `source:unsupported_role`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import pyarrow as pa

from builders.conversations import check_image_tokens
from builders.source import as_id, as_text, join_location, parent_of, string_list
from builders.visualwebinstruct import VisualWebInstructBuilder
from hf_mixture.errors import SkipRow, SourceError

PREPROCESS_FN = "llava_conversations"
SHAREGPT_TAGS = {"role_tag": "from", "content_tag": "value", "user_tag": "human", "assistant_tag": "gpt",
                 "system_tag": "system"}  # fmt: skip
USER_ROLES, ASSISTANT_ROLES, SYSTEM_ROLES = {"human", "user"}, {"gpt", "assistant", "model"}, {"system"}


@dataclass(frozen=True)
class Roles:
    """How a file spells its turns: the keys of role and text, and the role names."""

    role_tag: str = "from"
    content_tag: str = "value"
    user: frozenset = frozenset(USER_ROLES)
    assistant: frozenset = frozenset(ASSISTANT_ROLES)
    system: frozenset = frozenset(SYSTEM_ROLES)


def roles_from_tags(tags: dict) -> Roles:
    """LLaMA-Factory's `tags` of a ShareGPT dataset (missing ones take the ShareGPT defaults)."""
    tags = {**SHAREGPT_TAGS, **(tags or {})}
    return Roles(
        tags["role_tag"],
        tags["content_tag"],
        frozenset([tags["user_tag"]]),
        frozenset([tags["assistant_tag"]]),
        frozenset([tags["system_tag"]]),
    )


def user_turns(messages, roles: Roles, system: str | None = None) -> list[dict]:
    """`human`/`gpt` turns from a message list; system text merged into the first user turn.
    SkipRow `source:conversations_not_a_list` / `source:unsupported_role`."""
    if isinstance(messages, str):
        try:
            messages = json.loads(messages)
        except json.JSONDecodeError as err:
            raise SkipRow("source:conversations_not_json") from err
    if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
        raise SkipRow("source:conversations_not_a_list")
    systems, turns = [system] if system else [], []
    for message in messages:
        role = str(message.get(roles.role_tag) or "").strip()
        text = as_text(message.get(roles.content_tag)) or ""
        folded = role.lower()
        if role in roles.system or folded in roles.system:
            systems.append(text)
        elif role in roles.user or folded in roles.user:
            turns.append({"from": "human", "value": text})
        elif role in roles.assistant or folded in roles.assistant:
            turns.append({"from": "gpt", "value": text})
        else:
            raise SkipRow("source:unsupported_role")
    systems = [s for s in systems if s.strip()]
    if systems and turns and turns[0]["from"] == "human":
        turns[0] = {"from": "human", "value": "\n\n".join([*systems, turns[0]["value"]])}
    return turns


def conversation_row(record: dict, images: list[str], messages, roles: Roles, system=None) -> dict:
    """A row of SCHEMA; SkipRow when its `<image>` tokens cannot match its images."""
    turns = user_turns(messages, roles, as_text(system))
    check_image_tokens(turns, len(images))
    return {"id": as_id(record.get("id")), "image": images, "conversations": turns}


class LlavaBuilder(VisualWebInstructBuilder):
    """LLaVA / ShareGPT conversation records, with or without images (VisualWebInstruct's files and
    rows, with the user's spellings)."""

    NAME = "llava"
    PREPROCESS_FN = PREPROCESS_FN

    def normalise(self, record: dict, folder: str | None) -> dict:
        images = string_list(record["image"] if record.get("image") is not None else record.get("images"))
        if folder:
            images = [join_location(folder, p) for p in images]
        messages = (
            record["conversations"] if record.get("conversations") is not None else record.get("messages")
        )
        first = messages[0] if isinstance(messages, list) and messages else {}
        spelled = Roles("role", "content") if isinstance(first, dict) and "role" in first else Roles()
        return conversation_row(record, images, messages, spelled, record.get("system"))


class ShareGptBuilder(LlavaBuilder):
    """The `llava` builder under its other common name."""

    NAME = "sharegpt"


@dataclass(frozen=True)
class LlamaFactoryOptions:
    """`dataset`: the name in `dataset_info.json` (required); `media_dir`: folder relative image
    paths are joined to (default: the dataset folder, as LLaMA-Factory's)."""

    dataset: str = ""
    media_dir: str | None = None

    def __post_init__(self):
        if not self.dataset:
            raise ValueError("builder_options.dataset: required, the dataset's name in dataset_info.json")


class LlamaFactoryBuilder(LlavaBuilder):
    """A LLaMA-Factory ShareGPT dataset named in a `dataset_info.json`."""

    NAME = "llamafactory"
    OPTIONS = LlamaFactoryOptions
    FILE_TYPES = (".json",)

    def extra_roots(self) -> list[str]:
        media = self.folder_of_option(self.options.media_dir)
        return [media] if media else []

    def read_tables(self) -> Iterator[pa.Table]:
        for info_path in self.entry.files:
            attr = self._dataset_attr(info_path)
            folder = parent_of(info_path)
            media = self.folder_of_option(self.options.media_dir) or folder
            columns = {"messages": "conversations", "images": None, "system": None, **attr.get("columns", {})}
            roles = roles_from_tags(attr.get("tags", {}))
            data_path = join_location(folder, attr["file_name"])
            yield from self.tables_of(self._lf_rows(data_path, columns, roles, media))

    def _dataset_attr(self, info_path: str) -> dict:
        try:
            with self.storage.open(info_path) as handle:
                info = json.load(handle)
        except (OSError, json.JSONDecodeError, UnicodeDecodeError) as err:
            raise SourceError(f"{info_path}: cannot read as dataset_info.json ({err})") from err
        name = self.options.dataset
        attr = info.get(name) if isinstance(info, dict) else None
        if not isinstance(attr, dict):
            known = ", ".join(sorted(info)) if isinstance(info, dict) else "none"
            raise SourceError(
                f"{info_path}: builder_options.dataset {name!r} is not in it; datasets: {known}"
            )
        formatting = attr.get("formatting", "alpaca")
        if formatting != "sharegpt" or not isinstance(attr.get("file_name"), str):
            raise SourceError(
                f"{info_path}: dataset {name!r}: formatting {formatting!r}, file_name "
                f"{attr.get('file_name')!r}; only sharegpt datasets with a local file_name are read"
            )
        return attr

    def _lf_rows(self, data_path: str, columns: dict, roles: Roles, media: str) -> Iterator[dict]:
        return self.kept(self._records(data_path), lambda r: self._lf_row(r, columns, roles, media))

    def _lf_row(self, record: dict, columns: dict, roles: Roles, media: str) -> dict:
        images = string_list(record.get(columns["images"])) if columns["images"] else []
        images = [join_location(media, p) for p in images]
        system = record.get(columns["system"]) if columns["system"] else None
        return conversation_row(record, images, record.get(columns["messages"]), roles, system)
