"""Build X_test-style CSV files for importer tests."""

import csv
from pathlib import Path

from patients.import_schema import COLUMN_NAMES

BASE_ROW = {
    "external_id": "P-0001",
    "age": "72",
    "gender": "F",
    "race": "White",
    "department_code": "",
    "annual_cost": "12000.00",
    "is_elderly": "1",
    "has_alzheimers": "1",
    "has_chf": "1",
    "has_ckd": "1",
    "has_cancer": "1",
    "has_copd": "1",
    "has_depression": "1",
    "has_diabetes": "2",
    "has_ischemic_heart": "1",
    "has_ra_oa": "1",
    "has_stroke": "1",
    "total_admissions_2008": "1.00",
    "total_hospital_days_2008": "4.00",
    "days_since_last_admission": "120.00",
    "recent_admission": "0",
    "total_outpatient_visits_2008": "6.00",
    "high_outpatient_user": "0",
    "total_annual_cost": "12000.00",
    "cost_percentile": "0.500",
    "high_cost": "0",
    "total_inpatient_cost": "8000.00",
    "frailty_score": "0.2500",
    "complexity_index": "1.5000",
}


def row(number: int, **values: str) -> dict[str, str]:
    return {**BASE_ROW, "external_id": f"P-{number:04d}", **values}


def write_csv(path: Path, rows: list[dict[str, str]], columns=COLUMN_NAMES) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path
