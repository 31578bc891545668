"""Navigation entries the apps add to a portal, declared, not discovered (like `parts`).

An app registers, from its `AppConfig.ready`, a provider for a portal ("patient" or
"pro"): `register_entry("pro", provider)`. A provider takes the request and returns a
`NavEntry` (or None: nothing to show to this person); the context processor `entries`
hands them to `base.html`, so the core shows "Messagerie (2)" without importing the app.
Providers are called only for the portal the page belongs to and must read in a
constant number of queries.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

KINDS = ("patient", "pro")


@dataclass(frozen=True)
class NavEntry:
    """One link of the navigation: its French label, its URL, a count shown beside the label
    when above 0 (an unread count, say) with its words for screen readers, and the URL prefix
    under which it is the current page."""

    label: str
    url: str
    count: int = 0
    count_label: str = ""
    current_prefix: str = ""


Provider = Callable[..., "NavEntry | None"]
_providers: dict[str, list[Provider]] = {kind: [] for kind in KINDS}


def register_entry(kind: str, provider: Provider) -> Provider:
    """Add `provider`'s entry to the navigation of the `kind` portal."""
    if kind not in KINDS:
        raise ValueError(f"unknown portal {kind!r}")
    if provider not in _providers[kind]:
        _providers[kind].append(provider)
    return provider


def entries_for(request, kind: str) -> list[NavEntry]:
    return [e for e in (provider(request) for provider in _providers[kind]) if e is not None]


def entries(request):
    """Context processor: `nav_entries`, the registered entries of the page's portal,
    computed only when a template reads them."""
    user = getattr(request, "user", None)
    professional = getattr(user, "kind", None) == "professional"
    kind = "pro" if request.path.startswith("/pro/") or professional else "patient"
    cached = []

    def lazy():
        if not cached:
            cached.append(entries_for(request, kind))
        return cached[0]

    return {"nav_entries": lazy}
