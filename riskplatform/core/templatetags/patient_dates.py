"""`{% patient_date value %}`: a patient's date as the viewer's role may see it, to the day
(coordinators, admins) or to the month (analysts); patients/visibility.py decides.

    {% load patient_dates %}
    {% patient_date admission.admission_date %}               2026-12-01 | December 2026
    {% patient_date prediction.prediction_timestamp time=True %}  2026-12-01 20:41 | December 2026
    {% patient_date admission.discharge_date default="-" %}
"""

from django import template

from patients.visibility import exact_dates_visible_to
from patients.visibility import patient_date as date_shown

register = template.Library()


@register.simple_tag(takes_context=True)
def patient_date(context, value, time: bool = False, default: str = "") -> str:
    request = context.get("request")
    # Without a request (a mail, say) nobody's role is known: the month, the safe side.
    exact = request is not None and exact_dates_visible_to(request.user)
    return date_shown(value, exact=exact, time=time) or default
