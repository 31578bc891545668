"""Services of `acces`: professionals, agents, care relations, checked-and-traced access."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from acces.actions import AccessAction
from acces.models import (
    AccessSettings,
    AuditEvent,
    Block,
    CareRelation,
    DailyAccess,
    EmergencyAccess,
    Professional,
)
from acces.policy import (
    OCCUPATIONAL_SPECIALTY,
    Action,
    ConsentDeclaration,
    Decision,
    EmergencyRequest,
    Principal,
    decide,
    emergency_settings,
)
from espace_sante.identity import normalise_nir
from espace_sante.models import Patient, Space, User
from espace_sante.notifications import notify_space
from espace_sante.tracing import Actor, trace

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


def mark_daily_access(*, space: Space, professional: Professional) -> bool:
    """Note that `professional` accessed `space` today; True when it is their first of the day."""
    return DailyAccess.objects.get_or_create(
        space=space, professional=professional, day=timezone.localdate()
    )[1]


def check_and_trace(
    *,
    actor: Actor,
    space: Space,
    action: Action,
    target: Any = None,
    principal: Principal | None = None,
) -> Decision:
    """Ask the policy, write the audit event, and tell the patient of a professional's access.

    `target` is what is read or changed in the space (a document…), the space itself
    by default. `principal` is who the policy decides for (from the request: the level
    of the sign-in; an app acting for the person); by default `actor`'s user acting
    themself. The patient hears of a professional's first access of the day, not of
    every click.
    """
    target = space if target is None else target
    decision = decide(principal or Principal.of_user(actor.user), action, target)
    with transaction.atomic():
        first_today = (
            decision.allowed
            and actor.role == User.Kind.PROFESSIONAL
            and mark_daily_access(space=space, professional=actor.user.professional)
        )
        trace(
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
                link=reverse("espace_sante:history", args=[space.public_id]),
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
    trace(actor=by, action=AccessAction.PROFESSIONAL_REGISTERED, target=professional)
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
    trace(actor=by, action=AccessAction.AGENT_CREATED, target=user)
    return user


@transaction.atomic
def designate_attending_physician(
    *, space: Space, professional: Professional, by: Actor
) -> CareRelation:
    """Make `professional` the attending physician of `space`, ending any previous one."""
    if professional.profession != "medecin" or professional.specialty == OCCUPATIONAL_SPECIALTY:
        raise AccessError(_("Seul un médecin peut être désigné médecin traitant."))
    if is_blocked(space, professional):
        raise AccessError(_("Ce médecin est bloqué : débloquez-le d'abord."))
    current = (
        CareRelation.objects.live()
        .select_for_update()
        .filter(space=space, basis=CareRelation.Basis.ATTENDING)
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
    trace(
        actor=by,
        action=AccessAction.DESIGNATE_ATTENDING,
        space=space,
        target=relation,
        detail={"professional": professional.rpps},
    )
    notify_space(
        space=space,
        template="attending_designated",
        context={"actor_title": professional.title},
        link=reverse("espace_sante:space", args=[space.public_id]),
    )
    return relation


@transaction.atomic
def grant_access(
    *, space: Space, professional: Professional, basis: str, by: Actor
) -> CareRelation:
    """Record that `professional` may see `space` as authorised by the patient or care team."""
    if basis not in (CareRelation.Basis.AUTHORISED, CareRelation.Basis.CARE_TEAM):
        raise AccessError(_("Base d'accès inconnue."))
    relation, created = CareRelation.objects.live().get_or_create(
        space=space, professional=professional, basis=basis
    )
    if created:
        trace(
            actor=by,
            action=AccessAction.grant(basis),
            space=space,
            target=relation,
            detail={"professional": professional.rpps},
        )
    return relation


# --- The patient's control page -------------------------------------------------------------


def _check_open(space: Space) -> None:
    if not space.is_open:
        raise AccessError(_("Les accès d'un espace fermé ne peuvent plus être modifiés."))


def _tell(space: Space, template: str, **context) -> None:
    # Access changes are security events: everyone on the space hears of them, the author too.
    notify_space(
        space=space,
        template=template,
        context={"when": timezone.localtime(), **context},
        link=reverse("acces_patient:page", args=[space.public_id]),
    )


@transaction.atomic
def authorise(*, space: Space, professional: Professional, by: Actor) -> CareRelation:
    """The patient authorises a professional found in the directory."""
    _check_open(space)
    if professional.specialty == OCCUPATIONAL_SPECIALTY:
        raise AccessError(
            _(
                "Le médecin du travail n'accède qu'au volet santé au travail, avec votre accord "
                "donné lors de la visite : il ne peut pas être autorisé sur tout le dossier."
            )
        )
    if is_blocked(space, professional):
        raise AccessError(_("Ce professionnel est bloqué : débloquez-le d'abord."))
    relation = grant_access(
        space=space, professional=professional, basis=CareRelation.Basis.AUTHORISED, by=by
    )
    _tell(space, "access_granted", actor_title=professional.title)
    return relation


@transaction.atomic
def revoke(*, relation: CareRelation, by: Actor) -> CareRelation:
    """End a professional's basis on the space (the attending physician's too)."""
    if relation.ended_at is None:
        relation.ended_at = timezone.now()
        relation.save(update_fields=["ended_at"])
        trace(
            actor=by,
            action=AccessAction.ACCESS_REVOKED,
            space=relation.space,
            target=relation,
            basis=relation.basis,
            detail={"professional": relation.professional.rpps},
        )
        _tell(relation.space, "access_revoked", actor_title=relation.professional.title)
    return relation


def is_blocked(space: Space, professional: Professional) -> bool:
    return Block.objects.active().filter(space=space, professional=professional).exists()


@transaction.atomic
def block(*, space: Space, professional: Professional, by: Actor) -> Block:
    """Block a professional: whatever else holds, they see nothing while the block lasts."""
    _check_open(space)
    current = Block.objects.active().filter(space=space, professional=professional).first()
    if current is not None:
        return current
    blocked = Block.objects.create(space=space, professional=professional)
    trace(
        actor=by,
        action=AccessAction.PROFESSIONAL_BLOCKED,
        space=space,
        target=blocked,
        detail={"professional": professional.rpps},
    )
    _tell(space, "professional_blocked", actor_title=professional.title)
    return blocked


@transaction.atomic
def unblock(*, blocked: Block, by: Actor) -> Block:
    if blocked.lifted_at is None:
        blocked.lifted_at = timezone.now()
        blocked.save(update_fields=["lifted_at"])
        trace(
            actor=by,
            action=AccessAction.PROFESSIONAL_UNBLOCKED,
            space=blocked.space,
            target=blocked,
            detail={"professional": blocked.professional.rpps},
        )
        _tell(blocked.space, "professional_unblocked", actor_title=blocked.professional.title)
    return blocked


@transaction.atomic
def set_emergency_settings(
    *,
    space: Space,
    by: Actor,
    emergency_access: bool | None = None,
    samu_access: bool | None = None,
    masked_from_emergencies: bool | None = None,
) -> AccessSettings:
    """Switch emergency access, SAMU access, or hiding masked documents from emergencies."""
    _check_open(space)
    settings = AccessSettings.objects.select_for_update().filter(space=space).first()
    settings = settings or AccessSettings(space=space)  # saved only if something changes
    wanted = {
        "emergency_access": emergency_access,
        "samu_access": samu_access,
        "masked_from_emergencies": masked_from_emergencies,
    }
    changed = {
        name: value
        for name, value in wanted.items()
        if value is not None and getattr(settings, name) != value
    }
    if not changed:
        return settings
    for name, value in changed.items():
        setattr(settings, name, value)
    settings.save()
    trace(
        actor=by,
        action=AccessAction.EMERGENCY_SETTINGS_CHANGED,
        space=space,
        target=settings,
        detail=changed,
    )
    _tell(space, "emergency_settings_changed")
    return settings


# --- The pro portal: finding a patient, consent, emergencies ---------------------------------


def find_space(*, actor: Actor, nir: str, last_name: str, birth_date) -> Space | None:
    """The open space whose holder has exactly this INS, birth name and birth date.

    Nothing else is matched (no prefix, no fuzzy name), and a space that is not open
    answers like an unknown one: the search can only confirm what the professional
    already knows from the patient in front of them. Every search is traced.
    """
    nir = normalise_nir(nir)
    patient = (
        Patient.objects.select_related("space")
        .filter(nir=nir, birth_date=birth_date, last_name__iexact=last_name.strip())
        .first()
    )
    space = getattr(patient, "space", None) if patient else None
    found = space is not None and space.is_open
    with transaction.atomic():
        trace(
            actor=actor,
            action=AccessAction.PATIENT_SEARCH,
            space=space if found else None,
            target=("espace_sante.space", space.public_id if found else ""),
            outcome=AuditEvent.Outcome.ALLOWED if found else AuditEvent.Outcome.DENIED,
            detail={} if found else {"reason": "no_match"},
        )
    return space if found else None


def declare_consent(
    *, space: Space, professional: Professional, by: Actor, found_by_search: bool = True
) -> CareRelation:
    """The professional declares that the patient consented: they join the care team.

    The policy decides (`Action.DECLARE_CONSENT`); the pro portal says whether this
    session found the space by an exact search. The occupational physician joins as
    such, for the occupational-health part only. A refusal of a professional the
    patient blocked is traced (in its own transaction, so raising does not undo it).
    """
    declaration = ConsentDeclaration(space=space, found_by_search=found_by_search)
    decision = decide(professional.user, Action.DECLARE_CONSENT, declaration)
    if not decision:
        if decision.reason == "blocked":
            with transaction.atomic():
                trace(
                    actor=by,
                    action=AccessAction.CONSENT_DECLARED,
                    space=space,
                    target=space,
                    outcome=AuditEvent.Outcome.DENIED,
                    detail={"reason": decision.reason},
                )
        raise AccessError(decision.message)
    with transaction.atomic():
        return _join(space=space, professional=professional, by=by)


def _join(*, space: Space, professional: Professional, by: Actor) -> CareRelation:
    basis = (
        CareRelation.Basis.OCCUPATIONAL
        if professional.specialty == OCCUPATIONAL_SPECIALTY
        else CareRelation.Basis.CARE_TEAM
    )
    # When the patient had withdrawn this professional's access (or replaced them as attending
    # physician): the law lets them declare consent again, and the patient must know at once.
    withdrawn_at = (
        CareRelation.objects.filter(space=space, professional=professional, ended_at__isnull=False)
        .order_by("-ended_at")
        .values_list("ended_at", flat=True)
        .first()
    )
    relation, created = CareRelation.objects.live().get_or_create(
        space=space,
        professional=professional,
        basis=basis,
        defaults={"consent_declared_at": timezone.now()},
    )
    if created:
        mark_daily_access(space=space, professional=professional)
        detail = {"professional": professional.rpps}
        if withdrawn_at is not None:
            detail["after_withdrawal"] = withdrawn_at.isoformat()
        trace(
            actor=by,
            action=AccessAction.CONSENT_DECLARED,
            space=space,
            target=relation,
            basis=basis,
            detail=detail,
        )
        if withdrawn_at is not None:
            _tell_rejoined(space, professional, relation, withdrawn_at)
        else:
            _tell(
                space,
                "care_team_joined",
                actor_title=professional.title,
                occupational=basis == CareRelation.Basis.OCCUPATIONAL,
            )
    return relation


def _tell_rejoined(space: Space, professional: Professional, relation, withdrawn_at) -> None:
    """Tell the patient at once, with the one-click way to block (a confirmation page)."""
    block_path = reverse("acces_patient:block", args=[space.public_id, professional.rpps])
    notify_space(
        space=space,
        template="care_team_rejoined",
        context={
            "actor_title": professional.title,
            "when": timezone.localtime(),
            "withdrawn_at": timezone.localtime(withdrawn_at),
            "occupational": relation.basis == CareRelation.Basis.OCCUPATIONAL,
            "block_path": block_path,
        },
        link=block_path,
    )


def open_emergency_access(
    *, space: Space, professional: Professional, mode: str, reason: str, by: Actor
) -> EmergencyAccess:
    """Break the glass (or open the SAMU's regulation access): time-limited, traced, told.

    Refused, and traced as refused (in its own transaction, so raising does not undo
    the trace), when the patient switched that access off or blocked the professional,
    or when the professional may not use that mode.
    """
    reason = reason.strip()
    if len(reason) < 10:
        raise AccessError(
            _("Décrivez la situation d'urgence qui justifie l'accès (10 caractères au moins).")
        )
    decision = decide(professional.user, Action.OPEN_EMERGENCY, EmergencyRequest(space, mode))
    if not decision:
        with transaction.atomic():
            trace(
                actor=by,
                action=AccessAction.emergency(mode),
                space=space,
                target=space,
                outcome=AuditEvent.Outcome.DENIED,
                detail={"reason": decision.reason},
            )
        raise AccessError(decision.message)
    with transaction.atomic():
        return _open(space=space, professional=professional, mode=mode, reason=reason, by=by)


def _open(*, space: Space, professional: Professional, mode: str, reason: str, by: Actor):
    now = timezone.now()
    access = EmergencyAccess.objects.create(
        space=space,
        professional=professional,
        mode=mode,
        reason=reason[:2000],
        started_at=now,
        expires_at=now + EmergencyAccess.DURATION,
    )
    mark_daily_access(space=space, professional=professional)  # the patient is told below
    trace(
        actor=by,
        action=AccessAction.emergency(mode),
        space=space,
        target=access,
        basis="samu" if mode == EmergencyAccess.Mode.SAMU else "emergency",
        detail={"reason_given": access.reason, "until": access.expires_at.isoformat()},
    )
    notify_space(
        space=space,
        template="emergency_access",
        context={
            "actor_title": professional.title,
            "mode": access.get_mode_display(),
            "when": timezone.localtime(now),
            "until": timezone.localtime(access.expires_at),
        },
        link=reverse("espace_sante:history", args=[space.public_id]),
    )
    return access


def live_emergency_access(space: Space, professional: Professional) -> EmergencyAccess | None:
    return (
        EmergencyAccess.objects.filter(
            space=space, professional=professional, expires_at__gt=timezone.now()
        )
        .order_by("-expires_at")
        .first()
    )


def settings_of(space: Space) -> AccessSettings:
    return emergency_settings(space)
