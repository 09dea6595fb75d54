"""Speed scripts, timed side by side against the strongest unpruned path: `lens bench ...` or
`python -m benchmarks.<script> ...`."""
from pruning_core.runtime import fast_malloc_for_commands

fast_malloc_for_commands()   # before any script imports torch
