"""Which department a patient belongs to when the source file does not say (the seed's open
question 1): by chronic condition, first matching rule wins.

Precedence follows who coordinates care when conditions overlap: cancer treatment dominates
everything else; kidney disease next (dialysis and transplant pathways); then heart, lung and
neurological conditions; everyone else belongs to General Medicine.
"""

from collections.abc import Mapping
from dataclasses import dataclass

from patients.feature_contract import CONDITION_YES


@dataclass(frozen=True)
class DepartmentRule:
    department_code: str
    conditions: tuple[str, ...]  # any one of them, coded "yes", assigns the department


DEPARTMENT_RULES: tuple[DepartmentRule, ...] = (
    DepartmentRule("ONCOLOGY", ("has_cancer",)),
    DepartmentRule("NEPHRO", ("has_ckd",)),
    DepartmentRule("CARDIO", ("has_chf", "has_ischemic_heart")),
    DepartmentRule("PULMO", ("has_copd",)),
    DepartmentRule("NEURO", ("has_stroke", "has_alzheimers")),
)
FALLBACK_DEPARTMENT = "GENMED"


def department_code_for(features: Mapping[str, int]) -> str:
    for rule in DEPARTMENT_RULES:
        if any(int(features[c]) == CONDITION_YES for c in rule.conditions):
            return rule.department_code
    return FALLBACK_DEPARTMENT


def department_code_sql(alias: str) -> str:
    """The same rule as a SQL CASE over integer condition columns of `alias`."""
    branches = " ".join(
        f"WHEN {' OR '.join(f'{alias}.{c} = {CONDITION_YES}' for c in rule.conditions)} "
        f"THEN '{rule.department_code}'"
        for rule in DEPARTMENT_RULES
    )
    return f"(CASE {branches} ELSE '{FALLBACK_DEPARTMENT}' END)"
