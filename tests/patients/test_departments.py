import pytest

from patients.departments import department_code_for
from patients.feature_contract import CONDITIONS


def _features(*yes: str) -> dict[str, int]:
    return {c: (2 if c in yes else 1) for c in CONDITIONS}


@pytest.mark.parametrize(
    ("conditions", "department"),
    [
        ((), "GENMED"),
        (("has_diabetes", "has_depression", "has_ra_oa"), "GENMED"),
        (("has_cancer", "has_ckd", "has_chf", "has_copd", "has_stroke"), "ONCOLOGY"),
        (("has_ckd", "has_chf"), "NEPHRO"),
        (("has_chf",), "CARDIO"),
        (("has_ischemic_heart", "has_copd"), "CARDIO"),
        (("has_copd", "has_stroke"), "PULMO"),
        (("has_stroke",), "NEURO"),
        (("has_alzheimers", "has_diabetes"), "NEURO"),
    ],
)
def test_first_matching_rule_wins(conditions, department):
    assert department_code_for(_features(*conditions)) == department


def test_missing_condition_codes_do_not_assign():
    features = {c: 0 for c in CONDITIONS}
    assert department_code_for(features) == "GENMED"
