"""Provisional codes: issued, checked (never stored in clear: kept as an HMAC), sent again."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from espace_sante.actions import SpaceAction
from espace_sante.identity import normalise_nir
from espace_sante.lifecycle._common import _reason
from espace_sante.models import ContactChange, ProvisionalCode, Space
from espace_sante.services import SpaceError
from espace_sante.tracing import Actor, trace

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud on the phone
CODE_LENGTH = 12

GENERIC_CODE_ERROR = gettext_noop(
    "Ces informations ne correspondent à aucun code provisoire valide. Vérifiez le numéro de "
    "sécurité sociale, le numéro de série de la carte Vitale et le code ; après 5 erreurs le "
    "code est bloqué et il faut en demander un nouveau."
)


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
