"""`/fhir` without its slash: the address a professional's software posts its transaction
Bundle to (ITI-65, `POST [base]`)."""

from django.urls import path

from catalogue.api import software, views

app_name = "fhir_transaction"
urlpatterns = [path("", views.type_view(None, software.transaction_bundle), name="transaction")]
