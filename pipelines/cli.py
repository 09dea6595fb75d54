"""One command line for every stage: `lens <command> [its own options]`.

    lens demo                       the quick demo models and database, both datasets (6-14 minutes on 2 cores)
    lens app                        the dashboard in the browser (Streamlit's options follow: --server.port 8502)
    lens train --dataset imdb --profile quick
    lens trace --model artifacts/models/imdb-quick/ltp_hard --device cuda
    lens results --write docs/results.md
    lens kv --profile cpu           the KV-cache benchmark: every press × budget against the full cache
    lens bench text --rounds 5      the speed benchmarks: text, vision, live, store
    lens train --help               a command's own options

A command hands the rest of the line to its module's `main(argv)`, so `lens train ...` and
`python -m pipelines.train ...` take the same options; `python -m pipelines ...` is `lens ...`. Started from the
shell, `lens` first re-executes itself with fast malloc (pruning_core.runtime), before any stage imports torch.
"""
from __future__ import annotations

import argparse
import ast
import importlib
import importlib.util
import os
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Sequence

from pruning_core.runtime import ensure_fast_malloc

PROG = "lens"


@dataclass(frozen=True)
class Command:
    """What `lens <name>` runs: `target` ("module" or "module:function"; the function defaults to main) is called with
    the rest of the command line; or, with `group`, the command names one of its own (`lens bench text`)."""
    target: str = ""
    help: str = ""                                         # default: the first sentence of the target's docstring
    group: dict[str, Command] = field(default_factory=dict)


BENCHMARKS = {
    "text": Command("benchmarks.text_speed"),
    "vision": Command("benchmarks.vision_speed"),
    "live": Command("benchmarks.live_latency"),
    "store": Command("benchmarks.store_speed"),
}
COMMANDS = {
    "demo": Command("pipelines.demo"),
    "train": Command("pipelines.train"),
    "trace": Command("pipelines.trace"),
    "analyze": Command("pipelines.analyze"),
    "benchmark": Command("pipelines.benchmark"),
    "faithfulness": Command("pipelines.faithfulness"),
    "findings": Command("pipelines.findings"),
    "results": Command("pipelines.results"),
    "kv": Command("pipelines.kv"),
    "app": Command(f"{__name__}:start_app", "The dashboard in the browser: streamlit run app/Home.py (Streamlit's "
                                            "own options follow)."),
    "bench": Command(help="The speed benchmarks, timed side by side against the strongest unpruned path.",
                     group=BENCHMARKS),
}


def main(argv: Sequence[str] | None = None) -> None:
    """`lens ...`. With no argv (the console script) this is the process's own command line, so the process first
    re-executes with fast malloc; called from Python with argv, it runs the command in this process as it is."""
    if argv is None:
        ensure_fast_malloc()
    dispatch(COMMANDS, list(sys.argv[1:] if argv is None else argv), PROG, __doc__)


def dispatch(commands: dict[str, Command], argv: list[str], prog: str, about: str | None = None) -> None:
    """Run the command argv names first, with the rest of argv; --help lists the commands, anything else is refused."""
    if not argv or argv[0] not in commands:
        command_parser(commands, prog, about).parse_args(argv[:1])   # exits: the list (--help), or the error
    name, rest = argv[0], argv[1:]
    command = commands[name]
    if command.group:
        dispatch(command.group, rest, f"{prog} {name}", command.help)
        return
    with program_name(f"{prog} {name}"):
        entry(command.target)(rest)


def command_parser(commands: dict[str, Command], prog: str, about: str | None = None) -> argparse.ArgumentParser:
    """The commands' list for --help and errors; the commands parse their own options."""
    parser = argparse.ArgumentParser(prog=prog, description=about, formatter_class=argparse.RawDescriptionHelpFormatter)
    choices = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    for name, command in commands.items():
        choices.add_parser(name, help=summary(command).replace("%", "%%"), add_help=False)   # argparse formats help
    return parser


def entry(target: str) -> Callable[[list[str]], object]:
    """"module" or "module:function" -> that function (main by default), imported now."""
    module, _, function = target.partition(":")
    return getattr(importlib.import_module(module), function or "main")


def summary(command: Command) -> str:
    """A command's help in the list: its own, else its module's docstring's first sentence, read without importing the
    module (a stage imports torch: seconds)."""
    if command.help:
        return command.help
    spec = importlib.util.find_spec(command.target.partition(":")[0])
    doc = ast.get_docstring(ast.parse(Path(spec.origin).read_text(encoding="utf-8"))) if spec and spec.origin else None
    paragraph = " ".join((doc or "").split("\n\n")[0].split())
    sentence, cut, _ = paragraph.partition(". ")
    return sentence + ("." if cut else "")


@contextmanager
def program_name(prog: str) -> Iterator[None]:
    """sys.argv[0] as `prog` while a command runs, so its usage and errors read `lens train ...`."""
    saved = sys.argv[:]
    sys.argv[:1] = [prog]
    try:
        yield
    finally:
        sys.argv[:] = saved


def start_app(argv: list[str]) -> None:
    """`streamlit run app/Home.py [Streamlit's options]` in place of this process (whose environment it keeps)."""
    os.execv(sys.executable, [sys.executable, "-m", "streamlit", "run", str(dashboard_home()), *argv])


def dashboard_home() -> Path:
    """The installed `app` package's Home.py, found without importing the app (pipelines never import it)."""
    spec = importlib.util.find_spec("app")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("error: the dashboard (package `app`) is not installed: run `pip install -e .` in the "
                         "repository.")
    return Path(list(spec.submodule_search_locations)[0]) / "Home.py"
