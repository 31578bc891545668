"""The catalogue's OAuth2 server under `/oauth/` (namespace `oauth2_provider`):
django-oauth-toolkit's token, revocation and introspection endpoints, and the patient's
consent page as the authorization endpoint (a professional's software's page for its clients)."""

from django.urls import path
from oauth2_provider import views as oauth_views

from catalogue.connections import software, views

consent = views.ConsentView.as_view()
authorize_software = software.SoftwareAuthorizationView.as_view()


def authorize(request, *args, **kwargs):
    """The patient's consent page, or the professional's page for a software's client."""
    client_id = request.POST.get("client_id") or request.GET.get("client_id") or ""
    if software.software_of(client_id) is not None:
        return authorize_software(request, *args, **kwargs)
    return consent(request, *args, **kwargs)


app_name = "oauth2_provider"
urlpatterns = [
    path("authorize/", authorize, name="authorize"),
    path("token/", oauth_views.TokenView.as_view(), name="token"),
    path("revoke_token/", oauth_views.RevokeTokenView.as_view(), name="revoke-token"),
    path("introspect/", oauth_views.IntrospectTokenView.as_view(), name="introspect"),
]
