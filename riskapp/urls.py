from django.urls import path

from riskapp import views

app_name = "riskapp"

urlpatterns = [
    path("", views.IndexView.as_view(), name="index"),
    path("run-all/", views.run_all, name="run_all"),
    path("portfolios/<code:code>/", views.PortfolioRiskView.as_view(), name="portfolio"),
    path("portfolios/<code:code>/run/", views.run_now, name="run_now"),
    path("portfolios/<code:code>/export.csv", views.export_csv, name="export_csv"),
    path("portfolios/<code:code>/export.xlsx", views.export_xlsx, name="export_xlsx"),
    path("portfolios/<code:code>/report.pdf", views.report_pdf, name="report_pdf"),
    path("portfolios/<code:code>/limits/new/", views.limit_create, name="limit_create"),
    path("portfolios/<code:code>/limits/<int:pk>/", views.limit_edit, name="limit_edit"),
    path("portfolios/<code:code>/resume/", views.resume, name="resume"),
    path("scenarios/", views.ScenarioListView.as_view(), name="scenario_list"),
    path("scenarios/new/", views.scenario_create, name="scenario_create"),
    path("scenarios/<int:pk>/", views.scenario_edit, name="scenario_edit"),
]
