"""A simulated past quarter for the demo, so realised ROI and monitoring have data.

The population is scored as of `scored_on` (a back-dated run); coordinators "work" each
department's 30-day worklist (the tiers its flags select): some interventions are done,
some declined, some patients unreachable; a done intervention succeeds with its
projection's success rate and then prevents the admission the cohort's ground truth had
in store, if that admission came after the intervention. The remaining admissions are
imported through the real importer, outcomes are evaluated and savings realised.
Every draw comes from `seed`, so the same arguments give the same period.
"""

import math
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
from django.db import connection, transaction

from finance.models import Intervention, InterventionStatus, InterventionType
from patients.admissions import admissions_import
from patients.cohort import admissions_from_truth
from patients.models import AdmissionSource, Department
from predictions.worklist import flagged_tiers
from riskplatform.core.history import history_bulk_record
from riskplatform.core.models import AuditEvent
from riskplatform.core.services import audit_event_record
from riskplatform.core.windows import RiskTier

SIMULATED_WINDOW = "30_day"
# Share of worked patients by what happened; the rest stay planned (never followed up).
STATUS_SHARES = {
    InterventionStatus.DONE: 0.70,
    InterventionStatus.DECLINED: 0.12,
    InterventionStatus.UNREACHABLE: 0.13,
    InterventionStatus.PLANNED: 0.05,
}
# A failed attempt still costs something (a call, a wasted visit).
ATTEMPT_COST_SHARE = 0.15
TYPES_BY_TIER = {
    RiskTier.CRITICAL: (InterventionType.HOME_VISIT, InterventionType.PROGRAMME_ENROLMENT),
    RiskTier.HIGH: (InterventionType.CARE_MANAGER_CALL, InterventionType.MEDICATION_REVIEW),
}


@dataclass(frozen=True)
class SimulatedPeriod:
    scored_on: date
    interventions: int
    done: int
    succeeded: int
    admissions_imported: int
    admissions_avoided: int


# The rows each department's worklist shows (its tiers from `flagged_tiers`, the one
# reading of the department flags), as (department, tier) pairs.
_WORKLIST_ROWS = """
SELECT p.patient_id, p.external_id, pr.prediction_id, pr.risk_tier, fp.intervention_cost,
       fp.success_rate_actual
FROM predictions pr
JOIN patients p ON p.patient_id = pr.patient_id
JOIN financial_projections fp ON fp.prediction_id = pr.prediction_id
WHERE pr.model_version = %s AND pr.superseded_at IS NULL AND pr.prediction_window = %s
  AND (p.department_id, pr.risk_tier) IN (SELECT * FROM unnest(%s::int[], %s::int[]))
ORDER BY p.patient_id
"""


def _worked_rows(version: str) -> pd.DataFrame:
    pairs = [(d.pk, tier) for d in Department.objects.all() for tier in flagged_tiers(d)]
    departments, tiers = [d for d, _ in pairs], [t for _, t in pairs]
    with connection.cursor() as cursor:
        cursor.execute(_WORKLIST_ROWS, [version, SIMULATED_WINDOW, departments, tiers])
        columns = [c.name for c in cursor.description]
        return pd.DataFrame(cursor.fetchall(), columns=columns)


def _admission_days(truth_path: Path) -> dict[str, int]:
    truth = pd.read_csv(truth_path, usecols=["external_id", "days_to_admission"])
    truth = truth.dropna(subset=["days_to_admission"])
    return {
        external_id: math.ceil(days)
        for external_id, days in zip(truth.external_id, truth.days_to_admission, strict=True)
    }


@transaction.atomic
def demo_period_simulate(
    *,
    version: str,
    truth_path: Path,
    scored_on: date,
    out_dir: Path,
    changed_by: str,
    seed: int,
) -> SimulatedPeriod:
    """Interventions for the worked patients (one multi-row insert, history rows, one audit
    row) and the admissions that followed (through `admissions_import`), in one
    transaction. Run once per demo database: the interventions are not idempotent."""
    rng = np.random.default_rng(seed)
    rows = _worked_rows(version)
    n = len(rows)
    statuses = rng.choice(
        list(STATUS_SHARES), size=n, p=list(STATUS_SHARES.values())
    )  # fmt: skip
    offsets = rng.integers(1, 15, size=n)  # days after the score
    spread = rng.uniform(0.8, 1.2, size=n)
    succeeded = rng.random(n) < rows["success_rate_actual"].astype(float).to_numpy()
    admission_days = _admission_days(truth_path)

    interventions, avoided = [], set()
    for i, row in enumerate(rows.itertuples(index=False)):
        status = InterventionStatus(statuses[i])
        policy_cost = float(row.intervention_cost)
        cost = {
            InterventionStatus.DONE: policy_cost * spread[i],
            InterventionStatus.PLANNED: None,
        }.get(status, policy_cost * ATTEMPT_COST_SHARE * spread[i])
        choices = TYPES_BY_TIER[RiskTier(row.risk_tier)]
        interventions.append(
            Intervention(
                patient_id=row.patient_id,
                prediction_id=row.prediction_id,
                intervention_type=choices[int(rng.integers(0, len(choices)))],
                status=status,
                intervention_date=scored_on + timedelta(days=int(offsets[i])),
                cost_spent=None if cost is None else Decimal(f"{cost:.2f}"),
                notes="Simulated for the demo",
                recorded_by=changed_by,
            )
        )
        day = admission_days.get(row.external_id)
        if status == InterventionStatus.DONE and succeeded[i] and day and day > offsets[i]:
            avoided.add(row.external_id)

    created = Intervention.objects.bulk_create(interventions, batch_size=2000)
    history_bulk_record(
        model=Intervention,
        pks=[i.pk for i in created],
        history_type="+",
        change_reason=f"demo simulation by {changed_by}",
    )
    done = sum(1 for i in created if i.status == InterventionStatus.DONE)
    audit_event_record(
        event_type=AuditEvent.INTERVENTION_RECORDED,
        changed_by=changed_by,
        entity_type="DEMO_SIMULATION",
        new_values={"scored_on": scored_on.isoformat(), "interventions": len(created),
                    "done": done, "admissions_avoided": len(avoided)},
    )  # fmt: skip

    path = admissions_from_truth(
        truth_path=truth_path,
        scored_on=scored_on,
        out_path=Path(out_dir) / "admissions_simulated.csv",
        seed=seed,
        exclude_external_ids=avoided,
    )
    imported = admissions_import(path=path, changed_by=changed_by, source=AdmissionSource.SIMULATED)
    return SimulatedPeriod(
        scored_on=scored_on,
        interventions=len(created),
        done=done,
        succeeded=int(succeeded[statuses == InterventionStatus.DONE].sum()),
        admissions_imported=imported.rows,
        admissions_avoided=len(avoided),
    )
