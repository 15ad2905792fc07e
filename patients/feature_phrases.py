"""Each feature of the contract in a coordinator's words: what it is, in which unit, and its
value phrased as a person would say it ("admissions in the last year: 5", "heart failure:
yes", "annual cost: $12,340"). One place for the worklist, the patient page, the CSV export
and, later, FHIR and CDS Hooks rationales.

The `_2008` features are the seed's names for "the year before the prediction"
(docs/schema.md), so they read as "in the last year".
"""

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from patients.feature_contract import (
    CONDITION_MISSING,
    CONDITION_NO,
    CONDITION_YES,
    features,
)


class Style(StrEnum):
    COUNT = "count"  # a number of things: 5, 2.5
    DAYS_AGO = "days_ago"  # "38 days ago"
    MONEY = "money"  # "$12,340"
    PERCENTILE = "percentile"  # 0.95 → "95th percentile"
    SCORE = "score"  # a derived score, two decimals
    CONDITION = "condition"  # yes / no / not recorded
    FLAG = "flag"  # yes / no
    LABEL = "label"  # a category as it is (gender, race)


@dataclass(frozen=True)
class Phrasing:
    label: str
    style: Style
    unit: str = ""  # after a COUNT: "years", "days", "visits"


_CONDITIONS = {
    "has_alzheimers": "Alzheimer's disease or dementia",
    "has_chf": "heart failure",
    "has_ckd": "chronic kidney disease",
    "has_cancer": "cancer",
    "has_copd": "COPD",
    "has_depression": "depression",
    "has_diabetes": "diabetes",
    "has_ischemic_heart": "ischaemic heart disease",
    "has_ra_oa": "rheumatoid arthritis or osteoarthritis",
    "has_stroke": "stroke or TIA",
}

PHRASINGS: dict[str, Phrasing] = {
    "age": Phrasing("age", Style.COUNT, "years"),
    "gender": Phrasing("gender", Style.LABEL),
    "race": Phrasing("race", Style.LABEL),
    "is_elderly": Phrasing("aged 65 or over", Style.FLAG),
    **{name: Phrasing(label, Style.CONDITION) for name, label in _CONDITIONS.items()},
    "total_admissions_2008": Phrasing("admissions in the last year", Style.COUNT),
    "total_hospital_days_2008": Phrasing("days in hospital in the last year", Style.COUNT),
    "days_since_last_admission": Phrasing("last admission", Style.DAYS_AGO),
    "recent_admission": Phrasing("admitted in the last 90 days", Style.FLAG),
    "total_outpatient_visits_2008": Phrasing("outpatient visits in the last year", Style.COUNT),
    "high_outpatient_user": Phrasing("frequent outpatient visitor", Style.FLAG),
    "total_annual_cost": Phrasing("cost of care in the last year", Style.MONEY),
    "cost_percentile": Phrasing("cost compared with other patients", Style.PERCENTILE),
    "high_cost": Phrasing("in the high-cost group", Style.FLAG),
    "total_inpatient_cost": Phrasing("hospital stay costs in the last year", Style.MONEY),
    "frailty_score": Phrasing("frailty score (0 to 1)", Style.SCORE),
    "complexity_index": Phrasing("complexity index (conditions, admissions, visits)", Style.SCORE),
}
assert set(PHRASINGS) == {f.name for f in features()}, "every feature needs a phrasing"

_CONDITION_WORDS = {CONDITION_YES: "yes", CONDITION_NO: "no", CONDITION_MISSING: "not recorded"}


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def value_phrase(name: str, value: object) -> str:
    """The value of feature `name` in words; a value already in words (an age band, a
    label) is kept as it is."""
    if value is None or value == "":
        return "not recorded"
    phrasing = PHRASINGS[name]
    if isinstance(value, str) and phrasing.style != Style.LABEL:
        return value  # already coarsened for the reader (an analyst's age band)
    number = float(value) if isinstance(value, int | float | Decimal) else None
    match phrasing.style:
        case Style.COUNT:
            return f"{_number(number)} {phrasing.unit}".rstrip()
        case Style.DAYS_AGO:
            return "1 day ago" if number == 1 else f"{_number(number)} days ago"
        case Style.MONEY:
            return f"${number:,.0f}"
        case Style.PERCENTILE:
            return f"{_ordinal(round(number * 100))} percentile"
        case Style.SCORE:
            return f"{number:.2f}"
        case Style.CONDITION:
            return _CONDITION_WORDS.get(int(number), "not recorded")
        case Style.FLAG:
            return "yes" if number >= 0.5 else "no"
    return str(value)


def feature_phrase(name: str, value: object, typical: object | None = None) -> str:
    """ "admissions in the last year: 5 (typical 0)"; without a typical value, just the value."""
    text = f"{PHRASINGS[name].label}: {value_phrase(name, value)}"
    if typical is None:
        return text
    return f"{text} (typical {value_phrase(name, typical)})"


def feature_label(name: str) -> str:
    return PHRASINGS[name].label


def risk_points(effect: float) -> str:
    """A change in risk (a probability difference) in percentage points: "+14 points of
    risk"; one decimal below ten points, where the rounding would hide the difference."""
    points = effect * 100
    shown = f"{points:+.0f}" if abs(points) >= 10 else f"{points:+.1f}"
    return f"{shown} points of risk"
