"""Generated blocks in Markdown files: the text between `<!-- NAME:start -->` and `<!-- NAME:end -->` markers,
replaced by what pipelines.results (and benchmarks.vision_speed) computed, never typed by hand.

`write_blocks` checks every file before it writes any, so none is left half rewritten; a table that says nothing is
stored yet ('_No ...') keeps what its block had (another machine's run).
"""
from __future__ import annotations

import re
from pathlib import Path

from pruning_core.paths import REPO_ROOT

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


def _block_pattern(start: str, end: str) -> re.Pattern:
    return re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)


def rewrite_block(readme: Path, table: str, start: str = START, end: str = END) -> None:
    """Replace the text between the start and end markers of the file with `table` (the markers stay)."""
    text = readme.read_text()
    pattern = _block_pattern(start, end)
    if not pattern.search(text):
        raise SystemExit(f"{readme} has no {start} ... {end} block to rewrite.")
    readme.write_text(pattern.sub(lambda _: f"{start}\n{table}\n{end}", text))


def write_targets(path: str | None, root: Path | None = None) -> list[tuple[Path, dict, dict]]:
    """[(file, its required blocks, its optional blocks)] for `--write`: with no path, docs/results.md's blocks and
    README.md's headline under the repository (or the working directory); with a path, docs/results.md's blocks
    there, and its headline block when it holds one."""
    if path:
        return [(Path(path), RESULT_BLOCKS, HEADLINE_BLOCKS)]
    root = root or REPO_ROOT or Path.cwd()
    return [(root / RESULTS_DOC, RESULT_BLOCKS, {}), (root / README, HEADLINE_BLOCKS, {})]


def write_blocks(targets: list[tuple[Path, dict, dict]], tables: dict[str, str]) -> list[str]:
    """Rewrite each target's blocks with `tables` ({block name: markdown}); a table that says nothing is stored yet
    ('_No ...') keeps what its block had (another machine's run), an optional block the file lacks is left out. Every
    file is checked before any is written, so none is left half rewritten. Returns 'file: block' for each written."""
    plans, missing = [], []
    for path, required, optional in targets:
        if not path.is_file():
            raise SystemExit(f"{path} does not exist; nothing was written.")
        text = path.read_text()
        present = {name: markers for name, markers in {**required, **optional}.items()
                   if _block_pattern(*markers).search(text)}
        missing += [f"{path} has no {start} ... {end} block to rewrite" for name, (start, end) in required.items()
                    if name not in present and not tables[name].startswith("_No ")]
        plans.append((path, {name: markers for name, markers in present.items()
                             if not tables[name].startswith("_No ")}))
    if missing:
        hint = "" if len(targets) > 1 else " (`--write` with no path writes docs/results.md and README.md's headline)"
        raise SystemExit("; ".join(missing) + f"; nothing was written{hint}.")
    for path, blocks in plans:
        for name, (start, end) in blocks.items():
            rewrite_block(path, tables[name], start, end)
    return [f"{path}: {name}" for path, blocks in plans for name in blocks]
