from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from patients.visibility import departments_visible_to
from riskplatform.core.windows import DAYS_IN_WINDOW


@login_required
def workspace_view(request):
    """Start page: the departments this user may open, with their worklists and report."""
    return render(
        request,
        "workspace.html",
        {"departments": departments_visible_to(request.user), "windows": list(DAYS_IN_WINDOW)},
    )
