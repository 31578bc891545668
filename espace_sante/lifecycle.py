"""The space's lifecycle: codes, opposition, activation, closure, archive, destruction.

Every transition goes through `Space.move_to` (which refuses what the state
machine does not allow), is traced in the space's chain and notified, in one
transaction. Sweeps run from Celery beat and work in bulk.

Provisional codes are never stored in clear: they are shown once, in the
email or letter that carries them, and kept as an HMAC.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from espace_sante import emails
from espace_sante.actions import SpaceAction
from espace_sante.identity import normalise_nir
from espace_sante.models import (
    ContactChange,
    LegalRepresentative,
    Notification,
    Patient,
    ProvisionalCode,
    Space,
    User,
)
from espace_sante.notifications import notify_space
from espace_sante.services import SpaceError, open_account
from espace_sante.tracing import Actor, trace, trace_many

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud on the phone
CODE_LENGTH = 12

GENERIC_CODE_ERROR = gettext_noop(
    "Ces informations ne correspondent à aucun code provisoire valide. Vérifiez le numéro de "
    "sécurité sociale, le numéro de série de la carte Vitale et le code ; après 5 erreurs le "
    "code est bloqué et il faut en demander un nouveau."
)


# --- Provisional codes -------------------------------------------------------------------


def _digest(space_pk: int, code: str) -> str:
    key = hashlib.sha256(f"provisional-code:{settings.SECRET_KEY}".encode()).digest()
    message = f"{space_pk}:{normalise_code(code)}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def normalise_code(code: str) -> str:
    return "".join(ch for ch in (code or "").upper() if ch.isalnum())


def format_code(code: str) -> str:
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def issue_code(*, space: Space, channel: str, by: Actor, valid_for: timedelta | None = None) -> str:
    """A new provisional code for `space` (earlier ones are revoked); returned once, in clear."""
    now = timezone.now()
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    with transaction.atomic():
        ProvisionalCode.objects.filter(
            space=space, used_at__isnull=True, revoked_at__isnull=True
        ).update(revoked_at=now)
        ProvisionalCode.objects.create(
            space=space,
            digest=_digest(space.pk, code),
            channel=channel,
            expires_at=now + (valid_for or Space.OPPOSITION_WINDOW),
        )
        trace(
            actor=by,
            action=SpaceAction.CODE_ISSUED,
            space=space,
            target=space,
            detail={"channel": channel},
        )
    return format_code(code)


@dataclass(frozen=True)
class Claim:
    """What a person typed to prove they hold a space: NIR, Carte Vitale serial, code."""

    nir: str
    carte_vitale_serial: str
    code: str


def _check_claim(claim: Claim, *, by: Actor) -> tuple[Space, ProvisionalCode]:
    """The space and code the claim proves, or SpaceError with one message for every failure.

    A wrong code counts against the space's current code (committed even though
    the request fails), so 5 wrong tries lock it. The message never says whether
    the NIR exists.
    """
    now = timezone.now()
    space = (
        Space.objects.select_related("holder")
        .filter(
            holder__nir=normalise_nir(claim.nir),
            holder__carte_vitale_serial=claim.carte_vitale_serial.strip(),
        )
        .first()
    )
    if space is None:
        raise SpaceError(_(GENERIC_CODE_ERROR))
    with transaction.atomic():
        code = (
            ProvisionalCode.objects.select_for_update()
            .filter(space=space, used_at__isnull=True, revoked_at__isnull=True)
            .order_by("-created_at")
            .first()
        )
        matches = code is not None and hmac.compare_digest(
            code.digest, _digest(space.pk, claim.code)
        )
        if code is None or not code.is_usable(now) or not matches:
            if code is not None and code.is_usable(now):
                code.failed_attempts += 1
                code.save(update_fields=["failed_attempts"])
            trace(
                actor=by,
                action=SpaceAction.CODE_CHECKED,
                space=space,
                target=space,
                outcome="denied",
                detail={"reason": "wrong_or_expired_code"},
            )
            failed = True
        else:
            failed = False
    if failed:
        raise SpaceError(_(GENERIC_CODE_ERROR))
    return space, code


def _use(code: ProvisionalCode) -> None:
    code.used_at = timezone.now()
    code.save(update_fields=["used_at"])


# --- Announcement and opposition ---------------------------------------------------------


def announce_deadline(now: datetime | None = None) -> datetime:
    return (now or timezone.now()) + Space.OPPOSITION_WINDOW


def oppose(*, claim: Claim, by: Actor) -> Space:
    """The person refuses the creation of their space, within the six weeks (no account)."""
    space, code = _check_claim(claim, by=by)
    with transaction.atomic():
        space = _locked(space)
        _oppose(space, by=by)
        _use(code)
    return space


def record_opposition(*, space: Space, by: Actor, reason: str = "") -> Space:
    """A CPAM agent records the opposition the person expressed by phone or at the desk."""
    with transaction.atomic():
        space = _locked(space)
        _oppose(space, by=by, reason=reason)
    return space


def _reason(reason: str) -> dict:
    """The agent's reason for a lifecycle action, kept in the trail's detail (200 characters)."""
    return {"reason": reason.strip()[:200]} if reason and reason.strip() else {}


def _oppose(space: Space, *, by: Actor, reason: str = "") -> None:
    if space.state != Space.State.ANNOUNCED or (
        space.opposition_deadline and space.opposition_deadline <= timezone.now()
    ):
        raise SpaceError(
            _(
                "Le délai d'opposition de six semaines est passé ou l'espace n'est plus en cours "
                "de création : vous pouvez en revanche demander sa clôture à tout moment."
            )
        )
    _move(
        space, Space.State.OPPOSED, by=by, action=SpaceAction.SPACE_OPPOSED, detail=_reason(reason)
    )
    ProvisionalCode.objects.filter(space=space, used_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    notify_space(space=space, template="space_opposed")


def sweep_announced(
    *, now: datetime | None = None, batch_size: int = 20000, parallel: int | None = None
) -> int:
    """Turn every announced space whose window has passed into created, in bulk.

    Each batch claims its rows with FOR UPDATE SKIP LOCKED, moves them and
    appends one `space_created` event per space, in one transaction: two beats
    never take the same space, a failure leaves no space moved without its
    event, and a rerun finds nothing left to do. Batches walk the primary key
    (keyset), so each one costs the same however many were swept before; a row
    another transaction held is left to the next run. On PostgreSQL the claim
    and the update are one statement that returns what the trail needs, and
    `parallel` sweepers (SWEEP_PARALLELISM) each take their own share of the
    ids (id modulo n), so the database works on every core.
    """
    from concurrent.futures import ThreadPoolExecutor

    from django.conf import settings
    from django.db import connection

    now = now or timezone.now()
    if connection.vendor != "postgresql":
        return _sweep_share(now=now, batch_size=batch_size, share=(0, 1))
    parallel = parallel or settings.SWEEP_PARALLELISM
    if parallel <= 1 or connection.in_atomic_block:
        return _sweep_share(now=now, batch_size=batch_size, share=(0, 1))

    def run(k: int) -> int:
        try:
            return _sweep_share(now=now, batch_size=batch_size, share=(k, parallel))
        finally:
            connection.close()  # this thread's own connection

    with ThreadPoolExecutor(max_workers=parallel) as pool:
        return sum(pool.map(run, range(parallel)))


def _sweep_share(*, now: datetime, batch_size: int, share: tuple[int, int]) -> int:
    """One sweeper: the announced spaces whose id modulo share[1] is share[0]."""
    from types import SimpleNamespace

    from django.db import connection

    total, after = 0, 0
    system = Actor.system()
    table = Space._meta.db_table
    remainder, modulo = share
    claim_sql = (
        f"WITH due AS (SELECT id FROM {table} "  # noqa: S608 (the model's table name)
        "WHERE state = %s AND opposition_deadline <= %s AND id > %s AND id %% %s = %s "
        "ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED) "
        # = ANY(ARRAY(…)) makes the update find its rows by primary key, where a join
        # would scan the whole table at every batch.
        f"UPDATE {table} SET state = %s, state_changed_at = %s "
        "WHERE id = ANY(ARRAY(SELECT id FROM due)) RETURNING id, public_id"
    )
    while True:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute(
                        claim_sql,
                        [
                            Space.State.ANNOUNCED,
                            now,
                            after,
                            modulo,
                            remainder,
                            batch_size,
                            Space.State.CREATED,
                            now,
                        ],
                    )
                    claimed = cursor.fetchall()
            else:
                claimed = list(
                    Space.objects.select_for_update(skip_locked=True)
                    .filter(state=Space.State.ANNOUNCED, opposition_deadline__lte=now, pk__gt=after)
                    .order_by("pk")
                    .values_list("pk", "public_id")[:batch_size]
                )
                Space.objects.filter(pk__in=[pk for pk, _ in claimed]).update(
                    state=Space.State.CREATED, state_changed_at=now
                )
            if not claimed:
                return total
            trace_many(
                actor=system,
                action=SpaceAction.SPACE_CREATED,
                spaces=[SimpleNamespace(pk=pk, public_id=public_id) for pk, public_id in claimed],
                detail={"from": Space.State.ANNOUNCED},
            )
            _notify_created([pk for pk, _ in claimed], now=now)
        after = max(pk for pk, _ in claimed)
        total += len(claimed)


def _notify_created(space_ids: list[int], *, now: datetime) -> None:
    """Tell each holder with an email address that their space is created, in bulk.

    The outbox rows are written in the sweep's transaction; the notification
    sweep (`send_pending_notifications`) sends them at its own pace.
    """
    from django.db import connection

    subject, body = emails.render("space_created", {})
    if connection.vendor == "postgresql":
        notification, space, patient = (
            Notification._meta.db_table,
            Space._meta.db_table,
            Patient._meta.db_table,
        )
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {notification} (recipient_id, address, space_id, kind, subject, "  # noqa: S608
                "body, link, created_at, email_state, email_attempts, email_error) "
                f"SELECT NULL, p.email, s.id, %s, %s, %s, '', %s, %s, 0, '' FROM {space} s "
                f"JOIN {patient} p ON p.id = s.holder_id WHERE s.id = ANY(%s) AND p.email <> ''",
                ["space_created", subject, body, now, Notification.EmailState.PENDING, space_ids],
            )
        return
    Notification.objects.bulk_create(
        [
            Notification(
                address=email,
                space_id=pk,
                kind="space_created",
                subject=subject,
                body=body,
                created_at=now,
            )
            for pk, email in Space.objects.filter(pk__in=space_ids)
            .exclude(holder__email="")
            .values_list("pk", "holder__email")
        ],
        batch_size=2000,
    )


# --- Activation and reactivation ---------------------------------------------------------

ActivationHook = Callable[[Space], None]
_activation_hooks: list[ActivationHook] = []


def on_activation(hook: ActivationHook) -> None:
    """Let another part (the DMP import) attach existing data when a space is activated."""
    _activation_hooks.append(hook)


ProfessionalContentCheck = Callable[[Space], bool]
_professional_content_checks: list[ProfessionalContentCheck] = []


def on_professional_content(check: ProfessionalContentCheck) -> None:
    """Let a part (the DMP) say whether professionals already put something in a space."""
    _professional_content_checks.append(check)


def has_professional_content(space: Space) -> bool:
    return any(check(space) for check in _professional_content_checks)


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
        for hook in _activation_hooks:
            hook(space)
    return user


def activate_for_minor(*, space: Space, code: str, by: Actor) -> Space:
    """A legal representative activates a minor's space from their own account, with the
    provisional code sent for the child: the space opens at once (no need to wait for the
    end of the opposition window), and the representatives manage it until majority,
    when the holder gets their own account (`hand_over_adults`).

    The code is checked like any claim (wrong tries count, one message for every failure).
    """
    now = timezone.now()
    represents = space.representatives.filter(user=by.user, since__lte=now).filter(
        Q(until__isnull=True) | Q(until__gt=now)
    )
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
        for hook in _activation_hooks:
            hook(space)
        notify_space(
            space=space,
            template="legal_representative_activated",
            context={"name": by.user.get_full_name(), "child": holder.first_names.split(" ")[0]},
            link=f"/espace/{space.public_id}/",
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
    notify_space(space=space, template="space_reactivated", link=f"/espace/{space.public_id}/")


def _attach_representations(patient: Patient, user: User) -> None:
    """The representative's account now manages the minors the enrolment file named."""
    LegalRepresentative.objects.filter(patient=patient, user__isnull=True).update(user=user)


# --- New code, closure, deletion, destruction --------------------------------------------

# States in which a provisional code has a use (activation, opposition, reactivation).
CODE_STATES = (Space.State.ANNOUNCED, Space.State.CREATED, Space.State.OPPOSED, Space.State.CLOSED)


@dataclass(frozen=True)
class CodeDelivery:
    """Where a provisional code goes: `channel` is "" when it may go nowhere (withheld)."""

    channel: str
    email: str = ""
    postal_address: str = ""
    after_contact_change: bool = False


def code_delivery(space: Space, *, by_letter: bool = False) -> CodeDelivery:
    """The one decision of where a provisional code for `space` goes (send_new_code and the
    `deliver_code` task both ask it).

    Within `ContactChange.RECENT` of an agent's change of the contact details, only by
    letter to the postal address on file before the first such change (withheld if there
    was none): no agent, alone, can have a code sent where they chose. Otherwise by email
    to the account's or the contact address, or by letter when there is none or when the
    person asked for one (`by_letter`).
    """
    holder = space.holder
    first_change = (
        ContactChange.objects.filter(
            patient_id=holder.pk, changed_at__gte=timezone.now() - ContactChange.RECENT
        )
        .order_by("changed_at", "pk")
        .first()
    )
    if first_change is not None:
        address = first_change.previous_postal_address
        return CodeDelivery(
            channel=ProvisionalCode.Channel.LETTER if address.strip() else "",
            postal_address=address,
            after_contact_change=True,
        )
    email = holder.user.email if holder.user_id else holder.email
    if email and not by_letter:
        return CodeDelivery(channel=ProvisionalCode.Channel.EMAIL, email=email)
    return CodeDelivery(
        channel=ProvisionalCode.Channel.LETTER, postal_address=holder.postal_address
    )


def send_new_code(*, space: Space, by: Actor, by_letter: bool = False, reason: str = "") -> str:
    """Issue a new code and send it where `code_delivery` says (email, or letter).

    Returns the channel used. The email or letter is produced by a task after
    commit, which issues the code itself, so no code waits anywhere in clear.
    """
    from espace_sante.tasks import request_code

    if space.state not in CODE_STATES:
        raise SpaceError(
            _("Aucun code provisoire ne peut être envoyé pour un espace %(state)s.")
            % {"state": space.get_state_display().lower()}
        )
    delivery = code_delivery(space, by_letter=by_letter)
    if not delivery.channel:
        raise SpaceError(
            _(
                "Les coordonnées de cette personne ont été modifiées par un agent il y a moins "
                "de 30 jours et aucune adresse postale antérieure n'est connue : aucun code "
                "provisoire ne peut être envoyé avant la fin de ce délai."
            )
        )
    channel = delivery.channel
    detail = {"channel": channel, **_reason(reason)}
    if delivery.after_contact_change:
        detail["after_contact_change"] = True
    trace(actor=by, action=SpaceAction.CODE_REQUESTED, space=space, target=space, detail=detail)
    # durable: the sweep re-queues a lost task
    request_code(space=space, kind="new_code", by_letter=by_letter)
    return channel


def close(*, space: Space, by: Actor, reason: str = "", channel: str = "online") -> Space:
    """Close a space: archived ten years (or ten years after death), invisible to every
    professional, reactivable until then."""
    with transaction.atomic():
        space = _locked(space)
        _close(space, by=by, reason=reason, channel=channel)
    return space


def _close(space: Space, *, by: Actor, reason: str, channel: str) -> None:
    if space.state not in (Space.State.ACTIVE, Space.State.CREATED, Space.State.SUSPENDED):
        raise SpaceError(
            _("Cet espace ne peut pas être clôturé dans son état actuel (%(state)s).")
            % {"state": space.get_state_display().lower()}
        )
    now = timezone.now()
    space.closed_at = now
    space.retention_until = retention_end(space.holder, closed_on=timezone.localdate(now))
    _move(
        space,
        Space.State.CLOSED,
        by=by,
        action=SpaceAction.SPACE_CLOSED,
        extra_fields=["closed_at", "retention_until"],
        detail={"channel": channel, **({"reason": reason[:200]} if reason else {})},
    )
    notify_space(space=space, template="space_closed", link=f"/espace/{space.public_id}/")


def retention_end(patient: Patient, *, closed_on: date) -> date:
    """Ten years from closure; after the holder's death, ten years from the death."""
    start = patient.death_date or closed_on
    return _add_years(start, Space.ARCHIVE_YEARS)


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def record_death(*, space: Space, death_date: date, by: Actor, reason: str = "") -> Space:
    """A CPAM agent records the holder's death: the space closes, kept ten years from then."""
    with transaction.atomic():
        space = _locked(space)
        space.holder.death_date = death_date
        space.holder.save(update_fields=["death_date"])
        trace(
            actor=by,
            action=SpaceAction.DEATH_RECORDED,
            space=space,
            target=space,
            detail=_reason(reason),
        )
        if space.state == Space.State.CLOSED:
            space.retention_until = retention_end(space.holder, closed_on=death_date)
            space.save(update_fields=["retention_until"])
        else:
            _close(space, by=by, reason="décès", channel="agent")
    return space


def request_deletion(*, space: Space, by: Actor) -> Space:
    """Early definitive deletion: the space closes now and is destroyed within three months."""
    with transaction.atomic():
        space = _locked(space)
        if space.state == Space.State.DESTROYED:
            raise SpaceError(_("Cet espace est déjà détruit."))
        if space.deletion_due_at:
            raise SpaceError(_("La suppression définitive de cet espace est déjà demandée."))
        if space.state != Space.State.CLOSED:
            _close(space, by=by, reason="suppression demandée", channel="online")
        space.deletion_due_at = timezone.now() + Space.DELETION_DELAY
        space.save(update_fields=["deletion_due_at"])
        trace(
            actor=by,
            action=SpaceAction.DELETION_REQUESTED,
            space=space,
            target=space,
            detail={"due": space.deletion_due_at.date().isoformat()},
        )
        notify_space(
            space=space, template="deletion_requested", context={"due": space.deletion_due_at}
        )
    return space


ContentDestroyer = Callable[..., None]
_content_destroyers: list[ContentDestroyer] = []


def on_destroy(destroyer: ContentDestroyer) -> None:
    """Register how a part of the space (documents, messages…) destroys its content.

    Called as destroyer(space, keep_occupational=bool) inside the destruction's
    transaction; it must destroy the content's data keys and files.
    """
    _content_destroyers.append(destroyer)


def destroy(*, space: Space, by: Actor) -> Space:
    """Destroy a closed space's content by destroying its keys and files.

    Only a tombstone (the space row, its state) and the audit trail remain. The
    occupational-health part, when its 40-year retention runs longer, is kept
    and destroyed when that ends.
    """
    from espace_sante import crypto

    today = timezone.localdate()
    with transaction.atomic():
        space = _locked(space)
        if space.state != Space.State.CLOSED:
            raise SpaceError(_("Seul un espace clôturé peut être détruit."))
        keep_occupational = bool(
            space.occupational_retention_until
            and space.occupational_retention_until > today
            and not space.deletion_due_at
        )
        for destroyer in _content_destroyers:
            destroyer(space, keep_occupational=keep_occupational)
        from espace_sante.export import shred_job

        for job in space.export_jobs.select_related("data_key"):
            shred_job(job)
        for letter in space.letters.select_related("data_key"):
            crypto.destroy_data_key(letter.data_key)
            letter.file.delete(save=False)
        space.letters.all().delete()
        space.codes.all().delete()
        if keep_occupational:
            space.retention_until = space.occupational_retention_until
            space.save(update_fields=["retention_until"])
            trace(
                actor=by,
                action=SpaceAction.SPACE_CONTENT_DESTROYED,
                space=space,
                target=space,
                detail={"kept": "occupational_health"},
            )
            return space
        holder = space.holder
        holder.email, holder.postal_address = "", ""
        holder.save(update_fields=["email", "postal_address"])
        holder.contact_changes.all().delete()
        space.representatives.all().delete()
        _move(space, Space.State.DESTROYED, by=by, action=SpaceAction.SPACE_DESTROYED)
    return space


# --- Suspension --------------------------------------------------------------------------


def suspend(*, space: Space, by: Actor, reason: str) -> Space:
    """Suspend on suspicion of fraud; without objection for six weeks the space closes."""
    if not reason.strip():
        raise SpaceError(_("Indiquez le motif de la suspension."))
    with transaction.atomic():
        space = _locked(space)
        if space.state not in (Space.State.ACTIVE, Space.State.CREATED):
            raise SpaceError(_("Seul un espace créé ou activé peut être suspendu."))
        _move(
            space,
            Space.State.SUSPENDED,
            by=by,
            action=SpaceAction.SPACE_SUSPENDED,
            detail={"reason": reason[:200]},
        )
        notify_space(space=space, template="space_suspended")
    return space


def lift_suspension(*, space: Space, by: Actor, reason: str = "") -> Space:
    with transaction.atomic():
        space = _locked(space)
        if space.state != Space.State.SUSPENDED:
            raise SpaceError(_("Cet espace n'est pas suspendu."))
        target = Space.State.ACTIVE if space.holder.user_id else Space.State.CREATED
        _move(
            space, target, by=by, action=SpaceAction.SPACE_SUSPENSION_LIFTED, detail=_reason(reason)
        )
        notify_space(space=space, template="space_reactivated", link=f"/espace/{space.public_id}/")
    return space


# --- Beat sweeps -------------------------------------------------------------------------


def _each(queryset) -> Iterator[Space]:
    for pk in list(queryset.values_list("pk", flat=True)[:10000]):
        yield Space.objects.get(pk=pk)


def close_unchallenged_suspensions(*, now: datetime | None = None) -> int:
    now = now or timezone.now()
    due = Space.objects.filter(
        state=Space.State.SUSPENDED, state_changed_at__lte=now - Space.SUSPENSION_WINDOW
    )
    count = 0
    for space in _each(due):
        try:
            close(
                space=space,
                by=Actor.system(),
                reason="suspension sans contestation",
                channel="system",
            )
            count += 1
        except SpaceError:
            continue
    return count


def hand_over_adults(*, today: date | None = None) -> int:
    """At 18, a minor's space becomes theirs: representatives lose access, a code is sent."""
    today = today or timezone.localdate()
    adult_born_before = _add_years(today, -18)
    due = Space.objects.filter(
        holder__birth_date__lte=adult_born_before,
        handed_over_at__isnull=True,
        representatives__isnull=False,
    ).filter(Q(representatives__until__isnull=True) | Q(representatives__until__gt=timezone.now()))
    count = 0
    for space in _each(due.distinct()):
        with transaction.atomic():
            space = _locked(space)
            now = timezone.now()
            space.representatives.filter(Q(until__isnull=True) | Q(until__gt=now)).update(until=now)
            space.handed_over_at = now
            space.save(update_fields=["handed_over_at"])
            trace(
                actor=Actor.system(),
                action=SpaceAction.SPACE_HANDED_OVER,
                space=space,
                target=space,
            )
            if space.holder.user_id is None:
                from espace_sante.tasks import request_code

                request_code(space=space, kind="handover")
            else:
                notify_space(space=space, template="space_handed_over")
        count += 1
    return count


def destroy_due(*, today: date | None = None, now: datetime | None = None) -> int:
    """Destroy archives past their retention and deletions whose date has come."""
    today = today or timezone.localdate()
    now = now or timezone.now()
    due = Space.objects.filter(state=Space.State.CLOSED).filter(
        Q(retention_until__lt=today) | Q(deletion_due_at__lte=now)
    )
    count = 0
    for space in _each(due):
        destroy(space=space, by=Actor.system())
        count += 1
    return count


# --- Helpers -----------------------------------------------------------------------------


def _locked(space: Space) -> Space:
    return Space.objects.select_for_update().select_related("holder").get(pk=space.pk)


def _move(
    space: Space,
    state: str,
    *,
    by: Actor,
    action: str,
    extra_fields: list[str] | None = None,
    detail: dict | None = None,
) -> None:
    previous = space.move_to(state)
    space.save(update_fields=["state", "state_changed_at", *(extra_fields or [])])
    trace(
        actor=by,
        action=action,
        space=space,
        target=space,
        detail={"from": previous, "to": state, **(detail or {})},
    )
