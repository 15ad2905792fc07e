"""The feature contract: which inputs a model receives, in which order, from which table.

Defined once here and versioned. Models record the contract version they were trained on;
the importer, the scoring path and `register_model` all read their columns from this module.

v1 is the seed's `patient_features` columns plus age, gender and race from `patients`: 26
features. (The seed says "27 features" but lists 26; see docs/schema.md.)
"""

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    NUMERIC = "numeric"  # a measurement; non-negative unless stated
    BINARY = "binary"  # 0 or 1
    BOOLEAN = "boolean"  # true or false
    CONDITION = "condition"  # chronic-condition code 0 (missing), 1 (no), 2 (yes)
    CATEGORY = "category"  # one of a fixed set of labels


@dataclass(frozen=True)
class Feature:
    name: str
    table: str  # "patients" or "patient_features"
    kind: Kind
    description: str


CONDITION_MISSING, CONDITION_NO, CONDITION_YES = 0, 1, 2

CONDITIONS = (
    "has_alzheimers",
    "has_chf",
    "has_ckd",
    "has_cancer",
    "has_copd",
    "has_depression",
    "has_diabetes",
    "has_ischemic_heart",
    "has_ra_oa",
    "has_stroke",
)

BINARY_FLAGS = ("recent_admission", "high_outpatient_user", "high_cost")

_V1 = (
    Feature("age", "patients", Kind.NUMERIC, "Age in years"),
    Feature("gender", "patients", Kind.CATEGORY, "M, F or Other"),
    Feature("race", "patients", Kind.CATEGORY, "White, Black, Hispanic, Asian or Other"),
    Feature("is_elderly", "patient_features", Kind.BOOLEAN, "Age 65 or over"),
    *(Feature(c, "patient_features", Kind.CONDITION, "Chronic condition code") for c in CONDITIONS),
    Feature("total_admissions_2008", "patient_features", Kind.NUMERIC, "Inpatient admissions"),
    Feature("total_hospital_days_2008", "patient_features", Kind.NUMERIC, "Inpatient days"),
    Feature("days_since_last_admission", "patient_features", Kind.NUMERIC, "Days"),
    Feature("recent_admission", "patient_features", Kind.BINARY, "Admitted recently"),
    Feature("total_outpatient_visits_2008", "patient_features", Kind.NUMERIC, "Visits"),
    Feature("high_outpatient_user", "patient_features", Kind.BINARY, "Many outpatient visits"),
    Feature("total_annual_cost", "patient_features", Kind.NUMERIC, "Annual cost, USD"),
    Feature("cost_percentile", "patient_features", Kind.NUMERIC, "0-1 within the population"),
    Feature("high_cost", "patient_features", Kind.BINARY, "In the high-cost group"),
    Feature("total_inpatient_cost", "patient_features", Kind.NUMERIC, "Inpatient cost, USD"),
    Feature("frailty_score", "patient_features", Kind.NUMERIC, "Derived frailty score"),
    Feature("complexity_index", "patient_features", Kind.NUMERIC, "Derived complexity index"),
)

CONTRACTS: dict[int, tuple[Feature, ...]] = {1: _V1}
CURRENT_VERSION = 1


def features(version: int = CURRENT_VERSION) -> tuple[Feature, ...]:
    try:
        return CONTRACTS[version]
    except KeyError:
        raise ValueError(f"Unknown feature contract version {version}") from None


def feature_names(version: int = CURRENT_VERSION) -> list[str]:
    return [feature.name for feature in features(version)]
