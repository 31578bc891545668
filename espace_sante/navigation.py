"""Entries the apps add to the portal's navigation (the patient's "Messagerie", with its count).

`espace_sante` uses no app, so it cannot ask them: each app registers a provider from its
`AppConfig.ready` (`register`), and the `portal` context processor lists their entries
lazily, so a page that does not render the navigation costs no query. A provider takes the
request and returns its entries (none when they are not for this reader), in a constant
number of queries.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class NavEntry:
    """One link of the navigation: its French label, its URL, a count (unread…), and the
    URL prefix under which it is the current page."""

    label: str
    url: str
    count: int = 0
    count_label: str = ""
    current_prefix: str = ""


Provider = Callable[[object], Iterable[NavEntry]]
_providers: list[Provider] = []


def register(provider: Provider) -> None:
    """Add a provider of entries (once; a second registration of the same one is ignored)."""
    if provider not in _providers:
        _providers.append(provider)


def entries(request) -> list[NavEntry]:
    """Every registered provider's entries for this request, in registration order."""
    return [entry for provider in _providers for entry in provider(request)]
