"""Surveillance pages under /surveillance/."""

from django.urls import path

from surveillance import views

app_name = "surveillance"

urlpatterns = [
    path("", views.alert_queue, name="index"),
    path("alerts.csv", views.alert_export, name="alert_export"),
    path("alerts/assign/", views.alert_assign_bulk, name="alert_assign_bulk"),
    path("alerts/<int:pk>/", views.alert_detail, name="alert_detail"),
    path("alerts/<int:pk>/act/", views.alert_act, name="alert_act"),
    path("cases/", views.case_list, name="case_list"),
    path("cases/<int:pk>/", views.case_detail, name="case_detail"),
    path("cases/<int:pk>/act/", views.case_act, name="case_act"),
    path("cases/<int:pk>/stor/", views.case_stor_edit, name="case_stor_edit"),
    path("cases/<int:pk>/stor.pdf", views.case_stor_pdf, name="case_stor_pdf"),
    path("cases/<int:pk>/stor.json", views.case_stor_json, name="case_stor_json"),
    path("cases/<int:pk>/stor.xml", views.case_stor_xml, name="case_stor_xml"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("sweep/", views.sweep, name="sweep"),
    path("detectors/", views.detector_list, name="detector_list"),
    path("detectors/<slug:scenario>/", views.detector_edit, name="detector_edit"),
]
