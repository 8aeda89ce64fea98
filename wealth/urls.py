from django.urls import path

from wealth import views

app_name = "wealth"

urlpatterns = [
    path("", views.IndexView.as_view(), name="index"),
]
