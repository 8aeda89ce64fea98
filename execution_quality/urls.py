from django.urls import path

from execution_quality import views

app_name = "execution_quality"

urlpatterns = [
    path("", views.IndexView.as_view(), name="index"),
]
