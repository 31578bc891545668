"""A local OpenID Connect provider for the national sign-in tests (oidc-provider-mock).

It runs in a thread of the test process, on localhost: nothing is reached on the network.
The person's stay at the provider is one POST of their subject to its authorization
endpoint; the token exchange, the userinfo and the keys are the real calls allauth makes.
"""

from contextlib import contextmanager
from urllib.parse import parse_qsl, urlsplit

import requests
from oidc_provider_mock import run_server_in_thread

LOGIN = "/comptes/login/"


@contextmanager
def running_provider():
    """The provider's base URL (its issuer), while it runs."""
    with run_server_in_thread() as server:
        yield f"http://localhost:{server.server_port}"


def provider_conf(server_url: str, **extra) -> dict:
    # `profile` is the mock's scope for the standard claims (given_name, birthdate...).
    return {
        "client_id": "mon-espace-sante",
        "secret": "secret-de-test",
        "server_url": server_url,
        "acr_values": ["eidas1"],
        "scope": ["openid", "profile"],
        "strong_acr_values": [],
        **extra,
    }


def configure(settings, *, psc: dict | None = None, franceconnect: dict | None = None) -> None:
    """Turn the providers on (or off, when not given) as the settings module would."""
    from espace_sante.settings import _oidc_app

    empty = {**provider_conf(""), "client_id": "", "secret": ""}
    settings.PRO_SANTE_CONNECT = psc or empty
    settings.FRANCECONNECT = franceconnect or empty
    apps = []
    if psc:
        apps.append(_oidc_app("pro-sante-connect", "Pro Santé Connect", psc))
    if franceconnect:
        apps.append(_oidc_app("franceconnect", "FranceConnect", franceconnect))
    settings.SOCIALACCOUNT_PROVIDERS = {"openid_connect": {"APPS": apps}}


def set_person(server_url: str, sub: str, claims: dict) -> None:
    """The identity the provider will vouch for when `sub` signs in there."""
    requests.put(f"{server_url}/users/{sub}", json=claims, timeout=5).raise_for_status()


def start(client, provider_id: str) -> str:
    """Press the sign-in button: the URL of the provider's authorization endpoint."""
    response = client.post(f"/comptes/oidc/{provider_id}/login/")
    assert response.status_code == 302, response.status_code
    return response["Location"]


def authorize(authorize_url: str, sub: str) -> tuple[str, dict]:
    """The person signs in at the provider: the callback path and its query parameters."""
    response = requests.post(authorize_url, data={"sub": sub}, allow_redirects=False, timeout=5)
    assert response.status_code == 302, response.text
    parts = urlsplit(response.headers["Location"])
    params = dict(parse_qsl(parts.query))
    return parts.path, params


def sign_in_through(client, provider_id: str, sub: str):
    """The whole journey: button, provider, callback; the callback's response."""
    path, params = authorize(start(client, provider_id), sub)
    return client.get(path, params)
