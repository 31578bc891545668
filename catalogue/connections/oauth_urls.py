"""The catalogue's OAuth2 server under `/oauth/` (namespace `oauth2_provider`):
django-oauth-toolkit's token, revocation and introspection endpoints, and the patient's
consent page as the authorization endpoint."""

from django.urls import path
from oauth2_provider import views as oauth_views

from catalogue.connections import views

app_name = "oauth2_provider"
urlpatterns = [
    path("authorize/", views.ConsentView.as_view(), name="authorize"),
    path("token/", oauth_views.TokenView.as_view(), name="token"),
    path("revoke_token/", oauth_views.RevokeTokenView.as_view(), name="revoke-token"),
    path("introspect/", oauth_views.IntrospectTokenView.as_view(), name="introspect"),
]
