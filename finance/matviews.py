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
