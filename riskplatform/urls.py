from django.contrib import admin
from django.urls import path
from django.views.generic import RedirectView

admin.site.site_header = "Risk platform"
admin.site.site_title = "Risk platform"
admin.site.index_title = "Population-health risk"

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
]
