"""When a model card warns that groups (race, gender) fare differently.

Each screen is a prompt to look closer, not a verdict: a lower selection rate may be right
where a group's need is lower, and it is the held-out AUC and calibration per group that say
whether the scores mean the same thing for everybody. The thresholds below are the card's
definition of "differ materially".
"""

from dataclasses import dataclass

from predictions.metrics import MIN_GROUP_SIZE
from riskplatform.core.windows import RiskTier

# Groups smaller than this (held-out patients for AUC and calibration, scored patients for
# selection) are shown but not judged: their figures are too noisy to warn on.
MIN_GROUP_N = MIN_GROUP_SIZE
# |group AUC - overall AUC| above this: the model ranks one group's patients worse.
AUC_GAP_LIMIT = 0.05
# |mean predicted - observed rate| of a group (calibration-in-the-large) above this: the same
# score means a different risk for that group.
CALIBRATION_GAP_LIMIT = 0.05
# The four-fifths rule: a group's share selected below 0.8 times the highest group's share.
SELECTION_RATIO_LIMIT = 0.8
# "Selected" is what the worklists flag: high and critical.
SELECTED_MIN_TIER = RiskTier.HIGH


@dataclass(frozen=True)
class GroupFairness:
    """One group's figures in one window: held-out metrics stored with the version, and the
    share of its currently scored patients selected as high or critical."""

    attribute: str
    group: str
    holdout_n: int = 0
    auc: float | None = None
    mean_predicted: float | None = None
    observed_rate: float | None = None
    scored_n: int = 0
    selected_n: int = 0

    @property
    def selection_rate(self) -> float | None:
        return self.selected_n / self.scored_n if self.scored_n else None

    @property
    def calibration_gap(self) -> float | None:
        if self.mean_predicted is None or self.observed_rate is None:
            return None
        return self.mean_predicted - self.observed_rate

    @property
    def holdout_judged(self) -> bool:
        return self.holdout_n >= MIN_GROUP_N

    @property
    def selection_judged(self) -> bool:
        return self.scored_n >= MIN_GROUP_N


def selection_ratios(groups: list[GroupFairness]) -> dict[str, float]:
    """Each judged group's selection rate over the highest judged group's (the four-fifths
    rule's ratio); empty when no judged group has anybody selected."""
    judged = [g for g in groups if g.selection_judged]
    top = max((g.selection_rate for g in judged), default=0.0)
    if not top:
        return {}
    # Rounded so that exactly four fifths (0.16 / 0.2 in floating point) is not below it.
    return {g.group: round(g.selection_rate / top, 6) for g in judged}


def fairness_warnings(*, overall_auc: float | None, groups: list[GroupFairness]) -> list[str]:
    """The material differences among `groups` (one attribute, one window), as sentences."""
    warnings = []
    for g in groups:
        if not g.holdout_judged:
            continue
        if (
            g.auc is not None
            and overall_auc is not None
            and abs(g.auc - overall_auc) > AUC_GAP_LIMIT
        ):
            warnings.append(
                f"AUC for {g.group} is {g.auc:.3f} against {overall_auc:.3f} overall "
                f"({'lower' if g.auc < overall_auc else 'higher'}; gap above {AUC_GAP_LIMIT})."
            )
        gap = g.calibration_gap
        if gap is not None and abs(gap) > CALIBRATION_GAP_LIMIT:
            direction = "over" if gap > 0 else "under"
            warnings.append(
                f"Scores {direction}state the risk of {g.group}: mean predicted "
                f"{g.mean_predicted:.3f} against {g.observed_rate:.3f} observed "
                f"(gap above {CALIBRATION_GAP_LIMIT})."
            )
    ratios = selection_ratios(groups)
    if ratios:
        top = max((g for g in groups if g.group in ratios), key=lambda g: g.selection_rate)
        for g in groups:
            if g.group in ratios and ratios[g.group] < SELECTION_RATIO_LIMIT:
                warnings.append(
                    f"{g.selection_rate:.1%} of {g.group} patients are selected as high or "
                    f"critical against {top.selection_rate:.1%} of {top.group} (ratio "
                    f"{ratios[g.group]:.2f}, below the four-fifths rule's "
                    f"{SELECTION_RATIO_LIMIT})."
                )
    return warnings
