"""Generated blocks in Markdown files: the text between `<!-- NAME:start -->` and `<!-- NAME:end -->` markers,
replaced by what pipelines.results (and benchmarks.vision_speed) computed, never typed by hand.

The database does not travel between machines, so the writer merges per dataset rather than replacing whole blocks:

- `results`, `faithfulness` and `findings` are sequences of per-dataset sections, each opened by a
  `<!-- section: DATASET -->` line. A regenerated section replaces the old one of its dataset; an old section whose
  dataset has nothing in the database now is kept verbatim; sections follow pruning_core.text.data.DATASETS (then
  any other datasets, sorted). Old content with no section markers at all is replaced whole.
- `headline` (the README) is one table whose rows are keyed by their first cell, the dataset: regenerated rows
  replace old ones, old rows of datasets with nothing in the database are kept (when the old table has the same
  columns; otherwise nothing is written), ordered as DATASETS then pipelines.common.IMAGE_DATASETS; the header and
  the note under the table are the new ones.
- Any other block (`vision-results`, `kv-results`) is replaced whole.

A table that says nothing is stored yet ('_No ...') keeps its block as it was. `write_blocks` checks every file
before it writes any, so none is left half rewritten.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Callable

from pruning_core.paths import REPO_ROOT
from pruning_core.text.data import DATASETS

from .common import IMAGE_DATASETS

START, END = "<!-- results:start -->", "<!-- results:end -->"
VISION_START, VISION_END = "<!-- vision-results:start -->", "<!-- vision-results:end -->"
FAITHFULNESS_START, FAITHFULNESS_END = "<!-- faithfulness:start -->", "<!-- faithfulness:end -->"
FINDINGS_START, FINDINGS_END = "<!-- findings:start -->", "<!-- findings:end -->"
HEADLINE_START, HEADLINE_END = "<!-- headline:start -->", "<!-- headline:end -->"
KV_START, KV_END = "<!-- kv-results:start -->", "<!-- kv-results:end -->"   # pipelines.kv_results
# {block name: its markers}: the blocks docs/results.md holds (benchmarks/vision_speed.py writes vision-speed there
# too), and the README's one headline table.
RESULT_BLOCKS = {"results": (START, END), "vision-results": (VISION_START, VISION_END),
                 "faithfulness": (FAITHFULNESS_START, FAITHFULNESS_END), "findings": (FINDINGS_START, FINDINGS_END),
                 "kv-results": (KV_START, KV_END)}
HEADLINE_BLOCKS = {"headline": (HEADLINE_START, HEADLINE_END)}
RESULTS_DOC, README = Path("docs") / "results.md", Path("README.md")   # `--write`'s targets, in the repository
SECTION = re.compile(r"^<!-- section: (\S+) -->$", re.M)
DATASET_ORDER = (*DATASETS, *IMAGE_DATASETS)   # sections and headline rows: text datasets, then images


def _block_pattern(start: str, end: str) -> re.Pattern:
    return re.compile(re.escape(start) + r"\n?(.*?)\n?" + re.escape(end), re.S)


def rewrite_block(readme: Path, table: str, start: str = START, end: str = END) -> None:
    """Replace the text between the start and end markers of the file with `table` (the markers stay)."""
    text = readme.read_text()
    pattern = _block_pattern(start, end)
    if not pattern.search(text):
        raise SystemExit(f"{readme} has no {start} ... {end} block to rewrite.")
    readme.write_text(pattern.sub(lambda _: f"{start}\n{table}\n{end}", text))


def ordered(parts: dict[str, str]) -> dict[str, str]:
    """`parts` keyed by dataset, in DATASET_ORDER, then any other keys sorted."""
    rank = {dataset: number for number, dataset in enumerate(DATASET_ORDER)}
    return dict(sorted(parts.items(), key=lambda item: (rank.get(item[0], len(rank)), item[0])))


def join_sections(sections: dict[str, str]) -> str:
    """A sectioned block's content: each dataset's markdown under its `<!-- section: DATASET -->` line."""
    return "\n\n".join(f"<!-- section: {dataset} -->\n{text}" for dataset, text in ordered(sections).items())


def split_sections(content: str) -> dict[str, str]:
    """{dataset: its markdown} of a sectioned block's content; {} when it has no section markers."""
    parts = SECTION.split(content)   # [text before the first marker, dataset, its text, dataset, its text, ...]
    return {dataset: text.strip("\n") for dataset, text in zip(parts[1::2], parts[2::2])}


def merge_sections(old: str, new: str) -> str:
    """`new`'s sections, plus `old`'s for the datasets `new` lacks (`new` alone when it has no sections)."""
    fresh = split_sections(new)
    return join_sections({**split_sections(old), **fresh}) if fresh else new


def _table_and_rest(content: str) -> tuple[list[str], str]:
    """The lines of the table that opens `content`, and the text after it."""
    lines = content.splitlines()
    size = next((number for number, line in enumerate(lines) if not line.startswith("|")), len(lines))
    return lines[:size], "\n".join(lines[size:])


def _first_cell(row: str) -> str:
    return row.split("|")[1].strip()


def merge_rows(old: str, new: str) -> str:
    """`new`'s table with `old`'s rows kept for the datasets (first cells) `new` lacks, then the text under `new`'s
    table. Raises ValueError when rows would be kept under a header other than theirs."""
    new_table, rest = _table_and_rest(new)
    old_table, _ = _table_and_rest(old)
    if len(new_table) < 2:
        return new
    fresh = {_first_cell(row): row for row in new_table[2:]}
    kept = {_first_cell(row): row for row in old_table[2:] if _first_cell(row) not in fresh}
    if kept and old_table[:2] != new_table[:2]:
        raise ValueError(f"its old rows for {', '.join(kept)} have other columns than the new table (regenerate "
                         "those datasets, or delete their rows by hand)")
    rows = ordered({**kept, **fresh}).values()
    return "\n".join([*new_table[:2], *rows]) + (f"\n{rest}" if rest else "")


# How a regenerated block meets what its file held: (old content, new content) -> the content to write; a block not
# named here (vision-results, kv-results: one dataset each) is replaced by the new content.
MERGES: dict[str, Callable[[str, str], str]] = {"results": merge_sections, "faithfulness": merge_sections,
                                                "findings": merge_sections, "headline": merge_rows}


def write_targets(path: str | None, root: Path | None = None) -> list[tuple[Path, dict, dict]]:
    """[(file, its required blocks, its optional blocks)] for `--write`: with no path, docs/results.md's blocks and
    README.md's headline under the repository (or the working directory); with a path, docs/results.md's blocks
    there, and its headline block when it holds one."""
    if path:
        return [(Path(path), RESULT_BLOCKS, HEADLINE_BLOCKS)]
    root = root or REPO_ROOT or Path.cwd()
    return [(root / RESULTS_DOC, RESULT_BLOCKS, {}), (root / README, HEADLINE_BLOCKS, {})]


def write_blocks(targets: list[tuple[Path, dict, dict]], tables: dict[str, str]) -> list[str]:
    """Rewrite each target's blocks with `tables` ({block name: markdown}), merged per dataset with what each block
    held (MERGES; the module docstring says how); a table that says nothing is stored yet ('_No ...') keeps its
    block as it was, an optional block the file lacks is left out. Every file is checked before any is written, so
    none is left half rewritten. Returns 'file: block' for each written."""
    plans, problems = [], []
    for path, required, optional in targets:
        if not path.is_file():
            raise SystemExit(f"{path} does not exist; nothing was written.")
        text, blocks = path.read_text(), {**required, **optional}
        fresh = [name for name in blocks if not tables[name].startswith("_No ")]
        found = {name: match.group(1) for name in fresh if (match := _block_pattern(*blocks[name]).search(text))}
        problems += [f"{path} has no {start} ... {end} block to rewrite" for name, (start, end) in required.items()
                     if name in fresh and name not in found]
        contents = {}
        for name, old in found.items():
            try:
                contents[name] = MERGES.get(name, lambda _, new: new)(old, tables[name])
            except ValueError as error:
                problems.append(f"{path}: the {name} block cannot be merged: {error}")
        plans.append((path, {name: (content, blocks[name]) for name, content in contents.items()}))
    if problems:
        hint = "" if len(targets) > 1 else " (`--write` with no path writes docs/results.md and README.md's headline)"
        raise SystemExit("; ".join(problems) + f"; nothing was written{hint}.")
    for path, contents in plans:
        for content, (start, end) in contents.values():
            rewrite_block(path, content, start, end)
    return [f"{path}: {name}" for path, contents in plans for name in contents]
