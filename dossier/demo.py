"""Demo content of the DMP: a filled profile and documents of several types and authors.

Called by `manage.py demo` on its first load, through the services (encrypted, traced).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone
from weasyprint import HTML

from acces.models import Professional
from dossier import profile_services
from dossier.services import add_document, set_masked
from espace_sante.models import Space
from espace_sante.tracing import Actor


def _pdf(title: str, lines: list[str]) -> bytes:
    body = "".join(f"<p>{line}</p>" for line in lines)
    html = (
        "<html lang='fr'><body style='font-family: DejaVu Sans, sans-serif'>"
        f"<h1>{title}</h1>{body}<p><em>Document de démonstration, fictif.</em></p></body></html>"
    )
    return HTML(string=html).write_pdf()


def load(space: Space, pros: dict[str, Professional]) -> None:
    holder = space.holder.user
    patient = Actor(user=holder, role=holder.kind)
    today = timezone.localdate()
    profile_services.update_profile(
        space=space, part="blood_group", values={"blood_group": "A+"}, by=patient
    )
    for part, values in [
        (
            "allergy",
            {"substance": "Pénicilline", "reaction": "Urticaire géante", "severity": "severe"},
        ),
        (
            "allergy",
            {"substance": "Pollens de graminées", "reaction": "Rhinite", "severity": "mild"},
        ),
        ("history", {"kind": "personal", "condition": "Appendicectomie", "year": 2004}),
        ("history", {"kind": "family", "condition": "Diabète de type 2", "notes": "Père"}),
        (
            "treatment",
            {
                "medicine": "Lévothyroxine 75 µg",
                "dosage": "1 comprimé le matin à jeun",
                "since": date(2020, 3, 1),
                "prescriber": "Dr Martin Bernard",
            },
        ),
        (
            "vaccination",
            {
                "vaccine": "DTP (rappel)",
                "date": date(2019, 6, 2),
                "lot": "X4521",
                "given_by": "Dr Martin Bernard",
            },
        ),
        (
            "emergency_contact",
            {"name": "Pierre Durand", "phone": "06 12 34 56 78", "relation": "Conjoint"},
        ),
    ]:
        profile_services.add_entry(space=space, part=part, values=values, by=patient)
    for months, weight in [(18, "68.5"), (12, "69.2"), (6, "70.1"), (1, "69.4")]:
        profile_services.add_entry(
            space=space,
            part="measurement",
            values={
                "kind": "weight",
                "value": Decimal(weight),
                "measured_on": today - timedelta(days=30 * months),
            },
            by=patient,
        )
    profile_services.add_entry(
        space=space,
        part="measurement",
        values={"kind": "height", "value": Decimal("168"), "measured_on": date(2024, 5, 1)},
        by=patient,
    )

    def by_pro(key, type_code, title, days_ago, lines, **flags):
        professional = pros[key]
        return add_document(
            space=space,
            type_code=type_code,
            title=title,
            act_date=today - timedelta(days=days_ago),
            data=_pdf(title, lines),
            by=Actor(user=professional.user, role=professional.user.kind),
            author_professional=professional,
            **flags,
        )

    by_pro(
        "generaliste",
        "57833-6",
        "Ordonnance — Lévothyroxine",
        40,
        ["Lévothyroxine 75 µg, 1 cp/j, 3 mois."],
    )
    by_pro("generaliste", "11502-2", "Bilan thyroïdien (TSH)", 45, ["TSH : 2,1 mUI/L (normale)."])
    by_pro(
        "cardiologue", "11524-6", "Électrocardiogramme de repos", 120, ["Rythme sinusal régulier."]
    )
    by_pro(
        "cardiologue",
        "34112-3",
        "Compte rendu d'hospitalisation — cardiologie",
        130,
        ["Hospitalisation de 48 h pour bilan de palpitations.", "Sortie sans traitement."],
    )
    by_pro(
        "generaliste",
        "11488-4",
        "Consultation de suivi",
        10,
        ["Examen normal, poursuite du traitement."],
    )
    own = add_document(
        space=space,
        type_code="51855-5",
        title="Mes notes avant la consultation",
        act_date=today - timedelta(days=12),
        data=b"Questions pour le Dr Bernard : fatigue le soir, rappel de vaccin ?",
        by=patient,
        written=True,
    )
    set_masked(document=own, masked=True, by=patient)
