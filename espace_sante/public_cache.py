"""The anonymous home page, rendered once a minute per process instead of at each visit.

The page is the same for every visitor who is not signed in, but for the nonce of its
scripts (the Content-Security-Policy of each response names its own). It is therefore
rendered for one visitor, kept in this process's memory, and served to the next ones with
their own nonce put in place of the first one's: at a national service's front door this
was a fifth of the floor's speed (issue 16; docs/BENCHMARKS.md). Anything that makes a
page personal bypasses the copy: a signed-in user, a query string, a message waiting to
be shown (after signing out, say), any method but GET and HEAD.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import translation

_copies: dict[tuple[str, str], tuple[float, str, str]] = {}
TTL_SECONDS = 60


def _nonce(request) -> str:
    # django-csp's lazy nonce is falsy until read: str() reads it (and so puts it in the header).
    nonce = getattr(request, "csp_nonce", None)
    return "" if nonce is None else str(nonce)


def render_anonymous(request, template: str) -> HttpResponse:
    """`render(request, template)` for an anonymous visitor, from a fresh copy if any."""
    personal = (
        request.method not in ("GET", "HEAD")
        or request.user.is_authenticated
        or request.META.get("QUERY_STRING")
        or len(messages.get_messages(request))
    )
    if personal or settings.DEBUG:
        return render(request, template)
    key = (template, translation.get_language() or "")
    now = time.monotonic()
    copy = _copies.get(key)
    if copy is not None and now - copy[0] < TTL_SECONDS:
        _at, nonce, html = copy
        mine = _nonce(request)  # read: the CSP header then carries it
        return HttpResponse(html.replace(f'nonce="{nonce}"', f'nonce="{mine}"'))
    response = render(request, template)
    nonce = _nonce(request)
    # A page that printed a CSRF token is this visitor's alone: never kept.
    personal = request.META.get("CSRF_COOKIE_NEEDS_UPDATE") or response.cookies
    if response.status_code == 200 and nonce and not personal:
        _copies[key] = (now, nonce, response.content.decode())
    return response


def forget() -> None:
    """Drop the copies (tests; a deployment restarts the processes anyway)."""
    _copies.clear()
