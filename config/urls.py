"""Top-level routes: pages per app, the versioned API, its schema and docs, health and metrics."""

from django.contrib import admin
from django.urls import include, path, register_converter
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from core import metrics as core_metrics
from core import views as core_views
from core.converters import CodeConverter

register_converter(CodeConverter, "code")

api_v1 = [
    path("", include("core.api.urls")),
    path("", include("portfolios.api.urls")),
    path("", include("riskapp.api.urls")),
    path("", include("surveillance.api.urls")),
    path("", include("execution_quality.api.urls")),
    path("", include("wealth.api.urls")),
    path("", include("audit.api.urls")),
]

urlpatterns = [
    path("", core_views.HomeView.as_view(), name="home"),
    path("home/counts/", core_views.HomeCountsView.as_view(), name="home_counts"),
    path("accounts/login/", core_views.VigilLoginView.as_view(), name="login"),
    path("accounts/logout/", core_views.VigilLogoutView.as_view(), name="logout"),
    path("runs/<int:pk>/progress/", core_views.RunProgressView.as_view(), name="run_progress"),
    path("health/", core_views.health, name="health"),
    path("metrics", core_metrics.metrics_view, name="metrics"),
    path("portfolios/", include("portfolios.urls")),
    path("risk/", include("riskapp.urls")),
    path("surveillance/", include("surveillance.urls")),
    path("execution/", include("execution_quality.urls")),
    path("wealth/", include("wealth.urls")),
    path("audit/", include("audit.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script as a file (?script), not inline: the
    # page then runs under the site's Content-Security-Policy unchanged (docs/security.md).
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="schema", template_name="core/swagger_ui.html"),
        name="api-docs",
    ),
]

handler403 = "core.views.permission_denied"
handler404 = "core.views.not_found"
handler500 = "core.views.server_error"
