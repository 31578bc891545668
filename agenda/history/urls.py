"""The history pages (patient: `patient_patterns`; pro portal: `pro_patterns`)."""

from django.urls import path

from agenda.history import views

patient_patterns = [path("historique/", views.history, name="history")]
pro_patterns = [path("historique/", views.pro_history, name="history")]
