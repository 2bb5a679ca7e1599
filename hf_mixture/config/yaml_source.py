"""Read a YAML file safely, remembering the line of every mapping key and any duplicated keys."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from hf_mixture.errors import ConfigError

KeyPath = tuple  # e.g. ("datasets", 2, "sampling_strategy")
MAX_DOCUMENT_BYTES = 4 * 1024**2  # a stage file is a few kB; LaViDa-O's largest is under 10 kB
MAX_EXPANDED_NODES = 200_000  # nodes once every alias is expanded (a billion-laughs file: ~10**9)


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
    """Parse `path` with PyYAML's safe loader. ConfigError (with the line) for a syntax error, a
    file above MAX_DOCUMENT_BYTES, an alias that contains itself, or aliases expanding to more
    than MAX_EXPANDED_NODES nodes (a "billion laughs" file), checked before anything is expanded."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_DOCUMENT_BYTES:
            raise ConfigError(
                [f"{path}: {size} bytes; a stage file has at most {MAX_DOCUMENT_BYTES} (is it a data file?)"],
                str(path),
            )
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as err:
        raise ConfigError([f"{path}: no such file"], str(path)) from err
    except UnicodeDecodeError as err:
        raise ConfigError([f"{path}: not UTF-8 text ({err.reason} at byte {err.start})"]) from err
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is not None:
            _check_expansion(path, node)
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as err:
        raise ConfigError([_yaml_message(path, err)], str(path)) from err
    except RecursionError as err:
        raise ConfigError([f"{path}: values nested too deeply to read; flatten the file"], str(path)) from err
    finally:
        loader.dispose()
    document = YamlDocument(path=path, data=data)
    if node is not None:
        _walk(node, (), document)
    return document


def _check_expansion(path: Path, root: yaml.Node) -> None:
    """ConfigError when `root`, aliases expanded, has more than MAX_EXPANDED_NODES nodes or an
    alias inside its own anchor. Each distinct node is visited once (sizes memoised), so this
    costs the size of the file, not of the expansion."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            open_nodes.discard(key)
            sizes[key] = 1 + sum(sizes[id(child)] for child in _children(node))
            if sizes[key] > MAX_EXPANDED_NODES:
                raise ConfigError([_expansion_message(path, node)], str(path))
            continue
        if key in sizes:
            continue
        if key in open_nodes:
            raise ConfigError(
                [
                    f"{path}:{node.start_mark.line + 1}: an alias refers to the anchor it is inside; "
                    "stage files may not be recursive"
                ],
                str(path),
            )
        open_nodes.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node) if id(child) not in sizes)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _expansion_message(path: Path, node: yaml.Node) -> str:
    return (
        f"{path}:{node.start_mark.line + 1}: YAML aliases (*name) here expand to more than "
        f"{MAX_EXPANDED_NODES} values; a stage file this large is almost certainly an alias bomb. "
        "Write the values out, or use fewer nested aliases"
    )


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
