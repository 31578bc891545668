from django.urls import path

from acces import views

app_name = "pro"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("patients/<uuid:space_id>/", views.patient, name="patient"),
]
