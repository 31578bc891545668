"""django-oauth-toolkit's scopes backend (`SCOPES_BACKEND_CLASS`), from `catalogue.scopes`.

Every scope `catalogue.scopes.parse` reads is known; a service may ask only for the scopes
of its own purposes (`available`), and asks for all of them when it names none.
"""

from __future__ import annotations

from oauth2_provider.scopes import BaseScopes

from catalogue import scopes as scope_names
from catalogue.models import PurposeScope, Service, Software
from dossier.models import Category


def all_scope_names() -> list[str]:
    names = []
    for resource in scope_names.RESOURCES:
        for access in ("read", "write"):
            if access == "write" and resource not in scope_names.WRITABLE:
                continue
            names.append(scope_names.scope(resource, access))
            if resource == "DocumentReference":
                names += [scope_names.scope(resource, access, c) for c in Category.values]
    return names


def service_of(application) -> Service | None:
    if application is None:
        return None
    return Service.objects.filter(application=application).first()


def service_scopes(service: Service | None) -> list[str]:
    """The scopes of the service's purposes, as of its current version."""
    if service is None:
        return []
    rows = PurposeScope.objects.filter(
        purpose__service=service,
        purpose__since_version__lte=service.version,
        since_version__lte=service.version,
    )
    return sorted({row.scope for row in rows})


class CatalogueScopes(BaseScopes):
    def get_all_scopes(self):
        names = {name: scope_names.label(name) for name in all_scope_names()}
        return (
            names
            | {name: str(label) for name, label in scope_names.SOFTWARE_SCOPES.items()}
            | {name: name for name in scope_names.CONTEXT_SCOPES}
        )

    def get_available_scopes(self, application=None, request=None, *args, **kwargs):
        if _is_software(application):
            return [*sorted(scope_names.SOFTWARE_SCOPES), "offline_access"]
        return service_scopes(service_of(application)) + sorted(scope_names.CONTEXT_SCOPES)

    def get_default_scopes(self, application=None, request=None, *args, **kwargs):
        if _is_software(application):
            return sorted(scope_names.SOFTWARE_SCOPES)
        return service_scopes(service_of(application))


def _is_software(application) -> bool:
    """A professional's software asks for the `user/` scopes of `SOFTWARE_SCOPES`."""
    return application is not None and Software.objects.filter(application=application).exists()
