from decimal import Decimal as D

from django.db import migrations

# Default policies (docs/schema.md, "Intervention policies"). Intervention cost rises with tier
# to the seed's maxima ($900 / $1,650 / $1,900 for 30 / 60 / 90 days); tier 1 gets no
# intervention. Success-rate ranges rise with tier: the higher the risk, the more admissions
# an intervention can avert. Admins edit these; every edit is kept in history.
COSTS = {
    "30_day": ["0", "150", "350", "600", "900"],
    "60_day": ["0", "275", "650", "1100", "1650"],
    "90_day": ["0", "325", "750", "1300", "1900"],
}
SUCCESS_RATES = [
    ("0", "0"),
    ("0.050", "0.150"),
    ("0.100", "0.250"),
    ("0.200", "0.350"),
    ("0.300", "0.450"),
]
DESCRIPTIONS = [
    "No intervention",
    "Educational mailing and annual wellness reminder",
    "Care-manager phone outreach",
    "Care-manager programme with medication review",
    "Intensive case management with home visits",
]


def add_policies(apps, schema_editor):
    policy = apps.get_model("finance", "InterventionPolicy")
    for window, costs in COSTS.items():
        for tier, cost in enumerate(costs, start=1):
            low, high = SUCCESS_RATES[tier - 1]
            policy.objects.get_or_create(
                prediction_window=window,
                risk_tier=tier,
                defaults={
                    "intervention_cost": D(cost),
                    "success_rate_min": D(low),
                    "success_rate_max": D(high),
                    "addressable_cost_pct": D("0.600"),
                    "description": DESCRIPTIONS[tier - 1],
                },
            )


def remove_policies(apps, schema_editor):
    apps.get_model("finance", "InterventionPolicy").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("finance", "0001_initial")]
    operations = [migrations.RunPython(add_policies, remove_policies)]
