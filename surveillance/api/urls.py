"""Surveillance API routes under /api/v1/surveillance/."""

from core.api.routers import OptionalSlashRouter
from surveillance.api import views

router = OptionalSlashRouter()
router.register("surveillance/alerts", views.AlertViewSet, basename="surveillancealert")
router.register("surveillance/cases", views.CaseViewSet, basename="surveillancecase")
router.register("surveillance/detectors", views.DetectorViewSet, basename="surveillancedetector")
router.register("surveillance/runs", views.SurveillanceRunViewSet, basename="surveillancerun")

urlpatterns = router.urls
