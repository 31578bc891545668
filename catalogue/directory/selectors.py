"""Reads of the public catalogue: online services, searched and filtered."""

from __future__ import annotations

from django.db.models import Prefetch, Q, QuerySet

from catalogue.models import Purpose, PurposeScope, Service, ServiceTheme, Theme
from catalogue.scopes import RESOURCES


def online_services(*, q: str = "", theme: str = "", resource: str = "") -> QuerySet[Service]:
    """Online services matching the search; themes prefetched (constant queries per page)."""
    services = Service.objects.filter(status=Service.Status.ONLINE)
    q = q.strip()
    if q:
        services = services.filter(
            Q(name__icontains=q)
            | Q(editor__icontains=q)
            | Q(description__icontains=q)
            | Q(summary__icontains=q)
        )
    if theme in Theme.values:
        services = services.filter(themes__theme=theme)
    if resource in RESOURCES:
        services = services.filter(purposes__scopes__resource=resource)
    return (
        services.distinct()
        .order_by("name", "pk")
        .prefetch_related(Prefetch("themes", queryset=ServiceTheme.objects.order_by("theme")))
    )


def service_page(slug: str) -> Service | None:
    """A service with its themes, purposes and scopes (not only online ones: the page says
    a service is unavailable); None if unknown or dereferenced."""
    return (
        Service.objects.exclude(status=Service.Status.DEREFERENCED)
        .prefetch_related(
            Prefetch("themes", queryset=ServiceTheme.objects.order_by("theme")),
            Prefetch(
                "purposes",
                queryset=Purpose.objects.order_by("position", "pk").prefetch_related(
                    Prefetch("scopes", queryset=PurposeScope.objects.order_by("resource", "access"))
                ),
            ),
        )
        .filter(slug=slug)
        .first()
    )
