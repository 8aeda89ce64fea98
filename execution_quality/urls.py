"""Best execution pages under /execution/."""

from django.urls import path

from execution_quality import views

app_name = "execution_quality"

urlpatterns = [
    path("", views.dashboard, name="index"),
    path("orders.csv", views.orders_csv, name="orders_csv"),
    path("run/", views.run_now, name="run_now"),
    path("orders/<int:order_id>/", views.order_detail, name="order_detail"),
    path("orders/<int:order_id>/run/", views.order_run, name="order_run"),
    path("reports/", views.reports, name="reports"),
    path("reports/venues.csv", views.report_csv, {"by": "venue"}, name="report_venues_csv"),
    path("reports/brokers.csv", views.report_csv, {"by": "broker"}, name="report_brokers_csv"),
    path("reports/league.pdf", views.report_pdf, name="report_pdf"),
    path("reports/rts28/<int:year>/", views.rts28, name="rts28"),
    path("reports/rts28/<int:year>.csv", views.rts28_csv, name="rts28_csv"),
    path("reports/rts28/<int:year>.pdf", views.rts28_pdf, name="rts28_pdf"),
    path("pretrade/", views.pretrade, name="pretrade"),
    path("models/", views.model_list, name="model_list"),
    path("models/train/", views.model_train, name="model_train"),
]
