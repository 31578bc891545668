"""Activation of a space (by its holder, or for a minor by a representative), reactivation."""

from __future__ import annotations

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from espace_sante import parts
from espace_sante.actions import SpaceAction
from espace_sante.lifecycle._common import _locked, _move, _reason
from espace_sante.lifecycle.codes import Claim, _check_claim, _use, send_new_code
from espace_sante.models import LegalRepresentative, Patient, ProvisionalCode, Space, User
from espace_sante.notifications import notify_space
from espace_sante.services import SpaceError, open_account
from espace_sante.tracing import Actor, trace


def has_professional_content(space: Space) -> bool:
    """Whether professionals already put something in a part of `space` (`parts`)."""
    return parts.has_professional_content(space)


UNCONFIRMED_EMAIL_ERROR = gettext_noop(
    "Des professionnels de santé ont déjà déposé des documents dans cet espace : pour le "
    "protéger, il ne peut être ouvert qu'avec l'adresse e-mail à laquelle vous avez reçu votre "
    "code, si c'est vous qui l'avez donnée à l'Assurance Maladie. Pour utiliser une autre "
    "adresse, demandez un nouveau code par courrier (page « Code provisoire perdu », choix "
    "« Par courrier ») : avec le code reçu à votre adresse postale, vous choisirez librement "
    "votre adresse e-mail."
)


def email_confirmed_by_holder(space: Space, email: str) -> bool:
    """Whether the holder gave `email` themselves: it is the contact address on file (where
    an emailed code went) and it came with the enrolment file, not from an agent's change."""
    holder = space.holder
    email = (email or "").strip().lower()
    if not email or email != holder.email.strip().lower():
        return False
    return not holder.contact_changes.filter(new_email__iexact=email).exists()


def _guard_account_email(space: Space, code: ProvisionalCode, email: str, *, by: Actor) -> None:
    """No account opens at an email the holder never confirmed on a space that professionals
    already fed, unless the code came by letter (to the holder's postal address)."""
    if code.channel == ProvisionalCode.Channel.LETTER:
        return
    if email_confirmed_by_holder(space, email) or not has_professional_content(space):
        return
    with transaction.atomic():
        trace(
            actor=by,
            action=SpaceAction.ACCOUNT_REFUSED,
            space=space,
            target=space,
            outcome="denied",
            detail={"reason": "unconfirmed_email", "channel": code.channel},
        )
    raise SpaceError(_(UNCONFIRMED_EMAIL_ERROR))


def activate(*, claim: Claim, email: str, password: str, by: Actor) -> User:
    """Activate a created (or still announced) space: the holder gets their account.

    A space that professionals already fed opens only at an email the holder confirmed,
    or with a code that came by letter (`_guard_account_email`).
    """
    space, code = _check_claim(claim, by=by)
    if space.state in (Space.State.OPPOSED, Space.State.CLOSED):
        raise SpaceError(
            _(
                "Cet espace a été fermé ou vous vous êtes opposé à sa création : utilisez la page "
                "« Réactiver mon espace »."
            )
        )
    # A minor's space that a representative activated is active without an account: the
    # holder, come of age, activates their own account on it with the handover code.
    without_account = space.state == Space.State.ACTIVE and space.holder.user_id is None
    if space.state not in (Space.State.ANNOUNCED, Space.State.CREATED) and not without_account:
        raise SpaceError(
            _("Cet espace est déjà activé : connectez-vous avec votre adresse e-mail.")
        )
    _guard_account_email(space, code, email, by=by)
    with transaction.atomic():
        user = open_account(space=_locked(space), email=email, password=password, by=by)
        _use(code)
        _attach_representations(space.holder, user)
        parts.on_activation(space)
    return user


def activate_for_minor(*, space: Space, code: str, by: Actor) -> Space:
    """A legal representative activates a minor's space from their own account, with the
    provisional code sent for the child: the space opens at once (no need to wait for the
    end of the opposition window), and the representatives manage it until majority,
    when the holder gets their own account (`hand_over_adults`).

    The code is checked like any claim (wrong tries count, one message for every failure).
    """
    represents = space.representatives.current().filter(user=by.user)
    if by.user is None or not represents.exists():
        raise SpaceError(_("Seul un représentant légal de l'enfant peut activer son espace."))
    if space.holder.age_on(timezone.localdate()) >= 18:
        raise SpaceError(_("Le titulaire est majeur : il active lui-même son espace."))
    if space.state in (Space.State.OPPOSED, Space.State.CLOSED):
        raise SpaceError(
            _(
                "Cet espace a été fermé ou une opposition a été enregistrée : utilisez la page "
                "« Réactiver mon espace »."
            )
        )
    if space.state not in (Space.State.ANNOUNCED, Space.State.CREATED):
        raise SpaceError(_("Cet espace est déjà activé."))
    holder = space.holder
    claim = Claim(nir=holder.nir, carte_vitale_serial=holder.carte_vitale_serial, code=code)
    space, provisional = _check_claim(claim, by=by)
    with transaction.atomic():
        space = _locked(space)
        _move(
            space,
            Space.State.ACTIVE,
            by=by,
            action=SpaceAction.SPACE_ACTIVATED,
            detail={"by": "legal_representative"},
        )
        _use(provisional)
        parts.on_activation(space)
        notify_space(
            space=space,
            template="legal_representative_activated",
            context={"name": by.user.get_full_name(), "child": holder.first_names.split(" ")[0]},
            link=reverse("espace_sante:space", args=[space.public_id]),
        )
    return space


def reactivate_with_code(*, claim: Claim, email: str = "", password: str = "", by: Actor) -> Space:
    """The holder reopens a closed (or opposed) space within its archive period."""
    space, code = _check_claim(claim, by=by)
    if space.holder.user_id is None and email:
        _guard_account_email(space, code, email, by=by)
    with transaction.atomic():
        space = _locked(space)
        if space.holder.user_id is None:
            # Never had an account (opposed, or closed before activating): reopen and
            # give the account in one go.
            _guard_reactivable(space)
            Space.objects.filter(pk=space.pk).update(
                closed_at=None, retention_until=None, deletion_due_at=None
            )
            trace(
                actor=by,
                action=SpaceAction.SPACE_REACTIVATED,
                space=space,
                target=space,
                detail={"from": space.state},
            )
            open_account(space=space, email=email, password=password, by=by)
            space.refresh_from_db()
            _attach_representations(space.holder, space.holder.user)
        else:
            _reactivate(space, by=by)
        _use(code)
    return space


def reactivate(*, space: Space, by: Actor, reason: str = "") -> Space:
    """A CPAM agent reopens a closed or opposed space; a holder without account gets a code."""
    with transaction.atomic():
        space = _locked(space)
        _reactivate(space, by=by, reason=reason)
    if space.state == Space.State.CREATED:
        send_new_code(space=space, by=by)
    return space


def _guard_reactivable(space: Space) -> None:
    if space.state not in (Space.State.CLOSED, Space.State.OPPOSED):
        raise SpaceError(
            _("Seul un espace clôturé ou pour lequel vous vous étiez opposé peut être réactivé.")
        )
    if space.retention_until and space.retention_until < timezone.localdate():
        raise SpaceError(_("La durée d'archivage de cet espace est dépassée."))


def _reactivate(space: Space, *, by: Actor, reason: str = "") -> None:
    _guard_reactivable(space)
    target = Space.State.ACTIVE if space.holder.user_id else Space.State.CREATED
    space.closed_at = space.retention_until = space.deletion_due_at = None
    _move(
        space,
        target,
        by=by,
        action=SpaceAction.SPACE_REACTIVATED,
        extra_fields=["closed_at", "retention_until", "deletion_due_at"],
        detail=_reason(reason),
    )
    notify_space(
        space=space,
        template="space_reactivated",
        link=reverse("espace_sante:space", args=[space.public_id]),
    )


def _attach_representations(patient: Patient, user: User) -> None:
    """The representative's account now manages the minors the enrolment file named."""
    LegalRepresentative.objects.filter(patient=patient, user__isnull=True).update(user=user)
