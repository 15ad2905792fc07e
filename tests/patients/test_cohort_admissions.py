"""admissions_from_truth: the ground truth's admissions as an importable admissions CSV."""

import io
import math
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from django.core.management import call_command

from patients.admissions import admissions_import
from patients.cohort import INPATIENT_COST, admissions_from_truth, cohort_write
from patients.models import Admission, AdmissionSource
from tests.factories import PatientFactory

SCORED_ON = date(2024, 1, 10)


@pytest.fixture(scope="module")
def truth_path(tmp_path_factory):
    out = tmp_path_factory.mktemp("cohort")
    return cohort_write(out_dir=out, patients=3000, seed=7, training_patients=10).truth


def _emit(truth_path, out_path, **kwargs):
    kwargs = {"scored_on": SCORED_ON, "seed": 3, **kwargs}
    return admissions_from_truth(truth_path=truth_path, out_path=out_path, **kwargs)


def test_admissions_follow_the_truths_days(truth_path, tmp_path):
    path = _emit(truth_path, tmp_path / "admissions.csv")
    admissions = pd.read_csv(path, dtype=str)
    assert list(admissions.columns) == [
        "external_id",
        "admission_date",
        "discharge_date",
        "stay_cost",
    ]
    truth = pd.read_csv(truth_path).set_index("external_id")
    admitted = truth.dropna(subset=["days_to_admission"])
    assert set(admissions.external_id) == set(admitted.index)
    assert len(admissions) == int(truth.admitted_90d.sum())
    for row in admissions.itertuples():
        days = admitted.at[row.external_id, "days_to_admission"]
        admission = date.fromisoformat(row.admission_date)
        assert admission == SCORED_ON + timedelta(days=math.ceil(days))
        assert 1 <= (admission - SCORED_ON).days <= 90
        assert 1 <= (date.fromisoformat(row.discharge_date) - admission).days <= 10
        assert Decimal(row.stay_cost).as_tuple().exponent == -2
    # A 30-day admission falls inside the 30-day window of a score made on SCORED_ON.
    in_30 = admissions.admission_date <= str(SCORED_ON + timedelta(days=30))
    assert in_30.sum() == int(truth.admitted_30d.sum())
    costs = admissions.stay_cost.astype(float)
    assert costs.min() > 0
    assert 0.8 * INPATIENT_COST[0] < costs.mean() < 1.2 * INPATIENT_COST[0]
    assert costs.median() < costs.mean()  # lognormal: right-skewed


def test_same_seed_same_file_and_exclusion_changes_nobody_else(truth_path, tmp_path):
    first = _emit(truth_path, tmp_path / "a.csv").read_bytes()
    assert _emit(truth_path, tmp_path / "b.csv").read_bytes() == first
    assert _emit(truth_path, tmp_path / "c.csv", seed=4).read_bytes() != first
    everyone = pd.read_csv(tmp_path / "a.csv", dtype=str)
    avoided = set(everyone.external_id[:5])
    path = _emit(truth_path, tmp_path / "d.csv", exclude_external_ids=avoided)
    rest = pd.read_csv(path, dtype=str)
    pd.testing.assert_frame_equal(
        rest, everyone[~everyone.external_id.isin(avoided)].reset_index(drop=True)
    )


def test_until_leaves_out_admissions_that_have_not_happened_yet(truth_path, tmp_path):
    until = SCORED_ON + timedelta(days=45)
    admissions = pd.read_csv(_emit(truth_path, tmp_path / "u.csv", until=until), dtype=str)
    assert admissions.admission_date.max() <= str(until)
    everyone = pd.read_csv(_emit(truth_path, tmp_path / "all.csv"), dtype=str)
    assert len(admissions) == (everyone.admission_date <= str(until)).sum() < len(everyone)


@pytest.mark.django_db
def test_the_file_imports_through_the_importer(tmp_path):
    truth = pd.DataFrame(
        {
            "external_id": ["SYN-000001", "SYN-000002", "SYN-000003", "SYN-000004"],
            "days_to_admission": [0.01, 90.0, np.nan, 45.5],
        }
    )
    truth.to_csv(tmp_path / "truth.csv", index=False)
    for external_id in truth.external_id:
        PatientFactory(external_id=external_id)
    path = _emit(tmp_path / "truth.csv", tmp_path / "adm.csv", exclude_external_ids={"SYN-000004"})
    result = admissions_import(path=path, changed_by="demo", source=AdmissionSource.SIMULATED)
    assert (result.rows, result.created) == (2, 2)
    assert dict(Admission.objects.values_list("patient__external_id", "admission_date")) == {
        "SYN-000001": SCORED_ON + timedelta(days=1),
        "SYN-000002": SCORED_ON + timedelta(days=90),
    }
    assert set(Admission.objects.values_list("source", flat=True)) == {"SIMULATED"}


def test_generate_cohort_writes_admissions_on_request(tmp_path):
    out = io.StringIO()
    call_command(
        "generate_cohort", "--patients", "300", "--seed", "5", "--training-patients", "10",
        "--out-dir", str(tmp_path), "--admissions-scored-on", "2024-01-10", stdout=out,
    )  # fmt: skip
    assert str(tmp_path / "admissions.csv") in out.getvalue()
    admissions = pd.read_csv(tmp_path / "admissions.csv")
    truth = pd.read_csv(tmp_path / "X_test_truth.csv")
    assert len(admissions) == int(truth.admitted_90d.sum())
