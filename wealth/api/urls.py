"""Wealth API routes under /api/v1/wealth/."""

from django.urls import re_path

from core.api.routers import OptionalSlashRouter
from wealth.api import views

router = OptionalSlashRouter()
router.register("wealth/clients", views.ClientViewSet, basename="wealthclient")
router.register("wealth/profiles", views.RiskProfileViewSet, basename="wealthprofile")
router.register("wealth/goals", views.GoalViewSet, basename="wealthgoal")
router.register("wealth/plans", views.GoalPlanViewSet, basename="wealthplan")
router.register("wealth/recommendations", views.RecommendationViewSet, basename="wealthrecommendation")
router.register("wealth/runs", views.WealthRunViewSet, basename="wealthrun")

urlpatterns = [
    re_path(r"^wealth/questionnaire/?$", views.QuestionnaireView.as_view(), name="wealth-questionnaire"),
    *router.urls,
]
