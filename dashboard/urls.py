"""Dashboard pages (namespaced "dashboard")."""

from django.urls import path
from django.views.generic import RedirectView

app_name = "dashboard"

urlpatterns = [
    # Until the dashboard pages land, the admin is where people inspect sessions.
    path("", RedirectView.as_view(url="/admin/", permanent=False), name="home"),
]
