"""Services of the space itself: enrolling a person, opening their account, minors.

Each service validates, writes, traces (in the same transaction) and queues
the notifications. The full lifecycle (codes, opposition, closure, archive)
builds on these.
"""

from __future__ import annotations

from datetime import date

from django.contrib.auth.password_validation import validate_password
from django.db import transaction
from django.utils import timezone

from espace_sante.models import LegalRepresentative, Patient, Space, SpaceError, User
from espace_sante.notifications import notify, notify_space
from espace_sante.tracing import Actor, trace

__all__ = ["SpaceError", "add_legal_representative", "enrol_person", "open_account"]


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
    trace(actor=by, action="space_announced", space=space, target=space)
    if announce:
        from espace_sante.tasks import deliver_code

        transaction.on_commit(lambda: deliver_code.delay(space.pk, "announcement"), robust=True)
    return space


@transaction.atomic
def open_account(*, space: Space, email: str, password: str, by: Actor) -> User:
    """Give the holder their account and make the space active."""
    space = Space.objects.select_for_update().select_related("holder").get(pk=space.pk)
    patient = space.holder
    if patient.user_id is not None:
        raise SpaceError("Cet espace a déjà un compte.")
    if User.objects.filter(email__iexact=email).exists():
        raise SpaceError("Cette adresse e-mail est déjà utilisée par un autre compte.")
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
    trace(actor=by, action="space_activated", space=space, target=space, detail={"from": previous})
    notify(recipient=user, template="space_opened", space=space, link=f"/espace/{space.public_id}/")
    return user


@transaction.atomic
def add_legal_representative(*, space: Space, user: User, by: Actor) -> LegalRepresentative:
    """Let `user` (a patient account) manage the space of the minor `space` belongs to."""
    if user.kind != User.Kind.PATIENT:
        raise SpaceError("Seul un compte patient peut représenter un mineur.")
    representation, created = LegalRepresentative.objects.get_or_create(space=space, user=user)
    if created:
        trace(actor=by, action="legal_representative_added", space=space, target=representation)
        notify_space(
            space=space,
            template="legal_representative_added",
            context={"name": user.get_full_name()},
            link=f"/espace/{space.public_id}/",
        )
    return representation
