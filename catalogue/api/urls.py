"""`/fhir/`: the metadata, then two routes for each resource type registered in
`dossier.fhir_api` (the registry is full once the apps are ready, before URLs load)."""

from django.urls import path, re_path

from catalogue.api import views
from dossier.fhir_api import resource_types

app_name = "fhir"

urlpatterns = [path("metadata", views.metadata, name="metadata")]
for name, resource_type in resource_types().items():
    if resource_type.search is not None or resource_type.create is not None:
        urlpatterns.append(path(name, views.type_view(resource_type), name=f"{name.lower()}-type"))
    urlpatterns += [
        path(
            f"{name}/<str:resource_id>",
            views.instance_view(resource_type),
            name=f"{name.lower()}-instance",
        ),
    ]
# Last: an unknown type or address answers in FHIR too.
urlpatterns.append(re_path(r"^(?P<rest>.*)$", views.unknown, name="unknown"))
