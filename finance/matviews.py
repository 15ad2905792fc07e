from django.db import models
from django_pgviews import view as pg

from predictions.matviews import CURRENT_PREDICTIONS_CTE


class RoiPositivePatient(pg.ReadOnlyMaterializedView):
    """Patients whose intervention pays for itself, from their current predictions.

    Projections join to their own prediction (not every prediction of the patient), and
    patients with no intervention (cost 0, ROI undefined) are not "positive".
    """

    concurrent_index = "patient_id, projection_window"
    sql = f"""
    WITH {CURRENT_PREDICTIONS_CTE}
    SELECT c.prediction_id,
           p.patient_id,
           p.patient_uuid,
           p.age,
           p.gender,
           d.department_id,
           d.department_name,
           d.department_code,
           fp.projection_window,
           fp.risk_tier,
           c.tier_label,
           c.risk_score,
           c.model_version,
           fp.annual_cost,
           fp.intervention_cost,
           fp.expected_savings,
           fp.net_benefit,
           fp.roi_percentage,
           fp.roi_category,
           CASE
               WHEN fp.roi_percentage >= 100 THEN 'EXCEPTIONAL'
               WHEN fp.roi_percentage >= 50 THEN 'EXCELLENT'
               WHEN fp.roi_percentage >= 25 THEN 'GOOD'
               WHEN fp.roi_percentage >= 0 THEN 'POSITIVE'
               ELSE 'NEGATIVE'
           END::varchar(20) AS roi_grade
    FROM current_predictions c
    JOIN financial_projections fp ON fp.prediction_id = c.prediction_id
    JOIN patients p ON p.patient_id = c.patient_id
    JOIN departments d ON d.department_id = p.department_id
    WHERE fp.roi_percentage >= 0
    """

    prediction_id = models.BigIntegerField(primary_key=True)
    patient_id = models.BigIntegerField()
    patient_uuid = models.UUIDField()
    age = models.IntegerField()
    gender = models.CharField(max_length=10, null=True)
    department_id = models.IntegerField()
    department_name = models.CharField(max_length=100)
    department_code = models.CharField(max_length=20)
    projection_window = models.CharField(max_length=10)
    risk_tier = models.SmallIntegerField()
    tier_label = models.CharField(max_length=20)
    risk_score = models.DecimalField(max_digits=5, decimal_places=4)
    model_version = models.CharField(max_length=20)
    annual_cost = models.DecimalField(max_digits=10, decimal_places=2)
    intervention_cost = models.DecimalField(max_digits=10, decimal_places=2)
    expected_savings = models.DecimalField(max_digits=10, decimal_places=2)
    net_benefit = models.DecimalField(max_digits=10, decimal_places=2)
    roi_percentage = models.DecimalField(max_digits=12, decimal_places=2)
    roi_category = models.CharField(max_length=20)
    roi_grade = models.CharField(max_length=20)

    class Meta:
        managed = False
        db_table = "roi_positive_patients"
        ordering = ["-roi_percentage", "-risk_tier"]
        verbose_name = "ROI-positive patient"


class RoiTierSummary(pg.ReadOnlyMaterializedView):
    """Current predictions and their own projections, summed per department, window and tier
    (at most 90 rows for 6 departments): the finance reports read these instead of
    aggregating every current prediction on each page view."""

    concurrent_index = "department_id, prediction_window, risk_tier"
    sql = f"""
    WITH {CURRENT_PREDICTIONS_CTE}
    SELECT c.department_id || ':' || c.prediction_window || ':' || c.risk_tier AS id,
           c.department_id,
           d.department_code,
           c.prediction_window::varchar(10) AS prediction_window,
           c.risk_tier::smallint AS risk_tier,
           COUNT(*) AS patient_count,
           SUM(c.risk_score) AS risk_score_sum,
           SUM(fp.intervention_cost) AS intervention_cost,
           SUM(fp.expected_savings) AS expected_savings,
           SUM(fp.net_benefit) AS net_benefit
    FROM current_predictions c
    JOIN financial_projections fp ON fp.prediction_id = c.prediction_id
    JOIN departments d ON d.department_id = c.department_id
    GROUP BY c.department_id, d.department_code, c.prediction_window, c.risk_tier
    """

    id = models.CharField(max_length=30, primary_key=True)
    department_id = models.IntegerField()
    department_code = models.CharField(max_length=20)
    prediction_window = models.CharField(max_length=10)
    risk_tier = models.SmallIntegerField()
    patient_count = models.BigIntegerField()
    # A sum, not an average, so that averages over several tiers or departments are exact.
    risk_score_sum = models.DecimalField(max_digits=14, decimal_places=4)
    intervention_cost = models.DecimalField(max_digits=16, decimal_places=2)
    expected_savings = models.DecimalField(max_digits=16, decimal_places=2)
    net_benefit = models.DecimalField(max_digits=16, decimal_places=2)

    class Meta:
        managed = False
        db_table = "roi_tier_summary"
        ordering = ["department_id", "prediction_window", "risk_tier"]
        verbose_name = "ROI per department and tier"
        verbose_name_plural = "ROI per department and tier"
