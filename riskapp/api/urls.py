"""Risk API routes under /api/v1/."""

from django.urls import re_path

from core.api.routers import OptionalSlashRouter
from riskapp.api import views

router = OptionalSlashRouter()
router.register("risk/limits", views.LimitViewSet, basename="risklimit")
router.register("risk/breaches", views.LimitBreachViewSet, basename="riskbreach")
router.register("risk/scenarios", views.ScenarioViewSet, basename="riskscenario")
router.register("risk/runs", views.RiskRunViewSet, basename="riskrun")

urlpatterns = [
    re_path(r"^pretrade/check/?$", views.PretradeCheckView.as_view(), name="pretrade-check"),
    *router.urls,
]
