"""The README stays short with its picture, the manual in docs/ has no dead links, and every generated block has
exactly one home (docs/results.md, the README's headline), where pipelines.results and benchmarks.vision_speed
write them."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipelines import results

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
RESULTS_DOC = ROOT / "docs" / "results.md"
PICTURE = "docs/images/live_text.png"
# The blocks of docs/results.md: pipelines.results writes the first four, benchmarks.vision_speed the last.
GENERATED = (*results.RESULT_BLOCKS, "vision-speed")
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.S | re.M)


def markdown_files() -> list[Path]:
    return [README, *sorted((ROOT / "docs").glob("*.md"))]


def anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    prose = FENCE.sub("", path.read_text())
    return {anchor(line.lstrip("#")) for line in prose.splitlines() if re.match(r"#{1,6} ", line)}


def test_the_readme_is_short_and_shows_the_live_text_picture():
    text = README.read_text()
    assert len(text.encode()) < 20_000, f"README.md is {len(text.encode()):,} bytes; move detail to docs/"
    assert f"]({PICTURE})" in text
    picture = ROOT / PICTURE
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and picture.stat().st_size < 300_000
    assert "make run" in text and "make test" in text, "the two set-up commands"


@pytest.mark.parametrize("path", markdown_files(), ids=lambda path: path.name)
def test_every_relative_link_points_at_a_file_and_heading_that_exist(path):
    dead = []
    for target in LINK.findall(FENCE.sub("", path.read_text())):
        if re.match(r"[a-z]+:", target):            # http:, https:, mailto:
            continue
        file, _, fragment = target.partition("#")
        linked = (path.parent / file).resolve() if file else path
        if not linked.exists():
            dead.append(f"{target} (no file {linked})")
        elif fragment and linked.suffix == ".md" and fragment not in anchors(linked):
            dead.append(f"{target} (no heading #{fragment} in {linked.name})")
    assert not dead, f"{path.name}: " + "; ".join(dead)


def test_each_generated_block_has_exactly_one_home():
    doc, readme = RESULTS_DOC.read_text(), README.read_text()
    for name in GENERATED:
        start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
        assert doc.count(start) == 1 and doc.count(end) == 1 and doc.index(start) < doc.index(end), name
        assert start not in readme, f"the {name} block lives in docs/results.md only"
    assert readme.count(results.HEADLINE_START) == 1 and readme.count(results.HEADLINE_END) == 1
    assert results.HEADLINE_START not in doc
    assert {start for start, _ in results.RESULT_BLOCKS.values()} == {f"<!-- {name}:start -->"
                                                                     for name in GENERATED[:-1]}
