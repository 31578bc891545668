"""The prevention part of a space, registered with `espace_sante.parts` (`setup.register`).

"prevention": the person's answers and choices on their prevention reminders.

- export: `agenda/prevention.json`, the marks (done on a date, "ne me concerne pas") with
  the calendar version they were made under, the programmes turned off and the declared
  situations; the reminders themselves are computed from the rules, not stored;
- counts: the reminders due or overdue today, for the patient's side only (constant
  queries: the engine's inputs);
- destroy: the marks, choices and the nightly computation's row are deleted.
"""

from __future__ import annotations

import json

from django.utils.translation import gettext_lazy as _

from acces.policy import PATIENT_BASES
from agenda.models import PreventionMark, PreventionPreference, PreventionStatus
from agenda.prevention.actions import PreventionAction
from espace_sante.parts import Part


def export_prevention(space, decision):
    if decision.basis not in PATIENT_BASES:
        return
    marks = [
        {
            "rappel": m["rule_code"],
            "calendrier": m["rule_version"],
            "reponse": "fait" if m["kind"] == PreventionMark.Kind.DONE else "ne_me_concerne_pas",
            "date": m["done_on"].isoformat() if m["done_on"] else None,
            "enregistre_le": m["created_at"].isoformat(),
        }
        for m in PreventionMark.objects.filter(space=space)
        .order_by("created_at", "pk")
        .values("rule_code", "rule_version", "kind", "done_on", "created_at")
    ]
    preference = PreventionPreference.objects.filter(space=space).first()
    data = {
        "reponses": marks,
        "programmes_desactives": preference.programmes_off if preference else [],
        "situations_declarees": preference.conditions if preference else [],
    }
    yield "agenda/prevention.json", json.dumps(data, ensure_ascii=False, indent=2).encode()


def count_prevention(space, decision):
    if decision.basis not in PATIENT_BASES:
        return []
    from agenda.prevention.selectors import due_reminders

    return [(_("Rappels de prévention à faire"), len(due_reminders(space)))]


def destroy_prevention(space, *, keep_occupational: bool) -> None:
    PreventionMark.objects.filter(space=space).delete()
    PreventionPreference.objects.filter(space=space).delete()
    PreventionStatus.objects.filter(space=space).delete()


PREVENTION = Part(
    name="prevention",
    label=_("Rappels de prévention"),
    export=export_prevention,
    counts=count_prevention,
    destroy=destroy_prevention,
    actions=PreventionAction,
)
