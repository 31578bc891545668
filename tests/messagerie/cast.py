"""The people of the messaging tests: a patient, her GP, others, and how they write."""

from datetime import date, timedelta

from django.utils import timezone

from acces.models import Block, CareRelation, EmergencyAccess
from espace_sante.tracing import Actor
from messagerie import services
from messagerie.models import Mailbox
from tests import factories

PDF = factories.PDF_BYTES
TIFF = b"II*\x00" + b"\x08\x00\x00\x00" + b"\x00" * 64


def actor(who) -> Actor:
    """The actor for a user, or for a professional (their account)."""
    user = getattr(who, "user", who) if not hasattr(who, "kind") else who
    return Actor(user=user, role=user.kind)


def pro_with(space, basis=CareRelation.Basis.ATTENDING, **kwargs):
    professional = factories.ProfessionalFactory(**kwargs)
    if basis == "emergency":
        EmergencyAccess.objects.create(
            space=space,
            professional=professional,
            mode=EmergencyAccess.Mode.BREAK_GLASS,
            reason="Malaise",
            expires_at=timezone.now() + timedelta(hours=4),
        )
    elif basis:
        factories.CareRelationFactory(space=space, professional=professional, basis=basis)
    return professional


def block(space, professional):
    return Block.objects.create(space=space, professional=professional)


def start(professional, space, subject="Vos résultats", body="Bonjour, voici vos résultats.", **kw):
    return services.start_conversation(
        by=actor(professional.user), space=space, subject=subject, body=body, **kw
    )


def pdf(name="resultats.pdf", data=PDF):
    return services.NewAttachment(name=name, data=data)


def minor_space_with_representative():
    """A teenager's space: she has an account, and a parent represents her."""
    space = factories.SpaceFactory(holder__birth_date=date(2011, 3, 1))
    representative = factories.LegalRepresentativeFactory(space=space)
    return space, representative.user


def pharmacy(*members, accepts=True, address="pharmacie.port@pharmacien.mssante.fr"):
    mailbox = Mailbox.objects.create(
        kind=Mailbox.Kind.ORGANISATIONAL,
        name="Pharmacie du Port",
        organisation_kind=Mailbox.OrganisationKind.PHARMACIE,
        accepts_prescriptions=accepts,
        stored_address=address,
    )
    mailbox.members.add(*members)
    return mailbox
