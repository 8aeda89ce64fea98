"""Wealth pages under /wealth/."""

from django.urls import path

from wealth import views

app_name = "wealth"

urlpatterns = [
    path("", views.index, name="index"),
    path("clients.csv", views.attention_csv, name="attention_csv"),
    path("scan/", views.scan, name="scan"),
    path("clients/<int:pk>/", views.client_detail, name="client_detail"),
    path("clients/<int:pk>/questionnaire/", views.questionnaire, name="questionnaire"),
    path("clients/<int:pk>/report.pdf", views.client_report, name="client_report"),
    path("clients/<int:pk>/goals/new/", views.goal_create, name="goal_create"),
    path("clients/<int:pk>/propose/", views.allocation_propose, name="allocation_propose"),
    path("clients/<int:pk>/rebalance/", views.rebalance_propose, name="rebalance_propose"),
    path("clients/<int:pk>/harvest/", views.harvest_propose, name="harvest_propose"),
    path("goals/<int:pk>/edit/", views.goal_edit, name="goal_edit"),
    path("goals/<int:pk>/plan/", views.goal_plan, name="goal_plan"),
    path("recommendations/<int:pk>/accept/", views.recommendation_accept, name="recommendation_accept"),
    path("recommendations/<int:pk>/decline/", views.recommendation_decline, name="recommendation_decline"),
]
