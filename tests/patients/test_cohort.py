"""The synthetic cohort (patients/cohort.py): determinism, domains, realism targets and truth.

Targets and tolerances are the ones documented in docs/cohort.md.
"""

import io

import numpy as np
import pandas as pd
import pytest
from django.core.management import call_command
from sklearn.metrics import roc_auc_score

from patients import cohort
from patients.feature_contract import CONDITIONS, feature_names

N = 20_000


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return cohort.cohort_generate(patients=N, seed=2024)


def n_conditions(frame: pd.DataFrame) -> pd.Series:
    return sum((frame[c] == 2).astype(int) for c in CONDITIONS)


# -- Shape and determinism ---------------------------------------------------------------------


def test_same_seed_gives_the_same_frame_and_another_seed_does_not():
    first = cohort.cohort_generate(patients=500, seed=11)
    pd.testing.assert_frame_equal(first, cohort.cohort_generate(patients=500, seed=11))
    other = cohort.cohort_generate(patients=500, seed=12)
    assert not first.drop(columns="external_id").equals(other.drop(columns="external_id"))


def test_columns_are_in_the_specified_order(frame):
    features = [f for f in feature_names(1) if f not in ("age", "gender", "race")]
    expected = [
        "external_id",
        "age",
        "gender",
        "race",
        "department_code",
        "annual_cost",
        *features,
        "true_risk_30",
        "true_risk_60",
        "true_risk_90",
        "admitted_30d",
        "admitted_60d",
        "admitted_90d",
        "days_to_admission",
    ]
    assert list(frame.columns) == expected
    assert expected[: 6 + 23] == cohort.XTEST_COLUMNS
    assert cohort.LABEL_COLUMNS == ["admitted_30d", "admitted_60d", "admitted_90d"]
    assert cohort.TRUTH_COLUMNS == ["true_risk_30", "true_risk_60", "true_risk_90"]
    assert cohort.WINDOW_DAYS == {"30_day": 30, "60_day": 60, "90_day": 90}


def test_ids_prefix_and_department():
    small = cohort.cohort_generate(patients=3, seed=1, id_prefix="ABC")
    assert small["external_id"].tolist() == ["ABC-000001", "ABC-000002", "ABC-000003"]
    assert (small["department_code"] == "").all()


# -- Domains and consistency -------------------------------------------------------------------


def test_value_domains(frame):
    assert frame["age"].between(0, 120).all() and frame["age"].dtype.kind == "i"
    assert set(frame["gender"]) == {"M", "F"}
    assert set(frame["race"]) == {"White", "Black", "Hispanic", "Asian", "Other"}
    for c in CONDITIONS:
        assert set(frame[c]) == {0, 1, 2}
    for c in ("recent_admission", "high_outpatient_user", "high_cost", "is_elderly"):
        assert set(frame[c]) == {0, 1}
    for c in [*cohort.LABEL_COLUMNS]:
        assert set(frame[c]) == {0, 1}
    counts = [
        "total_admissions_2008",
        "total_hospital_days_2008",
        "days_since_last_admission",
        "total_outpatient_visits_2008",
    ]
    for c in counts:
        assert frame[c].dtype.kind == "i" and (frame[c] >= 0).all()
    for c in ("total_annual_cost", "total_inpatient_cost"):
        assert frame[c].between(0, 99_999_999, inclusive="left").all()
    assert frame["cost_percentile"].between(0, 1).all()
    assert frame["frailty_score"].between(0, 1).all()
    assert frame["complexity_index"].between(0, 9999, inclusive="left").all()
    assert frame[cohort.TRUTH_COLUMNS].stack().between(0, 1).all()


def test_floats_carry_their_decimals(frame):
    for column, places in cohort.DECIMALS.items():
        values = frame[column].dropna().to_numpy()
        np.testing.assert_allclose(values, np.round(values, places), rtol=0, atol=1e-9)


def test_flags_agree_with_their_sources(frame):
    assert (frame["is_elderly"] == (frame["age"] >= 65)).all()
    assert (frame["recent_admission"] == (frame["days_since_last_admission"] <= 90)).all()
    assert (frame["high_outpatient_user"] == (frame["total_outpatient_visits_2008"] >= 12)).all()
    assert (frame["high_cost"] == (frame["cost_percentile"] >= 0.90)).all()
    assert (frame["annual_cost"] == frame["total_annual_cost"]).all()
    assert (frame["total_inpatient_cost"] <= frame["total_annual_cost"]).all()


def test_admission_measures_agree(frame):
    admitted = frame["total_admissions_2008"] > 0
    since = frame["days_since_last_admission"]
    assert (since[~admitted] == 730).all()
    assert since[admitted].between(1, 365).all()
    assert (frame["total_hospital_days_2008"] >= frame["total_admissions_2008"]).all()
    assert (frame.loc[~admitted, "total_inpatient_cost"] == 0).all()


def test_frailty_and_complexity_formulas(frame):
    k = n_conditions(frame)
    frailty = (
        0.5 * k / 10
        + 0.3 * np.minimum(frame["total_hospital_days_2008"] / 30, 1)
        + 0.2 * (frame["age"] >= 85)
    )
    complexity = (
        k + 0.5 * frame["total_admissions_2008"] + 0.1 * frame["total_outpatient_visits_2008"]
    )
    np.testing.assert_allclose(frame["frailty_score"], frailty.round(4), atol=1e-9)
    np.testing.assert_allclose(frame["complexity_index"], complexity.round(4), atol=1e-9)


# -- Realism targets ---------------------------------------------------------------------------


def test_demographics(frame):
    elderly = frame["age"] >= 65
    assert elderly.mean() == pytest.approx(0.85, abs=0.02)
    assert frame.loc[elderly, "age"].mean() == pytest.approx(76, abs=1)
    assert frame.loc[elderly, "age"].max() <= 100
    assert frame.loc[~elderly, "age"].between(25, 64).all()
    assert (frame["gender"] == "F").mean() == pytest.approx(0.55, abs=0.02)
    shares = frame["race"].value_counts(normalize=True)
    for race, share in cohort.RACES.items():
        assert shares[race] == pytest.approx(share, abs=0.015), race


@pytest.mark.parametrize("condition", CONDITIONS)
def test_condition_prevalence_hits_its_target(frame, condition):
    assert (frame[condition] == 2).mean() == pytest.approx(cohort.PREVALENCE[condition], abs=0.03)
    assert (frame[condition] == 0).mean() == pytest.approx(0.01, abs=0.005)


def test_conditions_are_correlated(frame):
    # The latent health variable: heart-failure patients carry more other conditions.
    others = n_conditions(frame) - (frame["has_chf"] == 2)
    chf = frame["has_chf"] == 2
    assert others[chf].mean() > others[~chf].mean() + 0.5


def test_utilisation(frame):
    admissions = frame["total_admissions_2008"]
    assert 0.3 <= admissions.mean() <= 0.5
    assert (admissions == 0).mean() > 0.6
    assert frame["total_hospital_days_2008"].sum() / admissions.sum() == pytest.approx(5, abs=0.3)
    expected_visits = 4 + 1.5 * n_conditions(frame).mean()
    assert frame["total_outpatient_visits_2008"].mean() == pytest.approx(expected_visits, rel=0.03)


def test_costs_are_right_skewed(frame):
    cost = frame["total_annual_cost"]
    assert cost.median() < 0.7 * cost.mean()
    assert frame["high_cost"].mean() == pytest.approx(0.10, abs=0.005)


def test_black_patients_cost_less_for_the_same_illness_but_are_not_less_at_risk(frame):
    k = n_conditions(frame)
    for count in range(4):
        group = frame[k == count]
        black = group.loc[group["race"] == "Black", "total_annual_cost"].median()
        white = group.loc[group["race"] == "White", "total_annual_cost"].median()
        assert black < 0.9 * white, count
    risk = frame.groupby("race")["true_risk_90"].mean()
    assert abs(risk["Black"] - risk["White"]) < 0.02


# -- Ground truth and labels -------------------------------------------------------------------


def test_true_risks_are_monotone_and_labels_nested(frame):
    assert (frame["true_risk_30"] <= frame["true_risk_60"]).all()
    assert (frame["true_risk_60"] <= frame["true_risk_90"]).all()
    assert (frame["admitted_30d"] <= frame["admitted_60d"]).all()
    assert (frame["admitted_60d"] <= frame["admitted_90d"]).all()


def test_days_to_admission_agrees_with_the_labels(frame):
    day = frame["days_to_admission"]
    assert (day.isna() == (frame["admitted_90d"] == 0)).all()
    for window in (30, 60, 90):
        admitted = frame[f"admitted_{window}d"] == 1
        assert (admitted == (day <= window)).all(), window
    assert (day.dropna() > 0).all()


def test_true_risk_uses_only_x_test_columns_and_not_race_or_cost(frame):
    x_test = frame[cohort.XTEST_COLUMNS]
    risks = cohort.true_risk(x_test)
    assert list(risks) == ["30_day", "60_day", "90_day"]
    for key, column in zip(risks, cohort.TRUTH_COLUMNS, strict=True):
        np.testing.assert_allclose(risks[key], frame[column], atol=5e-5 + 1e-12)
    altered = x_test.assign(race="Black", total_annual_cost=0.0, annual_cost=0.0, high_cost=0)
    np.testing.assert_array_equal(cohort.true_risk(altered)["90_day"], risks["90_day"])


def test_risk_distribution_matches_the_tiers(frame):
    risk = frame["true_risk_30"]
    share = np.histogram(risk, [0, 0.10, 0.25, 0.50, 0.75, 1.01])[0] / len(frame)
    assert 0.55 <= share[0] <= 0.75
    assert 0.15 <= share[1] <= 0.25
    assert 0.06 <= share[2] <= 0.14
    assert 0.02 <= share[3] <= 0.06
    assert 0.003 <= share[4] <= 0.02
    assert 0.12 <= frame["true_risk_90"].mean() <= 0.20


def test_labels_follow_the_truth(frame):
    for truth, label in zip(cohort.TRUTH_COLUMNS, cohort.LABEL_COLUMNS, strict=True):
        assert frame[label].mean() == pytest.approx(frame[truth].mean(), abs=0.015)
    auc = roc_auc_score(frame["admitted_90d"], frame["true_risk_90"])
    assert 0.75 <= auc <= 0.88


# -- Files and command -------------------------------------------------------------------------


def test_written_files_round_trip(tmp_path):
    files = cohort.cohort_write(out_dir=tmp_path, patients=2000, seed=5, training_patients=1000)
    x_test = pd.read_csv(files.x_test, keep_default_na=False)
    truth = pd.read_csv(files.truth)
    training = pd.read_csv(files.training, keep_default_na=False)

    assert list(x_test.columns) == cohort.XTEST_COLUMNS and len(x_test) == 2000
    expected = ["external_id", *cohort.TRUTH_COLUMNS, *cohort.LABEL_COLUMNS, "days_to_admission"]
    assert list(truth.columns) == expected
    expected = cohort.XTEST_COLUMNS + cohort.LABEL_COLUMNS + cohort.TRUTH_COLUMNS
    assert list(training.columns) == expected and len(training) == 1000
    assert training["external_id"].iloc[0] == "TRN-000001"
    assert (truth["external_id"] == x_test["external_id"]).all()

    risks = cohort.true_risk(x_test)
    for key, column in zip(risks, cohort.TRUTH_COLUMNS, strict=True):
        assert np.abs(risks[key] - truth[column]).max() < 1e-4
    risks = cohort.true_risk(training)
    assert np.abs(risks["90_day"] - training["true_risk_90"]).max() < 1e-4


def test_files_are_formatted_to_their_decimals(tmp_path):
    files = cohort.cohort_write(out_dir=tmp_path, patients=50, seed=3, training_patients=10)
    text = pd.read_csv(files.x_test, dtype=str, keep_default_na=False)
    assert text["total_annual_cost"].str.fullmatch(r"\d+\.\d{2}").all()
    assert text["cost_percentile"].str.fullmatch(r"[01]\.\d{3}").all()
    assert text["frailty_score"].str.fullmatch(r"\d\.\d{4}").all()
    assert text["age"].str.fullmatch(r"\d+").all()
    assert text["is_elderly"].isin(["0", "1"]).all()
    truth = pd.read_csv(files.truth, dtype=str, keep_default_na=False)
    assert truth["true_risk_30"].str.fullmatch(r"[01]\.\d{4}").all()
    assert truth["days_to_admission"].str.fullmatch(r"(\d+\.\d{2})?").all()


def test_generate_cohort_command_writes_three_files(tmp_path):
    out = io.StringIO()
    call_command(
        "generate_cohort",
        "--patients",
        "500",
        "--seed",
        "1",
        "--training-patients",
        "500",
        "--out-dir",
        str(tmp_path),
        stdout=out,
    )
    names = {"X_test.csv", "training.csv", "X_test_truth.csv"}
    assert {p.name for p in tmp_path.iterdir()} == names
    lines = out.getvalue().splitlines()
    assert {line.rsplit("/", 1)[-1] for line in lines[:3]} == names
    assert lines[3].startswith("500 patients") and "chf" in lines[3]


def test_generate_cohort_writes_under_riskplatform_data_dir_by_default(tmp_path):
    # A real process: the default comes from the environment it starts with.
    import os
    import subprocess
    import sys

    from django.conf import settings

    done = subprocess.run(
        [sys.executable, "manage.py", "generate_cohort", "--patients", "20", "--seed", "1",
         "--training-patients", "20"],
        cwd=settings.BASE_DIR, env={**os.environ, "RISKPLATFORM_DATA_DIR": str(tmp_path)},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert {p.name for p in (tmp_path / "demo").iterdir()} == {
        "X_test.csv", "training.csv", "X_test_truth.csv"
    }  # fmt: skip
    assert done.stdout.splitlines()[0] == str(tmp_path / "demo" / "X_test.csv")
