"""Data shared by the DMP's tests: a medical profile with one entry of every kind."""

from datetime import date
from decimal import Decimal

from dossier import profile_services
from espace_sante.tracing import Actor


def holder_actor(space):
    return Actor(user=space.holder.user, role=space.holder.user.kind)


def fill_profile(space):
    """One entry of every kind of the medical profile, through the services."""
    by = holder_actor(space)
    for part, values in [
        ("allergy", {"substance": "Pénicilline", "reaction": "Urticaire", "severity": "severe"}),
        ("allergy", {"substance": "Pollens", "reaction": "", "severity": "mild"}),
        ("history", {"kind": "personal", "condition": "Appendicectomie", "year": 2004}),
        ("history", {"kind": "family", "condition": "Diabète de type 2", "notes": "Père"}),
        (
            "treatment",
            {
                "medicine": "Lévothyroxine 75 µg",
                "dosage": "1 comprimé le matin",
                "since": date(2020, 3, 1),
                "prescriber": "Dr Martin",
            },
        ),
        (
            "vaccination",
            {"vaccine": "DTP", "date": date(2019, 6, 2), "lot": "AB123", "given_by": "Dr Martin"},
        ),
        (
            "measurement",
            {"kind": "weight", "value": Decimal("70"), "measured_on": date(2025, 1, 2)},
        ),
        (
            "measurement",
            {"kind": "height", "value": Decimal("175"), "measured_on": date(2024, 5, 1)},
        ),
        (
            "measurement",
            {
                "kind": "blood_pressure",
                "value": Decimal("125"),
                "value2": Decimal("80"),
                "measured_on": date(2025, 1, 2),
            },
        ),
        (
            "measurement",
            {"kind": "glycaemia", "value": Decimal("0.95"), "measured_on": date(2025, 1, 3)},
        ),
    ]:
        profile_services.add_entry(space=space, part=part, values=values, by=by)
