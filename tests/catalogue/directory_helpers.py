"""Services for the catalogue tests."""

from datetime import date
from itertools import count

from catalogue.models import Purpose, PurposeScope, Service, ServiceTheme

_numbers = count(1)


def make_service(*, name=None, status=Service.Status.ONLINE, themes=(), scopes=(), **fields):
    """A service with `themes` and one purpose holding `scopes` ((resource, access) pairs)."""
    number = next(_numbers)
    service = Service.objects.create(
        slug=fields.pop("slug", f"service-{number}"),
        name=name or f"Service {number:03d}",
        editor=fields.pop("editor", "Éditeur Exemple"),
        summary=fields.pop("summary", "Un service de test."),
        description=fields.pop("description", "La description du service."),
        terms_url="https://exemple.fr/cgu",
        privacy_url="https://exemple.fr/confidentialite",
        referenced_on=date(2025, 1, 15),
        status=status,
        **fields,
    )
    for theme in themes:
        ServiceTheme.objects.create(service=service, theme=theme)
    if scopes:
        purpose = Purpose.objects.create(
            service=service, code="donnees", label="Échanger vos données", description="Pour…"
        )
        for resource, access in scopes:
            PurposeScope.objects.create(purpose=purpose, resource=resource, access=access)
    return service
