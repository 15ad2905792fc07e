from django.contrib import admin

from riskplatform.core.admin_mixins import ReadOnlyModelAdmin
from riskplatform.core.models import AuditLog


@admin.register(AuditLog)
class AuditLogAdmin(ReadOnlyModelAdmin):
    list_display = (
        "changed_at",
        "event_type",
        "entity_type",
        "entity_id",
        "model_version",
        "prediction_window",
        "changed_by",
    )
    list_filter = ("event_type", "entity_type", "model_version", "prediction_window")
    search_fields = ("changed_by", "entity_type")
    date_hierarchy = "changed_at"
    show_full_result_count = False
