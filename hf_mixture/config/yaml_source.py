"""Read a YAML file safely, remembering the line of every mapping key and any duplicated keys."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from hf_mixture.errors import ConfigError

KeyPath = tuple  # e.g. ("datasets", 2, "sampling_strategy")


@dataclass
class YamlDocument:
    """A parsed YAML file: its data, the 1-based line of each key path, and duplicated keys."""

    path: Path
    data: Any
    lines: dict[KeyPath, int] = field(default_factory=dict)
    duplicates: list[tuple[KeyPath, int, int]] = field(default_factory=list)

    def line_of(self, key_path: KeyPath) -> int | None:
        """The line of `key_path`, or of its nearest recorded parent."""
        for end in range(len(key_path), -1, -1):
            if key_path[:end] in self.lines:
                return self.lines[key_path[:end]]
        return None


def read_yaml(path: str | Path) -> YamlDocument:
    """Parse `path` with PyYAML's safe loader; a syntax error becomes a ConfigError with its line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as err:
        raise ConfigError([f"{path}: no such file"], str(path)) from err
    except UnicodeDecodeError as err:
        raise ConfigError([f"{path}: not UTF-8 text ({err.reason} at byte {err.start})"]) from err
    try:
        data = yaml.safe_load(text)
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as err:
        raise ConfigError([_yaml_message(path, err)], str(path)) from err
    document = YamlDocument(path=path, data=data)
    if node is not None:
        _walk(node, (), document)
    return document


def _yaml_message(path: Path, err: yaml.YAMLError) -> str:
    """One line for a YAML error: file:line, what is wrong, where the construct began, how to fix."""
    mark = getattr(err, "problem_mark", None)
    where = f"{path}:{mark.line + 1}" if mark else str(path)
    problem = getattr(err, "problem", None) or str(err)
    if isinstance(err, yaml.constructor.ConstructorError) and "tag" in problem:
        return (
            f"{where}: {problem}; stage files are read with the safe YAML loader, which allows only "
            "mappings, lists, strings, numbers, booleans and null (remove the `!!` tag)"
        )
    context = getattr(err, "context", None)
    context_mark = getattr(err, "context_mark", None)
    began = (
        f" ({context} that began on line {context_mark.line + 1})"
        if context and context_mark and (not mark or context_mark.line != mark.line)
        else ""
    )
    return f"{where}: YAML syntax error: {problem}{began}. Check indentation and quoting near that line."


def _walk(node: yaml.Node, key_path: KeyPath, document: YamlDocument) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            line = key_node.start_mark.line + 1
            if key in seen:
                document.duplicates.append(((*key_path, key), seen[key], line))
            seen[key] = line
            document.lines[(*key_path, key)] = line
            _walk(value_node, (*key_path, key), document)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            document.lines[(*key_path, index)] = item.start_mark.line + 1
            _walk(item, (*key_path, index), document)
