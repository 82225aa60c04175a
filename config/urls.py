"""URL routes: the dashboard at /, the API at /api/ (operations under /api/v1/), the admin."""

from django.contrib import admin
from django.urls import include, path, re_path

from .api import api, api_not_found

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    # Clients of the API read JSON errors, also for a path that does not exist.
    re_path(r"^api/", api_not_found),
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("dashboard.urls")),
]
