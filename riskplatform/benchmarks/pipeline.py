"""Scenario 1 timed: the bulk path against the per-row path the seed's pseudo-code implies.

Runs in whatever database is current (the command gives it a throwaway one). Training is not
timed (the targets are "without training").
"""

import tempfile
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pandas as pd
from django.db import transaction

from finance.models import FinancialProjection, InterventionPolicy
from finance.projections import success_rate_actual, success_rate_draw
from finance.services import views_refresh
from patients.cohort import XTEST_COLUMNS, cohort_generate, cohort_write
from patients.departments import department_code_for
from patients.feature_contract import CONDITIONS
from patients.importer import FEATURE_NAMES, patients_import
from patients.models import DataSource, Department, Patient, PatientFeatures
from predictions.features import frame_prepare
from predictions.model_store import WINDOWS, model_bundle_load
from predictions.models import ModelVersion, Prediction
from predictions.scoring_runs import population_score, scoring_run_create
from predictions.services import model_version_activate, model_version_train
from predictions.tiers import assign_tiers
from riskplatform.core.windows import DAYS_IN_WINDOW, TIER_LABELS

ACTOR = "benchmark"


@dataclass(frozen=True)
class Step:
    name: str
    rows: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.rows / self.seconds if self.seconds else float("inf")


@dataclass(frozen=True)
class PipelineFigures:
    patients: int
    bulk: list[Step]
    naive_patients: int
    naive: list[Step]
    scoring_split: list[Step]  # thread-seconds inside the scoring run

    @property
    def bulk_seconds(self) -> float:
        return sum(step.seconds for step in self.bulk)

    @property
    def naive_seconds_per_patient(self) -> float:
        return sum(step.seconds for step in self.naive) / self.naive_patients

    @property
    def naive_seconds_estimated(self) -> float:
        return self.naive_seconds_per_patient * self.patients


def pipeline_benchmark(
    *, patients: int, naive_patients: int, chunk_size: int, training_patients: int, say=print
) -> PipelineFigures:
    workdir = Path(tempfile.mkdtemp(prefix="riskplatform-bench-"))
    files = cohort_write(
        out_dir=workdir, patients=patients, seed=7, training_patients=training_patients
    )
    say(f"Training v1.0 on {training_patients:,} patients (not timed)…")
    model_version_train(version="v1.0", training_path=files.training, changed_by=ACTOR, seed=7)

    bulk: list[Step] = []
    started = time.perf_counter()
    result = patients_import(path=files.x_test, source=DataSource.X_TEST, changed_by=ACTOR)
    bulk.append(Step("import (COPY + set-based SQL)", result.created, _since(started)))
    say(f"  {bulk[-1].name}: {bulk[-1].seconds:.2f} s")

    run = scoring_run_create(version="v1.0", changed_by=ACTOR, chunk_size=chunk_size)
    started = time.perf_counter()
    run = population_score(run_id=run.pk)
    total = _since(started)
    bulk.append(Step("scoring run: predictions + projections", run.predictions_written, total))
    split = [
        Step("features + predict_proba", run.patients_scored, run.seconds_scoring),
        Step("predictions written", run.predictions_written,
             run.seconds_writing - run.seconds_projecting),
        Step("projections written", run.projections_written, run.seconds_projecting),
    ]  # fmt: skip
    say(f"  scoring run: {total:.2f} s")

    model_version_activate(version="v1.0", changed_by=ACTOR)
    started = time.perf_counter()
    views_refresh(changed_by=ACTOR)
    bulk.append(Step("view refresh (4 views, concurrently)", run.predictions_written,
                     _since(started)))  # fmt: skip

    say(f"Per-row path on {naive_patients:,} patients…")
    naive = _naive_path(naive_patients)
    return PipelineFigures(patients, bulk, naive_patients, naive, split)


def _since(started: float) -> float:
    return time.perf_counter() - started


def _naive_path(count: int) -> list[Step]:
    """What the seed's pseudo-code does: for each patient, save the patient, save the
    features; load the features, run the models; for each window save the prediction, then
    compute and save its projection. One ORM save() per row, one transaction per save."""
    frame = cohort_generate(patients=count, seed=99, id_prefix="NAIVE")
    departments = {d.department_code: d for d in Department.objects.all()}
    policies = {(p.prediction_window, p.risk_tier): p for p in InterventionPolicy.objects.all()}
    bundle = model_bundle_load("v1.0")
    thresholds = ModelVersion.objects.get(version="v1.0").tier_thresholds
    timings = {"patients and features saved one by one": 0.0, "scored and saved one by one": 0.0}
    rows = {"patients and features saved one by one": 0, "scored and saved one by one": 0}
    for record in frame[list(XTEST_COLUMNS)].to_dict("records"):
        started = time.perf_counter()
        patient = _naive_patient(record, departments)
        timings["patients and features saved one by one"] += _since(started)
        rows["patients and features saved one by one"] += 2
        started = time.perf_counter()
        one = frame_prepare(pd.DataFrame([{**record, "age": patient.age}]))
        risks = bundle.predict_risks(one)
        for window in WINDOWS:
            score = Decimal(str(round(float(risks[window][0]), 4)))
            tier = int(assign_tiers([float(score)], thresholds[window])[0])
            prediction = Prediction(
                patient=patient, prediction_window=window, model_version_id="v1.0",
                risk_score=score, risk_tier=tier, tier_label=TIER_LABELS[tier],
                created_by=ACTOR,
            )  # fmt: skip
            prediction.save()
            prediction.refresh_from_db()
            policy = policies[(window, tier)]
            draw = success_rate_draw(str(patient.patient_uuid), window, "v1.0")
            FinancialProjection(
                patient=patient, prediction=prediction, projection_window=window,
                days_in_window=DAYS_IN_WINDOW[window],
                projected_date=prediction.prediction_timestamp.date(),
                annual_cost=patient.annual_cost, risk_tier=tier,
                intervention_cost=policy.intervention_cost,
                success_rate_min=policy.success_rate_min, success_rate_max=policy.success_rate_max,
                success_rate_actual=success_rate_actual(
                    policy.success_rate_min, policy.success_rate_max, draw
                ),
            ).save()  # fmt: skip
        timings["scored and saved one by one"] += _since(started)
        rows["scored and saved one by one"] += 2 * len(WINDOWS)
    return [Step(name, rows[name], seconds) for name, seconds in timings.items()]


@transaction.atomic
def _naive_patient(record: dict, departments: dict) -> Patient:
    code = department_code_for({c: int(record[c]) for c in CONDITIONS})
    patient = Patient(
        external_id=record["external_id"], age=int(record["age"]), gender=record["gender"],
        race=record["race"], department=departments[code], data_source=DataSource.X_TEST,
        annual_cost=Decimal(str(record["annual_cost"])),
        cost_percentile=Decimal(str(record["cost_percentile"])), created_by=ACTOR,
    )  # fmt: skip
    patient.save()
    patient.refresh_from_db()
    PatientFeatures(patient=patient, **{n: _db_value(n, record[n]) for n in FEATURE_NAMES}).save()
    return patient


def _db_value(name: str, value):
    if name == "is_elderly":
        return bool(int(value))
    if isinstance(value, float):
        return Decimal(str(value))
    return value
