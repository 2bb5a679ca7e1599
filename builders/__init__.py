"""One `datasets` builder class per source; each yields rows of the unified schema.

An entry picks its builder with `builder: <name>` (default `tabular`) and configures it with
`builder_options: {...}`; `BUILDERS` maps the names to the classes.
"""

from builders.base import EntryBuilder, EntryBuilderConfig
from builders.coyo import CoyoBuilder
from builders.echo4o import Echo4oBuilder
from builders.gpt_image_edit import GptImageEditBuilder
from builders.grand import GrandBuilder
from builders.laion import LaionBuilder
from builders.llava import LlamaFactoryBuilder, LlavaBuilder, ShareGptBuilder
from builders.mammoth import MammothBuilder
from builders.options import BuilderOptionsError
from builders.reflect_dit import ReflectDitBuilder
from builders.sharegpt4o import ShareGpt4oBuilder
from builders.source import SourceBuilder
from builders.tabular import TabularBuilder
from builders.visualwebinstruct import VisualWebInstructBuilder
from builders.webdataset import WebDatasetBuilder
from hf_mixture.sources.tables import FORMATS

__all__ = ["BUILDERS", "EntryBuilder", "EntryBuilderConfig", "SourceBuilder", "TabularBuilder"]

DEFAULT_BUILDER = "tabular"
BUILDERS: dict[str, type[EntryBuilder]] = {
    DEFAULT_BUILDER: TabularBuilder,
    **{
        cls.NAME: cls
        for cls in (
            LaionBuilder,
            CoyoBuilder,
            WebDatasetBuilder,
            ReflectDitBuilder,
            ShareGpt4oBuilder,
            Echo4oBuilder,
            GptImageEditBuilder,
            MammothBuilder,
            GrandBuilder,
            VisualWebInstructBuilder,
            LlavaBuilder,
            ShareGptBuilder,
            LlamaFactoryBuilder,
        )
    },
}


def builder_names() -> list[str]:
    """Every builder name an entry may give in `builder:`."""
    return sorted(BUILDERS)


def builder_class_for(entry) -> type[EntryBuilder]:
    """The builder class that reads `entry`'s files (its `builder:` key)."""
    return BUILDERS[getattr(entry, "builder", DEFAULT_BUILDER) or DEFAULT_BUILDER]


def builder_problems(name, options) -> list[tuple[str, str]]:
    """What is wrong with an entry's `builder` / `builder_options`, as (key, message) pairs."""
    if not isinstance(name, str) or name not in BUILDERS:
        return [("builder", f"unknown builder {name!r}; known builders: {', '.join(builder_names())}")]
    cls = BUILDERS[name]
    if not issubclass(cls, SourceBuilder):
        if options:
            return [("builder_options", f"builder {name!r} takes no options, got {options!r}")]
        return []
    try:
        cls.parse(options)
    except BuilderOptionsError as err:
        return [("builder_options", str(err))]
    return []


def default_preprocess_fn(name) -> str | None:
    """The preprocess function an entry of builder `name` (None: the default builder) uses when it
    names none: LaViDa-O payload records for `tabular`, the conversations of the user's own data
    builders; None when the builder has no default."""
    name = DEFAULT_BUILDER if name is None else name
    cls = BUILDERS.get(name) if isinstance(name, str) else None
    return getattr(cls, "PREPROCESS_FN", None)


def builder_file_types(name) -> tuple[str, ...]:
    """The file name endings `json_path` may have for builder `name`."""
    cls = BUILDERS.get(name) if isinstance(name, str) else None
    if cls is None or not issubclass(cls, SourceBuilder):
        return tuple(FORMATS)
    return cls.FILE_TYPES


def declared_columns(name, options) -> list[str] | None:
    """The columns builder `name` yields with `options`, or None when they come from the files
    (`tabular`). Raises KeyError / BuilderOptionsError for a wrong builder or options."""
    cls = BUILDERS[name]
    if not issubclass(cls, SourceBuilder):
        return None
    return cls.schema(cls.parse(options)).names
