from django.urls import path

from catalogue.api import views

app_name = "fhir"

urlpatterns = [
    path("metadata", views.metadata, name="metadata"),
    path("Observation", views.observations_view, name="observations"),
    path("Observation/<str:resource_id>", views.observation, name="observation"),
    path("Patient/<str:resource_id>", views.patient, name="patient"),
    path("Immunization", views.immunizations, name="immunizations"),
    path("DocumentReference", views.document_references, name="document_references"),
    path("Binary/<str:resource_id>", views.binary, name="binary"),
    path("AllergyIntolerance", views.allergies, name="allergies"),
]
