"""The public catalogue pages (anyone, signed in or not) and the report form (patients)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from catalogue.directory import selectors, services
from catalogue.directory.forms import ReportForm
from catalogue.models import Service, Theme
from catalogue.scopes import RESOURCE_CHOICES
from espace_sante.db import replica_reads
from espace_sante.models import User
from espace_sante.tracing import Actor

PER_PAGE = 12


@replica_reads
def service_list(request):
    q = request.GET.get("q", "")[:100]
    theme = request.GET.get("theme", "")
    resource = request.GET.get("donnees", "")
    found = selectors.online_services(q=q, theme=theme, resource=resource)
    page = Paginator(found, PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "catalogue/directory/list.html",
        {
            "page": page,
            "services": page.object_list,
            "total": page.paginator.count,
            "search": q,
            "theme": theme if theme in Theme.values else "",
            "resource": resource if resource in dict(RESOURCE_CHOICES) else "",
            "themes": Theme.choices,
            "resources": RESOURCE_CHOICES,
        },
    )


def _get_service(slug: str) -> Service:
    service = selectors.service_page(slug)
    if service is None:
        raise Http404(_("Ce service n'est pas référencé."))
    return service


@replica_reads
def service_detail(request, slug):
    service = _get_service(slug)
    criteria = [
        (label, met)
        for label, met in (
            (_("Urbanisation (hébergement HDS, identification)"), service.meets_urbanisation),
            (_("Sécurité"), service.meets_security),
            (_("Interopérabilité"), service.meets_interoperability),
            (_("Éthique (contenus, accessibilité, transparence)"), service.meets_ethics),
        )
    ]
    return render(
        request,
        "catalogue/directory/detail.html",
        {
            "service": service,
            "available": service.status == Service.Status.ONLINE,
            "criteria": criteria,
            "regions": [r.strip() for r in service.regions.split(",") if r.strip()],
            "may_report": request.user.is_authenticated and request.user.kind == User.Kind.PATIENT,
        },
    )


@login_required
def service_report(request, slug):
    service = _get_service(slug)
    if request.user.kind != User.Kind.PATIENT:
        raise Http404(_("Seuls les patients peuvent signaler un service."))
    form = ReportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.report_service(
            service=service,
            by=Actor.from_request(request),
            reason=form.cleaned_data["reason"],
            message=form.cleaned_data["message"],
        )
        messages.success(
            request,
            _("Merci. Votre signalement a été transmis à l'équipe du référencement des services."),
        )
        return redirect("catalogue:detail", slug=service.slug)
    return render(request, "catalogue/directory/report.html", {"service": service, "form": form})
