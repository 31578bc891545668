import logging
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.sessions.exceptions import SessionInterrupted
from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware
from django.db import DatabaseError, connections
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone

from espace_sante import assurance, identity_providers

logger = logging.getLogger(__name__)

# Reachable while signed in with the password only (the second factor is pending).
_OPEN_PREFIXES = (
    "/static/",
    "/connexion/verification/",
    "/connexion/totp/",
    "/comptes/logout/",
    "/favicon.ico",
)


class SecondFactorRequiredMiddleware:
    """No page past sign-in until the sign-in reached the level its kind needs.

    Professionals and staff need the strong factor (TOTP, or an identity provider such
    as Pro Santé Connect), patients at least their email code (`espace_sante.assurance`).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if (
            user.is_authenticated
            and not request.path.startswith(_OPEN_PREFIXES)
            and not assurance.has_required_level(request)
        ):
            # Encoded: the page asked may carry its own query (an OAuth2 authorization
            # request), which would otherwise be cut at its first "&".
            query = urlencode({"next": request.get_full_path()})
            return redirect(f"{reverse('espace_sante:verify')}?{query}")
        return self.get_response(request)


class SessionMiddleware(DjangoSessionMiddleware):
    """Django's, except that a session that cannot be saved never hides what was done.

    The view has already run (a document stored, a form saved) when the session is saved
    on the way out. If the database connection dies at that moment, Django answers 400
    ("session was deleted"), and the user believes the action failed. Here the broken
    connection is closed and the save tried once more on a new one; if it fails again the
    response goes out as the view made it, without refreshing the session cookie, and
    the failure is logged. The session is never re-created, so a concurrent sign-out
    (Django's reason for the 400) still wins.
    """

    def process_response(self, request, response):
        _refresh_when_due(request)
        try:
            return super().process_response(request, response)
        except (SessionInterrupted, DatabaseError) as exc:
            logger.warning(
                "Session save failed after %s %s (%s): retrying on a new connection",
                request.method,
                request.path,
                type(exc).__name__,
            )
        _close_broken_connections()
        try:
            return super().process_response(request, response)
        except (SessionInterrupted, DatabaseError) as exc:
            logger.error(
                "Session not saved after %s %s (%s): response sent without it",
                request.method,
                request.path,
                type(exc).__name__,
            )
            return response


# When the session's idle expiry was last pushed back (seconds since the epoch).
REFRESHED_SESSION_KEY = "_refreshed_at"


def _refresh_when_due(request) -> None:
    """Mark the session to be saved (its expiry pushed back SESSION_COOKIE_AGE from now)
    when it changed or when its last refresh is SESSION_REFRESH_SECONDS old or more.

    This is the idle timeout of SESSION_SAVE_EVERY_REQUEST without its cost: that setting
    wrote the session, a transaction and a commit, on every request. A session now
    expires between SESSION_COOKIE_AGE - SESSION_REFRESH_SECONDS and SESSION_COOKIE_AGE
    after the last request: never later than before, at most a minute earlier.
    """
    session = getattr(request, "session", None)
    if session is None or session.is_empty():
        return  # no session, or signed out (flushed): nothing to keep alive
    now = int(timezone.now().timestamp())
    last = session.get(REFRESHED_SESSION_KEY)
    if session.is_empty():
        return  # the cookie named a session that has expired or never existed
    due = not isinstance(last, int) or not 0 <= now - last < settings.SESSION_REFRESH_SECONDS
    if due or session.modified:
        session[REFRESHED_SESSION_KEY] = now


def _close_broken_connections() -> None:
    """Drop the connections so the next query opens a fresh one (not inside a transaction)."""
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close()


class IdentityProviderFormActionMiddleware:
    """The sign-in pages' forms post to us and we redirect to Pro Santé Connect or
    FranceConnect: browsers check that redirect against the page's `form-action`, so those
    pages (and only those) name the configured providers' origins."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.path == reverse("account_login") or (
            request.path.startswith("/comptes/oidc/") and request.path.endswith("/login/")
        ):
            origins = identity_providers.configured_origins()
            if origins:
                response._csp_update = {"form-action": origins}
        return response
