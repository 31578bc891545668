"""Printable PDFs of the medical profile: the full summary and the emergency card (WeasyPrint).

Both read the profile through `profile_page`, the selector of the profile page,
so they show exactly what the holder sees there. The holder downloads them from
the profile page (`download_summary`, `download_emergency_card`: rendered, then
traced), and the summary goes into the full download through `export_summary`.
Rendering never fetches anything: the templates carry their own CSS and use the
fonts installed on the server.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime

from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from acces.policy import Decision, export_decision
from dossier.actions import DossierAction
from dossier.models import Allergy, DonationChoice
from dossier.profile import profile_page
from espace_sante.models import Space, User
from espace_sante.tracing import Actor, trace

SUMMARY_FILENAME = "synthese-profil-medical"
EMERGENCY_CARD_FILENAME = "carte-urgence"

# Audit codes of the downloads.
SUMMARY_DOWNLOADED = DossierAction.MEDICAL_SUMMARY_DOWNLOADED
EMERGENCY_CARD_DOWNLOADED = DossierAction.EMERGENCY_CARD_DOWNLOADED

# The card is meant to fold to A7: past these counts it sends the reader to the summary
# (severe allergies come first, so they are the last to be left out).
CARD_LIMITS = {"allergies": 10, "treatments": 8, "emergency_contacts": 3}

_SEVERITY_ORDER = {
    Allergy.Severity.SEVERE: 0,
    Allergy.Severity.MODERATE: 1,
    Allergy.Severity.MILD: 2,
}

# Short wording for the card; the summary shows the holder's own sentence.
_DONATION_SHORT = {
    DonationChoice.ACCEPTS: _("accepte le don"),
    DonationChoice.REFUSES: _("refuse le don"),
    DonationChoice.UNDECIDED: _("ne se prononce pas"),
}


def filename(stem: str, day: date | None = None) -> str:
    """`stem-YYYY-MM-DD.pdf`, dated today (local time) unless told otherwise."""
    return f"{stem}-{(day or timezone.localdate()):%Y-%m-%d}.pdf"


def grouped_nir(nir: str) -> str:
    """The NIR as printed on the Carte Vitale: 2 80 05 44 109 001 23."""
    if len(nir) != 15:
        return nir
    return " ".join((nir[:1], nir[1:3], nir[3:5], nir[5:7], nir[7:10], nir[10:13], nir[13:]))


def _context(
    space: Space, *, user: User | None, decision: Decision | None, now: datetime | None
) -> dict:
    decision = decision or export_decision(space, None)
    context = profile_page(space, user if user is not None else space.holder.user, decision)
    profile = context["profile"]
    allergies = sorted(
        context["allergies"], key=lambda a: (_SEVERITY_ORDER.get(a.severity, 9), a.substance)
    )
    return context | {
        "space": space,
        "holder": space.holder,
        "nir": grouped_nir(space.holder.nir),
        "now": timezone.localtime(now or timezone.now()),
        "allergies_by_severity": allergies,
        "severe": Allergy.Severity.SEVERE,
        "has_directives": bool(
            profile.advance_directives.strip() or context["directive_documents"]
        ),
        "donation_short": _DONATION_SHORT.get(profile.donation_choice, ""),
    }


def _limited(rows: list, limit: int) -> tuple[list, int]:
    """The first `limit` rows and how many were left out."""
    return rows[:limit], max(0, len(rows) - limit)


def _pdf(template: str, context: dict) -> bytes:
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    html = render_to_string(template, context)
    # No protocol allowed: whatever a profile's text holds, rendering fetches nothing.
    return HTML(string=html, url_fetcher=URLFetcher(allowed_protocols=())).write_pdf()


def render_summary_pdf(
    space: Space,
    *,
    user: User | None = None,
    decision: Decision | None = None,
    now: datetime | None = None,
) -> bytes:
    """The A4 "Synthèse de mon profil médical" of `space`, as seen by `user` under `decision`.

    Without a decision, under the policy's export decision (as seen by the holder, or the
    legal representatives while the space has any): that is who downloads the full archive.
    """
    return _pdf("dossier/pdf/summary.html", _context(space, user=user, decision=decision, now=now))


def render_emergency_card_pdf(
    space: Space,
    *,
    user: User | None = None,
    decision: Decision | None = None,
    now: datetime | None = None,
) -> bytes:
    """An A4 page with a card to cut out and fold: what helps in an emergency.

    Severe allergies come first; the lists are cut at CARD_LIMITS (the rest is counted).
    """
    context = _context(space, user=user, decision=decision, now=now)
    for key, limit in CARD_LIMITS.items():
        rows = context["allergies_by_severity"] if key == "allergies" else context[key]
        context[f"card_{key}"], context[f"card_{key}_more"] = _limited(rows, limit)
    return _pdf("dossier/pdf/emergency_card.html", context)


def _download(*, space: Space, by: Actor, decision: Decision, render, action: str) -> bytes:
    pdf = render(space, user=by.user, decision=decision)
    with transaction.atomic():
        trace(actor=by, action=action, space=space, target=space, basis=str(decision.basis or ""))
    return pdf


def download_summary(*, space: Space, by: Actor, decision: Decision) -> bytes:
    """The summary for `by`, its download written to the space's trail."""
    return _download(
        space=space, by=by, decision=decision, render=render_summary_pdf, action=SUMMARY_DOWNLOADED
    )


def download_emergency_card(*, space: Space, by: Actor, decision: Decision) -> bytes:
    """The emergency card for `by`, its download written to the space's trail."""
    return _download(
        space=space,
        by=by,
        decision=decision,
        render=render_emergency_card_pdf,
        action=EMERGENCY_CARD_DOWNLOADED,
    )


def export_summary(space: Space, decision: Decision) -> Iterator[tuple[str, bytes]]:
    """The summary for the space's full download (the "profile" part, `dossier.parts`)."""
    yield f"{SUMMARY_FILENAME}.pdf", render_summary_pdf(space, decision=decision)
