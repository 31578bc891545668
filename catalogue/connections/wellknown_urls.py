"""`/.well-known/smart-configuration`, the SMART App Launch discovery document."""

from django.urls import path

from catalogue.connections import views

urlpatterns = [
    path("smart-configuration", views.smart_configuration, name="smart_configuration"),
]
