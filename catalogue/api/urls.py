"""`/fhir/`: the metadata, then two routes for each resource type registered in
`dossier.fhir_api` (the registry is full once the apps are ready, before URLs load), each
answering a connected service's tokens and, for the DMP's documents, a professional's
software's (`catalogue.api.software`), and the software's transaction (ITI-65)."""

from django.urls import path, re_path

from catalogue.api import metadata, software, views
from dossier.fhir_api import resource_types

app_name = "fhir"

registered = resource_types()
names = list(registered) + [
    n for n in (*software.TYPE_HANDLERS, *software.INSTANCE_HANDLERS) if n not in registered
]

urlpatterns = [
    path("metadata", metadata.metadata, name="metadata"),
    path("", views.type_view(None, software.transaction_bundle), name="transaction"),
]
for name in dict.fromkeys(names):
    resource_type = registered.get(name)
    for_software = software.TYPE_HANDLERS.get(name)
    if (
        resource_type is not None
        and (resource_type.search is not None or resource_type.create is not None)
    ) or for_software is not None:
        urlpatterns.append(
            path(name, views.type_view(resource_type, for_software), name=f"{name.lower()}-type")
        )
    if resource_type is not None or name in software.INSTANCE_HANDLERS:
        urlpatterns.append(
            path(
                f"{name}/<str:resource_id>",
                views.instance_view(resource_type, software.INSTANCE_HANDLERS.get(name)),
                name=f"{name.lower()}-instance",
            )
        )
# Last: an unknown type or address answers in FHIR too.
urlpatterns.append(re_path(r"^(?P<rest>.*)$", views.unknown, name="unknown"))
