"""Batch jobs over the library, one module per stage: `lens <stage> ...` or `python -m pipelines.<stage> ...`."""
from pruning_core.runtime import fast_malloc_for_commands

fast_malloc_for_commands()   # before any stage module imports torch
