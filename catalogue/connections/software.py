"""The authorization endpoint for a professional's software (`catalogue.models.Software`).

The professional signs in to the pro portal (password and TOTP, or Pro Santé Connect) and
authorises the software to act in their name: its code, then its tokens, are bound to
that professional and to the assurance of that sign-in (`SoftwareToken`). The software
never acts alone: no token without the professional present, and each token acts only
as long as the software is registered and active and the professional's account is.
"""

from __future__ import annotations

from django.db import transaction
from django.shortcuts import render
from django.utils.translation import gettext as _
from oauth2_provider.forms import AllowForm
from oauth2_provider.views import AuthorizationView

from acces.policy import professional_of
from catalogue.actions import CatalogueAction
from catalogue.connections.views import allow_redirects_to
from catalogue.models import Software
from catalogue.scopes import SOFTWARE_SCOPES
from espace_sante.assurance import AssuranceLevel, acr_of, level_of
from espace_sante.models import User
from espace_sante.tracing import Actor, trace


def software_of(client_id: str) -> Software | None:
    return (
        Software.objects.select_related("application")
        .filter(application__client_id=client_id)
        .first()
        if client_id
        else None
    )


class SoftwareAuthorizationView(AuthorizationView):
    """django-oauth-toolkit's authorization endpoint, with the professional's page."""

    template_name = "catalogue/software/authorize.html"
    form_class = AllowForm

    def _refused(self, reason, status=403):
        return render(
            self.request, "catalogue/connections/refused.html", {"reason": reason}, status=status
        )

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return super().dispatch(request, *args, **kwargs)  # to the sign-in, then back
        self.software = software_of(request.POST.get("client_id") or request.GET.get("client_id"))
        self.professional = professional_of(request.user)
        if request.user.kind != User.Kind.PROFESSIONAL or self.professional is None:
            return self._refused(
                _(
                    "Un logiciel de professionnel de santé est autorisé par le professionnel "
                    "qui l'utilise, depuis son compte professionnel."
                )
            )
        if self.software is None or not self.software.is_active:
            return self._refused(
                _("Ce logiciel n'est pas, ou plus, autorisé à accéder au service."), status=404
            )
        self.level = level_of(request) or AssuranceLevel.PASSWORD
        if self.level < AssuranceLevel.TOTP:
            return self._refused(
                _(
                    "Autoriser un logiciel demande une connexion forte : Pro Santé Connect, ou "
                    "votre mot de passe et votre application d'authentification."
                )
            )
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        asked = (context["form"]["scope"].value() or "").split()
        context.update(
            software=self.software,
            professional=self.professional,
            scope_labels=[SOFTWARE_SCOPES[s] for s in sorted(SOFTWARE_SCOPES) if s in asked],
        )
        return context

    def render_to_response(self, context, **kwargs):
        response = super().render_to_response(context, **kwargs)
        return allow_redirects_to(response, self.software.application)

    def create_authorization_response(self, request, scopes, credentials, allow):
        if allow:
            granted = [s for s in scopes.split() if s in SOFTWARE_SCOPES or s == "offline_access"]
            scopes = " ".join(granted)
            credentials["software_token"] = {
                "software": self.software,
                "professional": self.professional,
                "assurance": int(self.level),
                "acr": acr_of(request),
            }
            with transaction.atomic():
                trace(
                    actor=Actor.from_request(request),
                    action=CatalogueAction.SOFTWARE_AUTHORISED,
                    target=self.software,
                    detail={
                        "software": self.software.slug,
                        "client_id": self.software.application.client_id,
                        "scopes": granted,
                    },
                )
        return super().create_authorization_response(request, scopes, credentials, allow)
