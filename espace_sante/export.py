"""The archive of all the data of a space, offered to the holder before closure (and at will).

`build_archive(space)` returns a ZIP: the holder's identity and the space's
state, its audit trail, its notifications, and a French LISEZMOI. Other parts
of the space (the DMP's documents and FHIR export, messages, agenda) add their
files through `on_export`, as they plug their destruction into
`lifecycle.on_destroy`: this module never imports them.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Callable, Iterable
from datetime import date, datetime

from django.template.loader import render_to_string
from django.utils import timezone

from espace_sante.labels import OUTCOME_LABELS, action_label, basis_label, role_label
from espace_sante.models import Notification, Space

ExportPart = Callable[[Space], Iterable[tuple[str, bytes]]]
_export_parts: list[ExportPart] = []


def on_export(part: ExportPart) -> None:
    """Register a part of the space that adds files to the archive.

    Called as part(space); it yields (path inside the archive, content) pairs,
    for instance ("documents/compte-rendu.pdf", b"...") or ("dmp.fhir.json", b"...").
    """
    _export_parts.append(part)


def build_archive(space: Space) -> bytes:
    """A ZIP of everything the space holds that its holder may take away."""
    now = timezone.now()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("LISEZMOI.txt", _readme(space, now))
        archive.writestr("identite.json", _identity(space, now))
        archive.writestr("historique.csv", _history(space))
        archive.writestr("notifications.csv", _notifications(space))
        for part in _export_parts:
            for name, content in part(space):
                archive.writestr(name, content)
    return buffer.getvalue()


def archive_filename(day: date | None = None) -> str:
    return f"mon-espace-sante-{(day or timezone.localdate()):%Y-%m-%d}.zip"


def _iso(value: date | datetime | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return timezone.localtime(value).isoformat(timespec="seconds")
    return value.isoformat()


def _identity(space: Space, now: datetime) -> str:
    holder = space.holder
    data = {
        "titulaire": {
            "nir": holder.nir,
            "nom_de_naissance": holder.last_name,
            "prenoms": holder.first_names,
            "date_de_naissance": _iso(holder.birth_date),
            "sexe": holder.sex,
            "numero_de_serie_carte_vitale": holder.carte_vitale_serial,
            "adresse_e_mail_de_contact": holder.email,
            "adresse_postale": holder.postal_address,
            "identifiant_de_connexion": holder.user.email if holder.user_id else None,
            "date_de_deces": _iso(holder.death_date),
        },
        "espace": {
            "identifiant": str(space.public_id),
            "etat": space.state,
            "etat_libelle": str(space.get_state_display()),
            "cree_le": _iso(space.created_at),
            "etat_change_le": _iso(space.state_changed_at),
            "fin_du_delai_d_opposition": _iso(space.opposition_deadline),
            "cloture_le": _iso(space.closed_at),
            "archive_jusqu_au": _iso(space.retention_until),
            "suppression_definitive_prevue_le": _iso(space.deletion_due_at),
        },
        "exporte_le": _iso(now),
    }
    return json.dumps(data, ensure_ascii=False, indent=2)


def _csv(header: list[str], rows: Iterable[list]) -> bytes:
    # Semicolons and a BOM: the CSV opens as is in the spreadsheets used in France.
    text = io.StringIO()
    writer = csv.writer(text, delimiter=";")
    writer.writerow(header)
    writer.writerows(rows)
    return text.getvalue().encode("utf-8-sig")


def _history(space: Space) -> bytes:
    from acces.models import AuditEvent  # the trail lives in acces, which plugs into us

    events = (
        AuditEvent.objects.filter(space=space)
        .order_by("occurred_at", "seq")
        .values_list("occurred_at", "actor_label", "role", "basis", "action", "outcome")
    )
    return _csv(
        ["date", "actor_label", "role", "basis", "action", "outcome"],
        (
            [
                _iso(occurred_at),
                actor_label,
                role_label(role),
                basis_label(basis) if basis else "",
                action_label(action),
                str(OUTCOME_LABELS.get(outcome, outcome)),
            ]
            for occurred_at, actor_label, role, basis, action, outcome in events.iterator()
        ),
    )


def _notifications(space: Space) -> bytes:
    notifications = (
        Notification.objects.filter(space=space)
        .order_by("created_at", "id")
        .values_list("created_at", "recipient__email", "address", "subject", "body", "read_at")
    )
    return _csv(
        ["date", "destinataire", "objet", "message", "lue_le"],
        (
            [_iso(created_at), recipient or address, subject, body, _iso(read_at) or ""]
            for created_at, recipient, address, subject, body, read_at in notifications.iterator()
        ),
    )


def _readme(space: Space, now: datetime) -> str:
    return render_to_string(
        "espace_sante/export_readme.txt",
        {"space": space, "holder": space.holder, "now": now, "extra_parts": bool(_export_parts)},
    )
