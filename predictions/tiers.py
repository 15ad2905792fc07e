"""Risk tiers 1-5 from per-window score thresholds stored with each model version.

A version's `tier_thresholds` is {"mode": "fixed" | "percentile", "30_day": [t2, t3, t4, t5],
...}: a score at or above t_k is at least tier k. Fixed mode uses the seed's cut-offs;
percentile mode places them so that given shares of the scored population fall in each tier.
"""

from collections.abc import Mapping, Sequence

import numpy as np

from riskplatform.core.windows import DAYS_IN_WINDOW

FIXED_THRESHOLDS = (0.10, 0.25, 0.50, 0.75)
# Shares of the population from the top: critical 1%, high the next 4%, moderate the next
# 10%, low the next 20% (the seed's example distribution 65 / 20 / 10 / 4 / 1).
DEFAULT_TOP_SHARES = (0.35, 0.15, 0.05, 0.01)


def thresholds_fixed(cutoffs: Sequence[float] = FIXED_THRESHOLDS) -> dict:
    return {"mode": "fixed", **{window: list(cutoffs) for window in DAYS_IN_WINDOW}}


def thresholds_percentile(
    scores: Mapping[str, np.ndarray], top_shares: Sequence[float] = DEFAULT_TOP_SHARES
) -> dict:
    """Cut-offs at the (1 - share) quantiles of each window's scores."""
    thresholds: dict = {"mode": "percentile", "top_shares": list(top_shares)}
    for window in DAYS_IN_WINDOW:
        cutoffs = [round(float(np.quantile(scores[window], 1 - share)), 4) for share in top_shares]
        thresholds[window] = cutoffs
    return thresholds


def assign_tiers(scores: np.ndarray, cutoffs: Sequence[float]) -> np.ndarray:
    """Tier 1-5 for each score; a score equal to a cut-off belongs to the higher tier."""
    return np.searchsorted(np.asarray(cutoffs, dtype=float), scores, side="right") + 1


def validate_thresholds(thresholds: Mapping) -> None:
    for window in DAYS_IN_WINDOW:
        cutoffs = thresholds.get(window)
        if cutoffs is None or len(cutoffs) != 4:
            raise ValueError(f"tier thresholds for {window} must be four cut-offs")
        if not all(0 <= c <= 1 for c in cutoffs) or list(cutoffs) != sorted(cutoffs):
            raise ValueError(f"tier thresholds for {window} must rise within 0-1: {cutoffs}")
