"""The DuckDB store: every table and every SQL statement of the project, in rooms.

    connection    opening the file: locking (StoreBusy), checks (StoreUnreadable, RunNotFound), migrations,
                  one transaction per write
    schema        the tables: numbered, append-only migrations
    traces        traced runs: encoding ExampleTraces as rows, writing a run, reading its metrics, examples, tokens,
                  survival per layer, exporting it
    analyses      a run's analysis: words, retention by facet, top words, keywords, projections, representations
    sweeps        benchmark sweeps
    faithfulness  faithfulness sets

Only pipelines write; readers open the file read-only per call, and each takes `db=None` (the default is
`paths.db_path()`). Each room names its readers and writers in `__all__`, and this package holds them all
(`storage.runs()`, `storage.benchmarks(dataset)`), so no list is kept here: `help(storage.traces)` shows each
with the columns it returns. The store computes no statistics: what is measured from its rows on demand lives in
pruning_core.analysis (keywords.custom_keywords, faithfulness.faithfulness_summary).
"""
from . import analyses, connection, faithfulness, schema, sweeps, traces
from .analyses import *  # noqa: F403
from .connection import *  # noqa: F403
from .faithfulness import *  # noqa: F403
from .schema import *  # noqa: F403
from .sweeps import *  # noqa: F403
from .traces import *  # noqa: F403

ROOMS = (connection, schema, traces, analyses, sweeps, faithfulness)
__all__ = [name for room in ROOMS for name in room.__all__]
