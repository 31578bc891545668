"""The prevention pages (patient: `patient_patterns`; pro portal: `pro_patterns`)."""

from django.urls import path

from agenda.prevention import views

patient_patterns = [
    path("prevention/", views.prevention, name="prevention"),
    path("prevention/situations/", views.conditions, name="prevention_conditions"),
    path(
        "prevention/programmes/<slug:programme>/",
        views.programme,
        name="prevention_programme",
    ),
    path(
        "prevention/reponses/<int:mark_id>/retirer/",
        views.remove_mark,
        name="prevention_remove",
    ),
    path("prevention/<slug:code>/fait/", views.mark_done, name="prevention_done"),
    path(
        "prevention/<slug:code>/ne-me-concerne-pas/",
        views.decline,
        name="prevention_decline",
    ),
]
pro_patterns = []
