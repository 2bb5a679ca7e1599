"""Markdown pieces of the dataset card body (pure text from summaries; no I/O)."""

from __future__ import annotations

from datasets.info import DatasetInfosDict
from datasets.utils.metadata import MetadataConfigs

from hf_mixture.export.card_data import SourceSummary, StageSummary
from hf_mixture.export.folder import CHARTS


def stages_table(configs: MetadataConfigs, infos: DatasetInfosDict, default: str | None) -> str:
    """`## Stages`: one line per config with its row count."""
    lines = ["## Stages\n", "| config | rows | default |", "|---|---:|:---:|"]
    for name in sorted(configs):
        info = infos.get(name)
        rows = sum(s.num_examples for s in info.splits.values()) if info and info.splits else "?"
        lines.append(f"| `{name}` | {rows} | {'yes' if name == default else ''} |")
    return "\n".join(lines) + "\n"


def loading_section(target: str, stage: str) -> str:
    """`## Loading`: normal, streaming and distributed loading of a stage."""
    return f"""## Loading

```python
from datasets import load_dataset

ds = load_dataset("{target}", "{stage}", split="train")  # one config per stage

# streaming: nothing is downloaded up front; images decode to PIL on access
stream = load_dataset("{target}", "{stage}", split="train", streaming=True)
print(next(iter(stream))["conversations"])

# one shard set per rank (whole files per rank when num_shards % world_size == 0,
# otherwise every rank reads everything and keeps 1/world_size of the rows)
from datasets.distributed import split_dataset_by_node

rank_stream = split_dataset_by_node(stream, rank=0, world_size=8)

# the rows of one source, read with parquet pushdown; the card declares the whole stage's split
# size, so skip that check (without verification_mode: NonMatchingSplitsSizesError)
name = ds["source"][0]
one_source = load_dataset(
    "{target}", "{stage}", split="train", filters=[("source", "=", name)], verification_mode="no_checks"
)
```

`images` are the understanding-branch inputs (one per `<image>` token), `image_gen` the generation
targets (one per `<image_gen>` token) and `image_gen_enc` indices into `images` fed to the generation
encoder (one per `<image_gen_enc>` token).
"""


def stage_section(summary: StageSummary) -> str:
    """A stage's part of the body, between markers: what it holds, per-source table, its YAML."""
    report = summary.report
    facts = [f"{summary.rows} rows in {summary.shards} parquet shard(s)"]
    for key in ("seed", "stopping_strategy"):
        if report.get(key) is not None:
            facts.append(f"{key.replace('_', ' ')} `{report[key]}`")
    if report.get("weights"):
        facts.append("group weights " + ", ".join(f"`{g}`: {w:g}" for g, w in report["weights"].items()))
    parts = [
        f"<!-- hf-mixture:stage {summary.name} -->",
        f"## Stage `{summary.name}`\n",
        "; ".join(facts) + ". Tasks: " + ", ".join(f"`{t}`" for t in sorted(summary.tasks)) + ".\n",
        _sources_table(summary.sources),
        _charts(summary.charts),
        _yaml_block(summary),
        f"<!-- hf-mixture:end {summary.name} -->",
    ]
    return "\n".join(parts) + "\n"


def _sources_table(sources: tuple[SourceSummary, ...]) -> str:
    lines = [
        "| source | tasks | length group | rows | share | expected | license | read | dropped |",
        "|---|---|---|---:|---:|---:|---|---:|---|",
    ]
    for s in sources:
        name = f"[{s.name}](https://huggingface.co/datasets/{s.repo_id})" if s.repo_id else s.name
        if s.key != s.name.replace("/", "_"):
            name += f" (`{s.key}`)"  # a repeated entry name: the entry key tells the lines apart
        expected = f"{s.expected_share:.1%}" if s.expected_share is not None else ""
        dropped = ", ".join(f"{reason} {n}" for reason, n in sorted(s.dropped.items())) or "0"
        lines.append(
            f"| {name} | {', '.join(s.tasks)} | {s.length_group} | {s.rows} | {s.share:.1%} | {expected} "
            f"| {s.license_text} | {'' if s.read is None else s.read} | {dropped} |"
        )
    return "\n".join(lines) + "\n"


def _charts(charts: tuple[str, ...]) -> str:
    """Image links to the stage's charts (paths relative to README.md: the Hub renders them)."""
    return "".join(f"![{CHARTS.get(path.rsplit('/', 1)[-1], path)}]({path})\n\n" for path in charts)


def _yaml_block(summary: StageSummary) -> str:
    if summary.yaml_text is None:
        return "_The YAML that built this stage was not saved with it._\n"
    fence = "````" if "```" in summary.yaml_text else "```"
    return (
        "<details><summary>YAML that built this stage</summary>\n\n"
        f"{fence}yaml\n{summary.yaml_text.rstrip()}\n{fence}\n\n</details>\n"
    )
