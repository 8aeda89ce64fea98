"""Best execution API routes under /api/v1/tca/."""

from django.urls import re_path

from core.api.routers import OptionalSlashRouter
from execution_quality.api import views

router = OptionalSlashRouter()
router.register("tca/orders", views.TcaOrderViewSet, basename="tcaorder")
router.register("tca/executions", views.TcaExecutionViewSet, basename="tcaexecution")
router.register("tca/runs", views.TcaRunViewSet, basename="tcarun")
router.register("tca/models", views.CostModelViewSet, basename="tcamodel")

urlpatterns = [
    re_path(r"^tca/pretrade/?$", views.PretradeEstimateView.as_view(), name="tca-pretrade"),
    re_path(r"^tca/reports/venues/?$", views.VenueLeagueView.as_view(), name="tca-report-venues"),
    re_path(r"^tca/reports/brokers/?$", views.BrokerLeagueView.as_view(), name="tca-report-brokers"),
    re_path(r"^tca/reports/rts28/?$", views.Rts28ReportView.as_view(), name="tca-report-rts28"),
    *router.urls,
]
