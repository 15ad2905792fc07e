from dataclasses import dataclass
from dataclasses import fields as fields_of
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from uuid import UUID

from django.db.models import (
    CharField,
    Count,
    DecimalField,
    F,
    OuterRef,
    QuerySet,
    Subquery,
    Sum,
    Value,
)

from finance.models import FinancialProjection, RoiPositivePatient, RoiTierSummary
from patients.models import Department, Patient
from predictions.matviews import DeptRiskDistribution, OrgTierSummary
from predictions.models import Prediction
from predictions.selectors import current_prediction_q
from riskplatform.core.models import AuditEvent, AuditLog
from riskplatform.core.windows import DAYS_IN_WINDOW, RiskTier

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
SCORE = Decimal("0.0001")


@dataclass(frozen=True)
class InterventionTotals:
    patient_count: int
    total_intervention_cost: Decimal
    total_expected_savings: Decimal

    @property
    def net_benefit(self) -> Decimal:
        return self.total_expected_savings - self.total_intervention_cost


def intervention_totals(
    *,
    window: str,
    min_tier: int = RiskTier.CRITICAL,
    department_id: int | None = None,
) -> InterventionTotals:
    """The seed's Query 2 ("cost of treating all tier-5 patients"), corrected.

    Each projection is joined to its own prediction, so a patient's projections for other
    windows and other model versions are not summed in; only current predictions count.
    """
    projections = FinancialProjection.objects.filter(
        current_prediction_q("prediction__"),
        prediction__prediction_window=window,
        prediction__risk_tier__gte=min_tier,
    )
    if department_id is not None:
        projections = projections.filter(patient__department_id=department_id)
    totals = projections.aggregate(
        patient_count=Count("patient_id", distinct=True),
        total_intervention_cost=Sum("intervention_cost", default=Decimal("0.00")),
        total_expected_savings=Sum("expected_savings", default=Decimal("0.00")),
    )
    return InterventionTotals(**totals)


# Reports (finance/views.py). Every function answers with a fixed number of set-based
# queries, whatever the population: the pages must stay fast at 100,000 patients.


def _windows() -> list[str]:
    return list(DAYS_IN_WINDOW)


def _roi_percentage(*, net: Decimal, cost: Decimal) -> Decimal | None:
    # Undefined when nothing is spent (tier 1 has no intervention), as in the projections.
    if not cost:
        return None
    return (net * 100 / cost).quantize(CENT, rounding=ROUND_HALF_UP)


def _share(part: int, whole: int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) * 100 / whole).quantize(CENT, rounding=ROUND_HALF_UP)


def reporting_views_refreshed_at() -> datetime | None:
    """When the materialized views were last refreshed: their figures are as of then."""
    return (
        AuditLog.objects.filter(event_type=AuditEvent.VIEW_REFRESH)
        .order_by("-changed_at")
        .values_list("changed_at", flat=True)
        .first()
    )


@dataclass(frozen=True)
class TierCount:
    risk_tier: int
    tier_label: str
    patient_count: int
    percentage: Decimal
    avg_risk_score: Decimal | None
    critical_count: int


@dataclass(frozen=True)
class WindowTiers:
    window: str
    days: int
    tiers: list[TierCount]

    @property
    def patient_count(self) -> int:
        return sum(t.patient_count for t in self.tiers)

    @property
    def critical_count(self) -> int:
        return sum(t.critical_count for t in self.tiers)

    @property
    def critical_tier_count(self) -> int:
        """Patients in tier 5: the seed's "expect X critical-risk interventions"."""
        return next((t.patient_count for t in self.tiers if t.risk_tier == RiskTier.CRITICAL), 0)


@dataclass(frozen=True)
class OrganisationSummary:
    windows: list[WindowTiers]
    model_version: str | None

    def window(self, window: str) -> WindowTiers | None:
        return next((w for w in self.windows if w.window == window), None)


def organisation_summary() -> OrganisationSummary:
    """Tier distribution per window from `org_tier_summary` (15 rows, one query)."""
    by_window: dict[str, list[TierCount]] = {window: [] for window in _windows()}
    version = None
    for row in OrgTierSummary.objects.order_by("prediction_window", "risk_tier"):
        version = version or row.model_version
        by_window.setdefault(row.prediction_window, []).append(
            TierCount(
                risk_tier=row.risk_tier,
                tier_label=row.tier_label,
                patient_count=row.patient_count,
                percentage=row.percentage,
                avg_risk_score=row.avg_risk_score,
                critical_count=row.critical_count,
            )
        )
    return OrganisationSummary(
        windows=[
            WindowTiers(window=window, days=DAYS_IN_WINDOW[window], tiers=tiers)
            for window, tiers in by_window.items()
            if window in DAYS_IN_WINDOW
        ],
        model_version=version,
    )


@dataclass(frozen=True)
class RiskComparison:
    """A department against the whole organisation, in one window (reporting views)."""

    window: str
    total_patients: int
    high_risk_count: int
    critical_risk_count: int
    avg_risk_score: Decimal | None
    org_total_patients: int
    org_high_risk_count: int
    org_critical_risk_count: int
    org_avg_risk_score: Decimal | None

    @property
    def high_risk_share(self) -> Decimal | None:
        return _share(self.high_risk_count, self.total_patients)

    @property
    def critical_share(self) -> Decimal | None:
        return _share(self.critical_risk_count, self.total_patients)

    @property
    def org_high_risk_share(self) -> Decimal | None:
        return _share(self.org_high_risk_count, self.org_total_patients)

    @property
    def org_critical_share(self) -> Decimal | None:
        return _share(self.org_critical_risk_count, self.org_total_patients)

    @property
    def critical_share_difference(self) -> Decimal | None:
        if self.critical_share is None or self.org_critical_share is None:
            return None
        return self.critical_share - self.org_critical_share

    @property
    def avg_score_difference(self) -> Decimal | None:
        if self.avg_risk_score is None or self.org_avg_risk_score is None:
            return None
        return self.avg_risk_score - self.org_avg_risk_score

    @property
    def share_of_org_critical(self) -> Decimal | None:
        """The department's part of all the organisation's critical patients."""
        return _share(self.critical_risk_count, self.org_critical_risk_count)


def department_risk_comparison(*, department: Department) -> list[RiskComparison]:
    """`dept_risk_distribution` for one department beside the sums over every department
    (every patient has a department, so those sums are the organisation). Two queries."""
    own = {
        row.prediction_window: row
        for row in DeptRiskDistribution.objects.filter(department_id=department.pk)
    }
    # The organisation's average score, weighted by each department's patients (from the
    # departments' 4-decimal averages: at most 0.00005 from the exact mean).
    org = {
        row["prediction_window"]: row
        for row in DeptRiskDistribution.objects.values("prediction_window")
        .annotate(
            total=Sum("total_patients"),
            high=Sum("high_risk_count"),
            critical=Sum("critical_risk_count"),
            score_sum=Sum(
                F("avg_risk_score") * F("total_patients"),
                output_field=DecimalField(max_digits=20, decimal_places=4),
            ),
        )
        .order_by()
    }
    comparisons = []
    for window in _windows():
        if window not in own:
            continue
        mine, whole = own[window], org.get(window, {})
        total = whole.get("total") or 0
        comparisons.append(
            RiskComparison(
                window=window,
                total_patients=mine.total_patients,
                high_risk_count=mine.high_risk_count,
                critical_risk_count=mine.critical_risk_count,
                avg_risk_score=mine.avg_risk_score,
                org_total_patients=total,
                org_high_risk_count=whole.get("high") or 0,
                org_critical_risk_count=whole.get("critical") or 0,
                org_avg_risk_score=(
                    (whole["score_sum"] / total).quantize(SCORE, rounding=ROUND_HALF_UP)
                    if total and whole.get("score_sum") is not None
                    else None
                ),
            )
        )
    return comparisons


@dataclass(frozen=True)
class RoiLine:
    """Money summed over a group of current predictions and their own projections."""

    label: str
    patient_count: int
    # A sum, not an average, so that totals over several lines average exactly.
    risk_score_sum: Decimal
    intervention_cost: Decimal
    expected_savings: Decimal
    net_benefit: Decimal
    risk_tier: int | None = None
    department_code: str = ""

    @property
    def avg_risk_score(self) -> Decimal | None:
        if not self.patient_count:
            return None
        return (self.risk_score_sum / self.patient_count).quantize(SCORE, rounding=ROUND_HALF_UP)

    @property
    def roi_percentage(self) -> Decimal | None:
        return _roi_percentage(net=self.net_benefit, cost=self.intervention_cost)


@dataclass(frozen=True)
class WindowRoi:
    window: str
    days: int
    lines: list[RoiLine]

    @property
    def total(self) -> RoiLine:
        return _total_line(self.lines)


def _total_line(lines: list[RoiLine]) -> RoiLine:
    return RoiLine(
        label="Total",
        patient_count=sum(line.patient_count for line in lines),
        risk_score_sum=sum((line.risk_score_sum for line in lines), Decimal(0)),
        intervention_cost=sum((line.intervention_cost for line in lines), ZERO),
        expected_savings=sum((line.expected_savings for line in lines), ZERO),
        net_benefit=sum((line.net_benefit for line in lines), ZERO),
    )


_LIVE_SUMS = {
    "patients": Count("pk"),
    "score_sum": Sum("risk_score"),
    "cost": Sum("projection__intervention_cost", default=ZERO),
    "savings": Sum("projection__expected_savings", default=ZERO),
    "net": Sum("projection__net_benefit", default=ZERO),
}


def department_roi_by_tier(*, department: Department) -> list[WindowRoi]:
    """Cost, savings and net benefit per window and tier over the department's current
    predictions (active version), each joined to its own projection. One GROUP BY query;
    live, not from a reporting view."""
    rows = (
        Prediction.objects.filter(current_prediction_q(), patient__department_id=department.pk)
        .values("prediction_window", "risk_tier")
        .annotate(**_LIVE_SUMS)
        .order_by()
    )
    found = {(row["prediction_window"], row["risk_tier"]): row for row in rows}
    windows = []
    for window in _windows():
        lines = []
        for tier in RiskTier:
            row = found.get((window, tier.value))
            lines.append(_roi_line(row, label=tier.label, risk_tier=tier.value))
        windows.append(WindowRoi(window=window, days=DAYS_IN_WINDOW[window], lines=lines))
    return windows


# The same figures summed from `roi_tier_summary` (as of the last refresh): what the pages
# read, in a few milliseconds whatever the population.
_VIEW_SUMS = {
    "patients": Sum("patient_count"),
    "score_sum": Sum("risk_score_sum"),
    "cost": Sum("intervention_cost"),
    "savings": Sum("expected_savings"),
    "net": Sum("net_benefit"),
}


def department_roi_summary(*, department: Department) -> list[WindowRoi]:
    """`department_roi_by_tier` from the department's rows of `roi_tier_summary`."""
    found = {
        (row["prediction_window"], row["risk_tier"]): row
        for row in RoiTierSummary.objects.filter(department_id=department.pk)
        .values("prediction_window", "risk_tier")
        .annotate(**_VIEW_SUMS)
        .order_by()
    }
    return [
        WindowRoi(
            window=window,
            days=DAYS_IN_WINDOW[window],
            lines=[
                _roi_line(found.get((window, tier.value)), label=tier.label, risk_tier=tier.value)
                for tier in RiskTier
            ],
        )
        for window in _windows()
    ]


@dataclass(frozen=True)
class TopRoiPatient:
    patient_uuid: UUID
    external_id: str | None
    projection_window: str
    risk_tier: int
    tier_label: str
    intervention_cost: Decimal
    expected_savings: Decimal
    net_benefit: Decimal
    roi_percentage: Decimal


TOP_ROI_LIMIT = 20


def department_top_roi_patients(
    *,
    department: Department,
    with_external_id: bool,
    window: str | None = None,
    limit: int = TOP_ROI_LIMIT,
) -> list[TopRoiPatient]:
    """The department's `roi_positive_patients` rows with the largest net benefit, in one
    window or any. The hospital number is read only for users allowed to see it. One query."""
    rows = RoiPositivePatient.objects.filter(department_id=department.pk)
    if window is not None:
        rows = rows.filter(projection_window=window)
    rows = rows.order_by("-net_benefit", "patient_uuid", "projection_window")
    if with_external_id:
        rows = rows.annotate(
            external_id=Subquery(
                Patient.objects.filter(pk=OuterRef("patient_id")).values("external_id")[:1]
            )
        )
    else:
        rows = rows.annotate(external_id=Value(None, output_field=CharField()))
    fields = [f.name for f in fields_of(TopRoiPatient)]
    return [TopRoiPatient(**row) for row in rows.values(*fields)[:limit]]


@dataclass(frozen=True)
class WindowPlan:
    window: str
    days: int
    lines: list[RoiLine]  # one per department

    @property
    def total(self) -> RoiLine:
        return _total_line(self.lines)


def intervention_plan(*, departments: QuerySet[Department], min_tier: int) -> list[WindowPlan]:
    """The seed's Query 2 per window and department: what treating every current patient of
    tier >= `min_tier` would cost, save and net. Summed from `roi_tier_summary`, where each
    current prediction of the active version is joined to its own projection (never
    patient-to-patient, never another version's). Two queries."""
    listed = list(
        departments.order_by("department_name").values("pk", "department_code", "department_name")
    )
    found = {
        (row["prediction_window"], row["department_id"]): row
        for row in RoiTierSummary.objects.filter(
            risk_tier__gte=min_tier, department_id__in=[d["pk"] for d in listed]
        )
        .values("prediction_window", "department_id")
        .annotate(**_VIEW_SUMS)
        .order_by()
    }
    return [
        WindowPlan(
            window=window,
            days=DAYS_IN_WINDOW[window],
            lines=[
                _roi_line(
                    found.get((window, d["pk"])),
                    label=d["department_name"],
                    department_code=d["department_code"],
                )
                for d in listed
            ],
        )
        for window in _windows()
    ]


def _roi_line(row: dict | None, **labels) -> RoiLine:
    """One line of an ROI table from its aggregate row (None: nobody in that cell)."""
    return RoiLine(
        **labels,
        patient_count=row["patients"] if row else 0,
        risk_score_sum=row["score_sum"] if row else Decimal(0),
        intervention_cost=row["cost"] if row else ZERO,
        expected_savings=row["savings"] if row else ZERO,
        net_benefit=row["net"] if row else ZERO,
    )


def prompting_prediction(*, patient: Patient, window: str) -> Prediction | None:
    """The patient's current prediction of the active model for `window`, if any: the one
    an intervention recorded now answers."""
    if window not in DAYS_IN_WINDOW:
        return None
    return (
        Prediction.objects.filter(current_prediction_q(), patient=patient, prediction_window=window)
        .select_related("projection")
        .first()
    )
