from django import forms
from django.utils import timezone

from finance.interventions import FUTURE_DATE_ERROR
from finance.models import Intervention, InterventionStatus


class InterventionForm(forms.ModelForm):
    """What a coordinator enters; the service (finance/interventions.py) checks it again."""

    cost_spent = forms.DecimalField(
        label="Cost spent ($)",
        required=False,
        min_value=0,
        max_digits=10,
        decimal_places=2,
        help_text="What it actually cost, if known; leave empty when unknown.",
    )

    class Meta:
        model = Intervention
        fields = ("intervention_type", "status", "intervention_date", "cost_spent", "notes")
        labels = {"intervention_type": "Intervention", "intervention_date": "Date"}
        help_texts = {
            "intervention_date": "The day it was done or attempted; a future day for a plan.",
            "notes": "Shown to coordinators and administrators, never to analysts.",
        }
        widgets = {
            "intervention_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "notes": forms.Textarea(attrs={"rows": 3}),
        }

    def clean(self):
        cleaned = super().clean()
        status, day = cleaned.get("status"), cleaned.get("intervention_date")
        if status and day and status != InterventionStatus.PLANNED and day > timezone.localdate():
            self.add_error("intervention_date", FUTURE_DATE_ERROR)
        return cleaned
