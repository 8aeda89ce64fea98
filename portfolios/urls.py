from django.urls import path

from portfolios import views

app_name = "portfolios"

urlpatterns = [
    path("", views.PortfolioListView.as_view(), name="portfolio_list"),
    path("<code:code>/", views.PortfolioDetailView.as_view(), name="portfolio_detail"),
    path("<code:code>/snapshot/", views.snapshot_start, name="snapshot_start"),
]
