"""Which claims are checked by default: the study's (`claims.STUDY_CLAIMS`, fixed) and those registered here.

`evaluate_claims(data)` checks the defaults; `evaluate_claims(data, claims=[...])` checks exactly the list given (add
the study's with `[*STUDY_CLAIMS, mine]`). `register_claim(mine)` adds a claim to the defaults, so the Findings
page, `lens findings` (`--claims MODULE` imports a module that registers some) and the results' findings block show
it beside the study's; `unregister_claim(key)` takes it out again. No list is mutated: the registry is private.
"""
from __future__ import annotations

from typing import Sequence

from .claims import STUDY_CLAIMS
from .data import RunData
from .engine import RESAMPLES, Claim, Findings, evaluate

_registered: dict[str, Claim] = {}     # key -> claim, in the order registered


def default_claims() -> tuple[Claim, ...]:
    """The claims checked when none are given: the study's, then the registered ones."""
    return (*STUDY_CLAIMS, *_registered.values())


def register_claim(claim: Claim) -> Claim:
    """Add a claim to the defaults (after the study's and those registered before); returns it. A key already in
    use is refused."""
    if not isinstance(claim, Claim):
        raise ValueError(f"claim must be a Claim, got {claim!r}.")
    if claim.key in {known.key for known in default_claims()}:
        raise ValueError(f"claim key {claim.key!r} is already in use; give your claim a key of its own.")
    _registered[claim.key] = claim
    return claim


def unregister_claim(key: str) -> None:
    """Take a registered claim out of the defaults (the study's own cannot be)."""
    if key not in _registered:
        raise ValueError(f"key {key!r} names no registered claim (registered: {', '.join(_registered) or 'none'}).")
    del _registered[key]


def evaluate_claims(data: RunData, claims: Sequence[Claim] | None = None, resamples: int = RESAMPLES,
                    seed: int = 0) -> Findings:
    """engine.evaluate over `claims`, by default default_claims(): every claim that applies to the run's dataset,
    with its statistic, raw and Holm–Bonferroni-corrected bootstrap intervals and verdicts."""
    return evaluate(data, default_claims() if claims is None else claims, resamples, seed)
