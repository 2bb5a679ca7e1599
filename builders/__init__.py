"""One `datasets` builder class per source; each yields rows of the unified schema."""

from builders.base import EntryBuilder, EntryBuilderConfig
from builders.tabular import TabularBuilder

__all__ = ["EntryBuilder", "EntryBuilderConfig", "TabularBuilder"]


def builder_class_for(entry) -> type[EntryBuilder]:
    """The builder class that reads `entry`'s files."""
    return TabularBuilder
