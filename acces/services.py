"""Services of `acces`: professionals, agents, care relations, checked-and-traced access."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.utils import timezone

from acces import audit
from acces.models import AuditEvent, CareRelation, Professional
from acces.policy import Action, Decision, decide
from espace_sante.models import Space, User
from espace_sante.notifications import notify_space
from espace_sante.tracing import Actor

AGENT_GROUP = "Agents CPAM"
# What agents may do in the admin: identities and lifecycle, never medical content.
AGENT_PERMISSIONS = [
    ("espace_sante", "view_patient"),
    ("espace_sante", "change_patient"),
    ("espace_sante", "view_space"),
    ("espace_sante", "view_legalrepresentative"),
]


class AccessError(Exception):
    """A request about access that cannot be carried out; the message is for the user."""


def check_and_trace(*, actor: Actor, space: Space, action: Action, target: Any = None) -> Decision:
    """Ask the policy, write the audit event, and tell the patient of a professional's access.

    `target` is what is read or changed in the space (a document…), the space itself
    by default. The patient hears of a professional's first access of the day, not of
    every click.
    """
    target = space if target is None else target
    decision = decide(actor.user, action, target)
    with transaction.atomic():
        first_today = (
            decision.allowed
            and actor.role == User.Kind.PROFESSIONAL
            and not AuditEvent.objects.filter(
                space=space,
                actor=actor.user,
                outcome=AuditEvent.Outcome.ALLOWED,
                occurred_at__date=timezone.localdate(),
            ).exists()
        )
        audit.record(
            actor=actor,
            action=str(action),
            space=space,
            target=target,
            outcome=AuditEvent.Outcome.ALLOWED if decision else AuditEvent.Outcome.DENIED,
            basis=str(decision.basis or ""),
            detail={} if decision else {"reason": decision.reason},
        )
        if first_today:
            notify_space(
                space=space,
                template="space_accessed",
                context={
                    "actor_title": actor.user.professional.title,
                    "when": timezone.localtime(),
                },
                link=f"/espace/{space.public_id}/historique/",
            )
    return decision


@transaction.atomic
def register_professional(
    *,
    email: str,
    first_name: str,
    last_name: str,
    rpps: str,
    profession: str,
    specialty: str = "",
    practice_name: str = "",
    practice_town: str = "",
    password: str | None = None,
    by: Actor,
) -> Professional:
    user = User(
        email=email.lower(), first_name=first_name, last_name=last_name, kind=User.Kind.PROFESSIONAL
    )
    user.set_password(password) if password else user.set_unusable_password()
    user.full_clean()
    user.save()
    professional = Professional(
        user=user,
        rpps=rpps,
        profession=profession,
        specialty=specialty,
        practice_name=practice_name,
        practice_town=practice_town,
    )
    professional.full_clean()
    professional.save()
    audit.record(actor=by, action="professional_registered", target=professional)
    return professional


def agent_group() -> Group:
    group, _ = Group.objects.get_or_create(name=AGENT_GROUP)
    wanted = [
        Permission.objects.get(content_type__app_label=app, codename=code)
        for app, code in AGENT_PERMISSIONS
    ]
    group.permissions.set(wanted)
    return group


@transaction.atomic
def create_agent(*, email: str, first_name: str, last_name: str, password: str, by: Actor) -> User:
    user = User(
        email=email.lower(),
        first_name=first_name,
        last_name=last_name,
        kind=User.Kind.AGENT,
        is_staff=True,
    )
    user.set_password(password)
    user.full_clean()
    user.save()
    user.groups.add(agent_group())
    audit.record(actor=by, action="agent_created", target=user)
    return user


@transaction.atomic
def designate_attending_physician(
    *, space: Space, professional: Professional, by: Actor
) -> CareRelation:
    """Make `professional` the attending physician of `space`, ending any previous one."""
    if professional.profession != "medecin":
        raise AccessError("Seul un médecin peut être désigné médecin traitant.")
    current = (
        CareRelation.objects.select_for_update()
        .filter(space=space, basis=CareRelation.Basis.ATTENDING, ended_at__isnull=True)
        .first()
    )
    if current is not None and current.professional_id == professional.pk:
        return current
    if current is not None:
        current.ended_at = timezone.now()
        current.save(update_fields=["ended_at"])
    relation = CareRelation.objects.create(
        space=space, professional=professional, basis=CareRelation.Basis.ATTENDING
    )
    audit.record(
        actor=by,
        action="designate_attending",
        space=space,
        target=relation,
        detail={"professional": professional.rpps},
    )
    notify_space(
        space=space,
        template="attending_designated",
        context={"actor_title": professional.title},
        link=f"/espace/{space.public_id}/",
    )
    return relation


@transaction.atomic
def grant_access(
    *, space: Space, professional: Professional, basis: str, by: Actor
) -> CareRelation:
    """Record that `professional` may see `space` as authorised by the patient or care team."""
    if basis not in (CareRelation.Basis.AUTHORISED, CareRelation.Basis.CARE_TEAM):
        raise AccessError("Base d'accès inconnue.")
    relation, created = CareRelation.objects.get_or_create(
        space=space, professional=professional, basis=basis, ended_at__isnull=True
    )
    if created:
        audit.record(
            actor=by,
            action=f"grant_{basis}",
            space=space,
            target=relation,
            detail={"professional": professional.rpps},
        )
    return relation
