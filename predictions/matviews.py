"""The seed's materialized views over predictions, made valid and concurrently refreshable.

"Current prediction" means: the prediction of the active model version that has not been
superseded, for an active patient. The partial unique index on predictions makes that one row
per (patient, window), so no MAX(prediction_timestamp) subquery is needed.
"""

from django.db import models
from django_pgviews import view as pg

from riskplatform.core.windows import tier_labels_sql_pairs, window_days_sql_pairs

CURRENT_PREDICTIONS_CTE = """
current_predictions AS (
    SELECT pred.prediction_id, pred.patient_id, pred.prediction_window, pred.model_version,
           pred.risk_score, pred.risk_tier, pred.tier_label, pred.is_high_risk,
           pred.is_critical_risk, pred.prediction_timestamp, pt.department_id
    FROM predictions pred
    JOIN model_versions mv ON mv.version = pred.model_version AND mv.status = 'active'
    JOIN patients pt ON pt.patient_id = pred.patient_id AND pt.is_active
    WHERE pred.superseded_at IS NULL
)"""

WINDOWS_SQL = f"(VALUES {window_days_sql_pairs()}) AS w(prediction_window, days_in_window)"
TIERS_SQL = f"(VALUES {tier_labels_sql_pairs()}) AS t(risk_tier, tier_label)"


class OrgTierSummary(pg.ReadOnlyMaterializedView):
    """Tier distribution per window; all 15 window x tier rows, zeros included."""

    concurrent_index = "prediction_window, risk_tier"
    sql = f"""
    WITH {CURRENT_PREDICTIONS_CTE}
    SELECT w.prediction_window || ':' || t.risk_tier AS id,
           w.prediction_window::varchar(10) AS prediction_window,
           t.risk_tier::smallint AS risk_tier,
           t.tier_label::varchar(20) AS tier_label,
           (SELECT version FROM model_versions WHERE status = 'active') AS model_version,
           COUNT(c.patient_id) AS patient_count,
           COALESCE(ROUND(100.0 * COUNT(c.patient_id)
               / NULLIF(SUM(COUNT(c.patient_id)) OVER (PARTITION BY w.prediction_window), 0),
               2), 0) AS percentage,
           ROUND(AVG(c.risk_score), 4) AS avg_risk_score,
           MIN(c.risk_score) AS min_risk_score,
           MAX(c.risk_score) AS max_risk_score,
           COUNT(c.patient_id) FILTER (WHERE c.is_critical_risk) AS critical_count
    FROM {WINDOWS_SQL}
    CROSS JOIN {TIERS_SQL}
    LEFT JOIN current_predictions c
           ON c.prediction_window = w.prediction_window AND c.risk_tier = t.risk_tier
    GROUP BY w.prediction_window, t.risk_tier, t.tier_label
    """

    id = models.CharField(max_length=20, primary_key=True)
    prediction_window = models.CharField(max_length=10)
    risk_tier = models.SmallIntegerField()
    tier_label = models.CharField(max_length=20)
    model_version = models.CharField(max_length=20, null=True)
    patient_count = models.BigIntegerField()
    percentage = models.DecimalField(max_digits=6, decimal_places=2)
    avg_risk_score = models.DecimalField(max_digits=5, decimal_places=4, null=True)
    min_risk_score = models.DecimalField(max_digits=5, decimal_places=4, null=True)
    max_risk_score = models.DecimalField(max_digits=5, decimal_places=4, null=True)
    critical_count = models.BigIntegerField()

    class Meta:
        managed = False
        db_table = "org_tier_summary"
        ordering = ["prediction_window", "risk_tier"]
        verbose_name = "organisation tier summary"
        verbose_name_plural = "organisation tier summary"


class DeptRiskDistribution(pg.ReadOnlyMaterializedView):
    """High and critical patients per department and window; every department appears."""

    concurrent_index = "department_id, prediction_window"
    sql = f"""
    WITH {CURRENT_PREDICTIONS_CTE}
    SELECT d.department_id || ':' || w.prediction_window AS id,
           d.department_id,
           d.department_name,
           d.department_code,
           w.prediction_window::varchar(10) AS prediction_window,
           COUNT(c.patient_id) FILTER (WHERE c.risk_tier >= 4) AS high_risk_count,
           COUNT(c.patient_id) FILTER (WHERE c.risk_tier = 5) AS critical_risk_count,
           COUNT(c.patient_id) AS total_patients,
           COALESCE(ROUND(100.0 * COUNT(c.patient_id) FILTER (WHERE c.risk_tier >= 4)
               / NULLIF(COUNT(c.patient_id), 0), 2), 0) AS high_risk_percentage,
           ROUND(AVG(c.risk_score), 4) AS avg_risk_score
    FROM departments d
    CROSS JOIN {WINDOWS_SQL}
    LEFT JOIN current_predictions c
           ON c.department_id = d.department_id AND c.prediction_window = w.prediction_window
    GROUP BY d.department_id, d.department_name, d.department_code, w.prediction_window
    """

    id = models.CharField(max_length=30, primary_key=True)
    department_id = models.IntegerField()
    department_name = models.CharField(max_length=100)
    department_code = models.CharField(max_length=20)
    prediction_window = models.CharField(max_length=10)
    high_risk_count = models.BigIntegerField()
    critical_risk_count = models.BigIntegerField()
    total_patients = models.BigIntegerField()
    high_risk_percentage = models.DecimalField(max_digits=6, decimal_places=2)
    avg_risk_score = models.DecimalField(max_digits=5, decimal_places=4, null=True)

    class Meta:
        managed = False
        db_table = "dept_risk_distribution"
        ordering = ["department_name", "prediction_window"]
        verbose_name = "department risk distribution"
        verbose_name_plural = "department risk distribution"
