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
`system`) and `tags` (`role_tag`, `content_tag`, `user_tag`, `assistant_tag`, `system_tag`) are
honoured as LLaMA-Factory's `DatasetAttr.join` reads them (hiyouga/LLaMA-Factory ff6d4d1): without
`columns`, messages are in `conversations`; without `tags`, the ShareGPT defaults
`from`/`value`/`human`/`gpt`/`system`; a column or tag the mapping leaves out is unset (a `system`
message is then a role it does not know); roles are compared as written, a system message only
first (else the row is dropped, as LLaMA-Factory skips it). Relative image paths are joined to
`media_dir` (option; default the dataset folder, as LLaMA-Factory's).

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
TAG_NAMES = ("role_tag", "content_tag", "user_tag", "assistant_tag", "system_tag")
SHAREGPT_TAGS = dict(zip(TAG_NAMES, ("from", "value", "human", "gpt", "system")))
USER_ROLES, ASSISTANT_ROLES, SYSTEM_ROLES = {"human", "user"}, {"gpt", "assistant", "model"}, {"system"}


@dataclass(frozen=True)
class Roles:
    """How a file spells its turns: the keys of role and text, and the role names. `exact`: roles
    compared as written and a system turn only first (LLaMA-Factory); else any case, anywhere."""

    role_tag: str = "from"
    content_tag: str = "value"
    user: frozenset = frozenset(USER_ROLES)
    assistant: frozenset = frozenset(ASSISTANT_ROLES)
    system: frozenset = frozenset(SYSTEM_ROLES)
    exact: bool = False

    def of(self, message: dict, first: bool) -> str | None:
        """`human`, `gpt`, `system`, or None for a role this file does not name."""
        role = str(message.get(self.role_tag) or "").strip()
        role = role if self.exact else role.lower()
        if role in self.system and (first or not self.exact):
            return "system"
        return "human" if role in self.user else "gpt" if role in self.assistant else None


def roles_from_tags(attr: dict) -> Roles:
    """LLaMA-Factory's tags of a ShareGPT dataset: the ShareGPT defaults without `tags`; with
    `tags`, a tag it does not give is unset (LLaMA-Factory's `DatasetAttr.join`), so e.g. a system
    turn is only recognised when `system_tag` is given."""
    tags = {name: attr["tags"].get(name) for name in TAG_NAMES} if "tags" in attr else SHAREGPT_TAGS
    names = [frozenset([tags[name]] if tags[name] is not None else []) for name in TAG_NAMES[2:]]
    return Roles(tags["role_tag"], tags["content_tag"], *names, exact=True)


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
    for i, message in enumerate(messages):
        role = roles.of(message, first=i == 0)
        if role is None:
            raise SkipRow("source:unsupported_role")
        text = as_text(message.get(roles.content_tag)) or ""
        if role == "system":
            systems.append(text)
        else:
            turns.append({"from": role, "value": text})
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
            columns = _columns(attr, info_path)
            roles = roles_from_tags(attr)
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


def _columns(attr: dict, info_path: str) -> dict:
    """The `messages`, `images` and `system` columns as LLaMA-Factory maps them: `conversations`
    without `columns`; with `columns`, a column it does not name is unset."""
    if "columns" not in attr:
        return {"messages": "conversations", "images": None, "system": None}
    columns = {key: attr["columns"].get(key) for key in ("messages", "images", "system")}
    if not columns["messages"]:
        raise SourceError(f"{info_path}: columns names no `messages` column; LLaMA-Factory needs one")
    return columns
