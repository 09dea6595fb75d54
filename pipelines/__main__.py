"""`python -m pipelines <command> ...` is `lens <command> ...` (pipelines/cli.py)."""
from .cli import main

if __name__ == "__main__":
    main()
