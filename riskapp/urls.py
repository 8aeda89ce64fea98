from django.urls import path

from riskapp import views

app_name = "riskapp"

urlpatterns = [
    path("", views.IndexView.as_view(), name="index"),
    path("portfolios/<code:code>/", views.PortfolioRiskView.as_view(), name="portfolio"),
]
