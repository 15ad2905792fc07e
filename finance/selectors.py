from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Sum

from finance.models import FinancialProjection
from predictions.selectors import current_prediction_q
from riskplatform.core.windows import RiskTier


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
