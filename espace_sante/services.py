"""Services of the space itself: enrolling a person, opening their account, minors.

Each service validates, writes, traces (in the same transaction) and queues
the notifications. The full lifecycle (codes, opposition, closure, archive)
builds on these.
"""

from __future__ import annotations

from datetime import date

from django.contrib.auth.password_validation import validate_password
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from espace_sante.actions import SpaceAction
from espace_sante.models import (
    ContactChange,
    LegalRepresentative,
    Patient,
    Space,
    SpaceError,
    User,
)
from espace_sante.notifications import notify, notify_space
from espace_sante.tracing import Actor, trace

__all__ = [
    "SpaceError",
    "add_legal_representative",
    "change_contact",
    "enrol_person",
    "open_account",
]


@transaction.atomic
def enrol_person(
    *,
    nir: str,
    last_name: str,
    first_names: str,
    birth_date: date,
    sex: str,
    carte_vitale_serial: str,
    email: str = "",
    postal_address: str = "",
    announce: bool = True,
    by: Actor,
) -> Space:
    """Create the identity and its space in the announced state (opposition window open).

    With `announce`, the provisional code leaves by email or letter after commit.
    """
    patient = Patient(
        nir=nir,
        last_name=last_name,
        first_names=first_names,
        birth_date=birth_date,
        sex=sex,
        carte_vitale_serial=carte_vitale_serial,
        email=email,
        postal_address=postal_address,
    )
    patient.full_clean()
    patient.save()
    space = Space.objects.create(
        holder=patient, opposition_deadline=timezone.now() + Space.OPPOSITION_WINDOW
    )
    trace(actor=by, action=SpaceAction.SPACE_ANNOUNCED, space=space, target=space)
    if announce:
        from espace_sante.tasks import request_code

        request_code(space=space, kind="announcement")
    return space


@transaction.atomic
def open_account(*, space: Space, email: str, password: str, by: Actor) -> User:
    """Give the holder their account and make the space active."""
    space = Space.objects.select_for_update().select_related("holder").get(pk=space.pk)
    patient = space.holder
    if patient.user_id is not None:
        raise SpaceError(_("Cet espace a déjà un compte."))
    if User.objects.filter(email__iexact=email).exists():
        raise SpaceError(_("Cette adresse e-mail est déjà utilisée par un autre compte."))
    user = User(
        email=email.lower(),
        first_name=patient.first_names.split(" ")[0],
        last_name=patient.last_name,
        kind=User.Kind.PATIENT,
    )
    validate_password(password, user)
    user.set_password(password)
    user.save()
    patient.user = user
    patient.save(update_fields=["user"])
    previous = space.state
    if previous != Space.State.ACTIVE:  # a minor's space a representative already activated
        space.move_to(Space.State.ACTIVE)
        space.save(update_fields=["state", "state_changed_at"])
    trace(
        actor=by,
        action=SpaceAction.SPACE_ACTIVATED,
        space=space,
        target=space,
        detail={"from": previous},
    )
    notify(
        recipient=user,
        template="space_opened",
        space=space,
        link=reverse("espace_sante:space", args=[space.public_id]),
    )
    return user


@transaction.atomic
def add_legal_representative(*, space: Space, user: User, by: Actor) -> LegalRepresentative:
    """Let `user` (a patient account) manage the space of the minor `space` belongs to."""
    if user.kind != User.Kind.PATIENT:
        raise SpaceError(_("Seul un compte patient peut représenter un mineur."))
    representation, created = LegalRepresentative.objects.get_or_create(space=space, user=user)
    if created:
        trace(
            actor=by,
            action=SpaceAction.LEGAL_REPRESENTATIVE_ADDED,
            space=space,
            target=representation,
        )
        notify_space(
            space=space,
            template="legal_representative_added",
            context={"name": user.get_full_name()},
            link=reverse("espace_sante:space", args=[space.public_id]),
        )
    return representation


# What an agent may change that would send a code, or a second copy of a card, elsewhere.
SENSITIVE_FIELDS = ("email", "postal_address", "carte_vitale_serial")


@transaction.atomic
def change_contact(
    *,
    patient: Patient,
    email: str,
    postal_address: str,
    carte_vitale_serial: str | None = None,
    reason: str,
    by: Actor,
) -> ContactChange | None:
    """An agent changes a person's contact details (or Carte Vitale serial).

    Guarantees, in one transaction: the change is kept with what was on file
    before (`ContactChange`, which sends codes by letter to the former postal
    address for 30 days), traced with the reason the agent typed, and the previous
    contact is told with no medical content: by email to the former address, or by
    letter to the former postal address when there was no email (and the account,
    if any). Returns None when nothing changed; refuses a change without a reason.
    """
    patient = Patient.objects.select_for_update().get(pk=patient.pk)
    wanted = {"email": email.strip().lower(), "postal_address": _lines(postal_address)}
    if carte_vitale_serial:
        wanted["carte_vitale_serial"] = carte_vitale_serial.strip()
    current = {
        "email": patient.email.strip().lower(),
        "postal_address": _lines(patient.postal_address),
        "carte_vitale_serial": patient.carte_vitale_serial,
    }
    changed = sorted(field for field, value in wanted.items() if value != current[field])
    if not changed:
        return None
    reason = (reason or "").strip()
    if not reason:
        raise SpaceError(_("Indiquez le motif de la modification des coordonnées."))
    change = ContactChange.objects.create(
        patient=patient,
        changed_by=by.user,
        fields=",".join(changed),
        previous_email=patient.email,
        previous_postal_address=patient.postal_address,
        new_email=wanted["email"] if "email" in changed else "",
    )
    for field in changed:
        setattr(patient, field, wanted[field])
    patient.save(update_fields=changed)
    space = Space.objects.filter(holder=patient).first()
    trace(
        actor=by,
        action=SpaceAction.CONTACT_CHANGED,
        space=space,
        target=space or patient,
        detail={"fields": changed, "reason": reason[:200]},
    )
    _tell_previous_contact(change, patient=patient, space=space)
    return change


def _lines(text: str) -> str:
    """A postal address as typed in a form (CRLF, trailing spaces) compared as written."""
    return "\n".join(line.rstrip() for line in (text or "").strip().splitlines())


def _tell_previous_contact(change: ContactChange, *, patient: Patient, space: Space | None):
    told = set()
    if change.previous_email:
        notify(address=change.previous_email, template="contact_changed", space=space)
        told.add(change.previous_email.lower())
    elif change.previous_postal_address.strip() and space is not None:
        from espace_sante.tasks import send_contact_change_letter

        transaction.on_commit(lambda: send_contact_change_letter.delay(change.pk), robust=True)
    if patient.user_id and patient.user.email.lower() not in told:
        notify(recipient=patient.user, template="contact_changed", space=space)
