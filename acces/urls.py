from django.urls import path

from acces import views

app_name = "pro"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("patients/recherche/", views.find_patient, name="find"),
    path("patients/urgence/", views.emergency, name="emergency"),
    path("patients/<uuid:space_id>/", views.patient, name="patient"),
    path("patients/<uuid:space_id>/consentement/", views.consent, name="consent"),
    path("patients/<uuid:space_id>/historique/", views.patient_history, name="history"),
]
