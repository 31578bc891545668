"""The consent page of the OAuth2 authorization (`/oauth/authorize/`), the SMART
configuration, and "Mes services connectés" (`/espace/<space>/services/`).

The authorization is django-oauth-toolkit's view: it checks the client, the redirect URI,
PKCE and the scopes (`catalogue.connections.scopes_backend`); this one adds who may consent
(a patient signed in with the second factor, for a space the policy lets them manage) and
what (the service's purposes, none ticked in advance), and makes the connection the code is
then bound to (`catalogue.connections.validator`).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.contrib import messages
from django.db import transaction
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from oauth2_provider.models import get_application_model
from oauth2_provider.views import AuthorizationView

from acces.access import space_view, trace_refusal
from acces.policy import Action, decide
from acces.principal import Principal
from acces.selectors import spaces_for_patient
from catalogue.connections import selectors, services
from catalogue.connections.forms import ConfirmForm, ConsentForm, ReapprovalForm
from catalogue.connections.scopes_backend import all_scope_names
from catalogue.models import Connection, ConnectionPurpose, Service
from catalogue.scopes import CONTEXT_SCOPES
from espace_sante.models import User
from espace_sante.tracing import Actor

RECENT_EVENTS = 5


def _space_label(space, user) -> str:
    if space.holder.user_id == user.pk:
        return _("Mon espace santé")
    return _("Espace santé de %(name)s") % {"name": space.holder.display_name}


def allow_redirects_to(response, application):
    """The answer to an authorization form redirects to the client: browsers check that
    redirect against the page's `form-action`, so the page names the client's own origins
    (those of its registered redirect URIs, nothing else)."""
    origins = sorted(
        {
            f"{parts.scheme}://{parts.netloc}"
            for parts in map(urlsplit, application.redirect_uris.split())
            if parts.scheme in ("http", "https") and parts.netloc
        }
    )
    if origins:
        response._csp_update = {"form-action": origins}
    return response


class ConsentView(AuthorizationView):
    """django-oauth-toolkit's authorization endpoint, with the patient's consent page."""

    template_name = "catalogue/connections/consent.html"
    form_class = ConsentForm

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and request.user.kind != User.Kind.PATIENT:
            return render(
                request,
                "catalogue/connections/refused.html",
                {
                    "reason": _(
                        "La connexion d'un service référencé est réservée aux patients, depuis "
                        "leur propre compte. Un compte professionnel ou d'agent ne peut pas "
                        "l'autoriser."
                    ),
                },
                status=403,
            )
        return super().dispatch(request, *args, **kwargs)

    # -- what the page needs ---------------------------------------------------------------

    def _service(self, client_id) -> Service | None:
        application = get_application_model().objects.filter(client_id=client_id).first()
        if application is None:
            return None
        return Service.objects.filter(application=application).first()

    def _spaces(self):
        user = self.request.user
        principal = Principal.from_request(self.request)
        return [
            (space, _space_label(space, user))
            for space in spaces_for_patient(user)
            if decide(principal, Action.MANAGE_ACCESS, space)
        ]

    def _refused(self, reason, status=403):
        return render(
            self.request, "catalogue/connections/refused.html", {"reason": reason}, status=status
        )

    def _check_service(self, client_id):
        service = self._service(client_id)
        if service is None:
            return None, self._refused(_("Ce service n'est pas référencé."), status=404)
        if not service.is_usable:
            return None, self._refused(
                _(
                    "Ce service n'est pas disponible en ce moment (%(status)s) : il ne peut "
                    "pas être connecté à votre espace santé."
                )
                % {"status": service.get_status_display()}
            )
        self.service = service
        self.purposes = list(services.current_purposes(service))
        self.spaces = self._spaces()
        if not self.spaces:
            return None, self._refused(_("Vous n'avez aucun espace santé ouvert à connecter."))
        return service, None

    def get(self, request, *args, **kwargs):
        _service, refusal = self._check_service(request.GET.get("client_id", ""))
        if refusal is not None:
            return refusal
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        _service, refusal = self._check_service(request.POST.get("client_id", ""))
        if refusal is not None:
            return refusal
        return super().post(request, *args, **kwargs)

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        kwargs["spaces"] = self.spaces
        kwargs["purposes"] = self.purposes
        return kwargs

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        requested = (
            set(context["form"]["scope"].value().split())
            if context["form"]["scope"].value()
            else set()
        )
        context.update(
            service=self.service,
            purposes=[
                {
                    "purpose": p,
                    "field_id": f"id_purposes_{i}",
                    "scopes": [
                        s for s in p.scopes.all() if s.since_version <= self.service.version
                    ],
                }
                for i, p in enumerate(self.purposes)
            ],
            reads_documents=any(
                s.resource == "DocumentReference" and s.access == "read"
                for p in self.purposes
                for s in p.scopes.all()
            ),
            requested=requested,
        )
        return context

    def render_to_response(self, context, **kwargs):
        response = super().render_to_response(context, **kwargs)
        return allow_redirects_to(response, self.service.application)

    # -- the answer -----------------------------------------------------------------------

    def form_valid(self, form):
        by_id = {str(s.public_id): s for s, _label in self.spaces}
        space = by_id.get(form.cleaned_data.get("space") or "")
        if not form.cleaned_data.get("allow"):
            # django-oauth-toolkit answers the client `error=access_denied` (RFC 6749 4.1.2.1).
            with transaction.atomic():
                services.refuse(
                    service=self.service,
                    space=space,
                    scopes=form.cleaned_data.get("scope", "").split(),
                    principal=Principal.from_request(self.request),
                    by=Actor.from_request(self.request),
                )
                return super().form_valid(form)
        chosen = [p for p in self.purposes if str(p.pk) in set(form.cleaned_data["purposes"])]
        requested = set(form.cleaned_data["scope"].split())
        data_scopes = requested & services.scopes_of(chosen, self.service.version)
        # SMART's context scopes (launch/patient...) open no data: kept as asked.
        self.granted_scopes = sorted(data_scopes | (requested & CONTEXT_SCOPES))
        if space is None:
            form.add_error("space", _("Choisissez l'espace santé à connecter."))
            return self.form_invalid(form)
        if not data_scopes:
            form.add_error(
                "purposes",
                _(
                    "Les autorisations cochées ne correspondent à aucune donnée demandée "
                    "par le service."
                ),
            )
            return self.form_invalid(form)
        with transaction.atomic():
            self.connection = services.connect(
                space=space,
                service=self.service,
                purposes=chosen,
                shows_masked_documents=bool(form.cleaned_data.get("shows_masked_documents")),
                principal=Principal.from_request(self.request),
                by=Actor.from_request(self.request),
            )
            response = super().form_valid(form)
            if response.status_code not in (301, 302):
                transaction.set_rollback(True)
            return response

    def create_authorization_response(self, request, scopes, credentials, allow):
        connection = getattr(self, "connection", None)
        if allow and connection is not None:
            credentials["catalogue_connection_id"] = connection.pk
            scopes = " ".join(self.granted_scopes)
        return super().create_authorization_response(request, scopes, credentials, allow)


def smart_configuration(request):
    """`/.well-known/smart-configuration` (SMART App Launch 2.x)."""
    base = request.build_absolute_uri("/").rstrip("/")
    return JsonResponse(
        {
            "issuer": base,
            "authorization_endpoint": base + reverse("oauth2_provider:authorize"),
            "token_endpoint": base + reverse("oauth2_provider:token"),
            "revocation_endpoint": base + reverse("oauth2_provider:revoke-token"),
            "introspection_endpoint": base + reverse("oauth2_provider:introspect"),
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "response_types_supported": ["code"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": [
                "client_secret_basic",
                "client_secret_post",
                "none",
            ],
            "scopes_supported": all_scope_names(),
            "capabilities": [
                "launch-standalone",
                "client-public",
                "client-confidential-symmetric",
                "context-standalone-patient",
                "permission-patient",
                "permission-offline",
                "permission-v1",
            ],
        }
    )


# --- "Mes services connectés" ------------------------------------------------------------------


def _connection(request, space, connection_id) -> Connection:
    connection = (
        Connection.objects.live()
        .select_related("service", "space")
        .filter(pk=connection_id, space=space)
        .first()
    )
    if connection is None:
        trace_refusal(request, space.public_id, Action.MANAGE_ACCESS, "connection_not_found")
        raise Http404("Service connecté introuvable")
    return connection


def _who(request) -> dict:
    return {"principal": Principal.from_request(request), "by": Actor.from_request(request)}


@space_view(Action.MANAGE_ACCESS)
def connection_list(request, space):
    connections = list(selectors.live_connections(space))
    events = selectors.recent_events(space, connections, RECENT_EVENTS)
    rows = []
    for connection in connections:
        service = connection.service
        grants = connection.live_grants
        granted = {g.purpose_id for g in grants}
        new_purposes = [
            p
            for p in service.current_purposes
            if p.pk not in granted and p.since_version > connection.approved_version
        ]
        rows.append(
            {
                "connection": connection,
                "service": service,
                "grants": grants,
                "needs_reapproval": service.version > connection.approved_version,
                "new_purposes": new_purposes,
                "reapproval_form": ReapprovalForm(purposes=new_purposes),
                "events": events.get(connection.pk, []),
            }
        )
    return render(
        request,
        "catalogue/connections/list.html",
        {"space": space, "rows": rows},
    )


@space_view(Action.MANAGE_ACCESS)
def withdraw(request, space, connection_id, grant_id):
    connection = _connection(request, space, connection_id)
    grant = (
        ConnectionPurpose.objects.live()
        .select_related("purpose", "connection__service", "connection__space")
        .filter(pk=grant_id, connection=connection)
        .first()
    )
    if grant is None:
        trace_refusal(request, space.public_id, Action.MANAGE_ACCESS, "grant_not_found")
        raise Http404("Autorisation introuvable")
    form = ConfirmForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        services.withdraw_purpose(grant=grant, **_who(request))
        messages.success(
            request,
            _("L'autorisation « %(label)s » est retirée à %(service)s.")
            % {"label": grant.purpose.label, "service": connection.service.name},
        )
        return redirect("connections:list", space.public_id)
    return render(
        request,
        "catalogue/connections/withdraw_confirm.html",
        {"space": space, "connection": connection, "grant": grant, "form": form},
    )


@space_view(Action.MANAGE_ACCESS)
def disconnect(request, space, connection_id):
    connection = _connection(request, space, connection_id)
    form = ConfirmForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        services.disconnect(connection=connection, **_who(request))
        messages.success(
            request, _("%(service)s est déconnecté.") % {"service": connection.service.name}
        )
        return redirect("connections:list", space.public_id)
    return render(
        request,
        "catalogue/connections/disconnect_confirm.html",
        {"space": space, "connection": connection, "form": form},
    )


@require_POST
@space_view(Action.MANAGE_ACCESS)
def reapprove(request, space, connection_id):
    connection = _connection(request, space, connection_id)
    new_purposes = [
        p
        for p in services.current_purposes(connection.service)
        if p.since_version > connection.approved_version
    ]
    form = ReapprovalForm(request.POST, purposes=new_purposes)
    if form.is_valid():
        chosen = [p for p in new_purposes if str(p.pk) in set(form.cleaned_data["purposes"])]
        services.reapprove(connection=connection, purposes=chosen, **_who(request))
        messages.success(
            request,
            _("La nouvelle version de %(service)s est approuvée.")
            % {"service": connection.service.name},
        )
    else:
        messages.error(request, _("Votre choix n'a pas pu être enregistré : réessayez."))
    return redirect("connections:list", space.public_id)
