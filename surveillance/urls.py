from django.urls import path

from surveillance import views

app_name = "surveillance"

urlpatterns = [
    path("", views.IndexView.as_view(), name="index"),
]
