"""What the messaging adds to the patient's "Qui a accès à mon dossier" page, which acces
owns (`acces.selectors.register_access_page_section`, registered by `MessagerieConfig.ready`)."""

from __future__ import annotations

from messagerie.models import SenderRefusal


def refused_senders_section(request, space, decision):
    """The professionals the patient refuses messages from, with a way to lift it."""
    refusals = (
        SenderRefusal.objects.active()
        .filter(space=space)
        .select_related("professional__user")
        .order_by("-refused_at")
    )
    return "messagerie/_refused_senders.html", {"refusals": list(refusals)}
