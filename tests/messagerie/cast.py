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


def imported_conversation(space, folder, *, subject, sender="Dr Anne Leroy", data=PDF):
    """A conversation taken back by `import_dmp` from a hand-made archive in `folder`:
    one message from `sender` (a name) to the patient, with a PDF."""
    import base64
    import hashlib
    import json
    import uuid

    from dossier import fhir
    from dossier.importer import import_archive
    from messagerie.models import Conversation

    patient = f"urn:uuid:{uuid.uuid4()}"
    message = str(uuid.uuid4())
    (folder / "resultat.pdf").write_bytes(data)
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {
                "fullUrl": patient,
                "resource": {
                    "resourceType": "Patient",
                    "identifier": [{"system": fhir.INS_NIR_SYSTEM, "value": space.holder.nir}],
                },
            },
            {
                "fullUrl": f"urn:uuid:{message}",
                "resource": {
                    "resourceType": "Communication",
                    "id": message,
                    "status": "completed",
                    "subject": {"reference": patient},
                    "topic": {"text": subject},
                    "sent": "2024-05-02T10:00:00+02:00",
                    "sender": {"display": sender},
                    "recipient": [{"reference": patient}],
                    "payload": [
                        {"contentString": "Bonjour, voici le résultat."},
                        {
                            "contentAttachment": {
                                "url": "resultat.pdf",
                                "title": "resultat.pdf",
                                "hash": base64.b64encode(hashlib.sha1(data).digest()).decode(),
                            }
                        },
                    ],
                },
            },
        ],
    }
    (folder / fhir.FILENAME).write_text(json.dumps(bundle), encoding="utf-8")
    report = import_archive(path=folder, by=Actor.system())
    assert report.ok, report.problems
    return Conversation.objects.get(space=space, source_identifier=f"urn:uuid:{message}")
