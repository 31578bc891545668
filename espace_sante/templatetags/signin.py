"""The national sign-in buttons: shown only for the providers that are configured."""

from django import template
from django.urls import reverse

from espace_sante import identity_providers

register = template.Library()


@register.simple_tag
def identity_provider_login_url(provider_id: str) -> str:
    """The route that starts the sign-in with `provider_id`; empty when it is off."""
    if not identity_providers.is_configured(provider_id):
        return ""
    return reverse("openid_connect_login", kwargs={"provider_id": provider_id})


@register.simple_tag
def franceconnect_plus() -> bool:
    """Whether FranceConnect+ (eIDAS substantial or high) is what we ask for."""
    acr_values = identity_providers.conf(identity_providers.FRANCECONNECT)["acr_values"]
    return any(acr in ("eidas2", "eidas3") for acr in acr_values)
