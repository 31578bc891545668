"""Demo content of the secure messaging: Camille's exchanges with her GP and her pharmacy.

Called by `manage.py demo` after the DMP's demo content, through the services (encrypted,
traced, notified). Loaded once: nothing is written when the demo's conversations exist.
"""

from __future__ import annotations

from weasyprint import HTML

from acces.models import Professional
from dossier.models import Category, Document
from espace_sante.models import Space
from espace_sante.tracing import Actor
from messagerie import services
from messagerie.models import Conversation, Mailbox

PHARMACY_ADDRESS = "pharmacie.petit@pharmacien.mssante.fr"
RESULT_FILENAME = "bilan-sanguin.pdf"


def _actor(user) -> Actor:
    return Actor(user=user, role=user.kind, ip="192.0.2.10")


def _result_pdf() -> bytes:
    html = (
        "<html lang='fr'><body style='font-family: DejaVu Sans, sans-serif'>"
        "<h1>Bilan sanguin</h1><p>Hémoglobine : 13,4 g/dL (normale).</p>"
        "<p>Ferritine : 18 µg/L (basse).</p><p>TSH : 2,3 mUI/L (normale).</p>"
        "<p><em>Document de démonstration, fictif.</em></p></body></html>"
    )
    return HTML(string=html).write_pdf()


def pharmacy_mailbox(pharmacist: Professional) -> Mailbox:
    """The pharmacy's organisational mailbox, read by the pharmacist, accepting prescriptions."""
    mailbox, _created = Mailbox.objects.get_or_create(
        stored_address=PHARMACY_ADDRESS,
        defaults={
            "kind": Mailbox.Kind.ORGANISATIONAL,
            "name": f"Pharmacie {pharmacist.user.last_name}",
            "organisation_kind": Mailbox.OrganisationKind.PHARMACIE,
            "accepts_prescriptions": True,
        },
    )
    mailbox.members.add(pharmacist)
    return mailbox


def load(space: Space, pros: dict[str, Professional]) -> bool:
    """Camille's three conversations; False (nothing written) if they are already there."""
    gp, pharmacist = pros["generaliste"], pros["pharmacien"]
    pharmacy = pharmacy_mailbox(pharmacist)
    ours = [services.personal_mailbox(gp).pk, pharmacy.pk]
    if Conversation.objects.filter(space=space, members__mailbox__in=ours).exists():
        return False
    camille, doctor = _actor(space.holder.user), _actor(gp.user)

    # The pharmacy: Camille sends her prescription (MSSanté's one exception), Thomas answers.
    prescription = (
        Document.objects.filter(space=space, category=Category.PRESCRIPTIONS, is_current=True)
        .order_by("pk")
        .first()
    )
    if prescription is not None:
        to_pharmacy = services.send_prescription_to_pharmacy(
            by=camille,
            space=space,
            pharmacy=pharmacy,
            prescription=prescription,
            body="Bonjour, voici mon ordonnance de Lévothyroxine pour les trois mois à venir.",
        )
        services.mark_read(by=_actor(pharmacist.user), conversation=to_pharmacy, mailbox=pharmacy)
        services.reply(
            by=_actor(pharmacist.user),
            conversation=to_pharmacy,
            mailbox=pharmacy,
            body="Bonjour Madame Durand, votre traitement est prêt : vous pouvez passer le "
            "retirer à la pharmacie à partir de demain matin.",
        )

    # Ended by the GP: a renewal asked, answered, and the exchange closed.
    renewal = services.start_conversation(
        by=doctor,
        space=space,
        subject="Renouvellement de votre traitement",
        body="Bonjour, votre ordonnance de Lévothyroxine arrive à son terme. Souhaitez-vous "
        "que je la renouvelle à l'identique ?",
    )
    services.mark_read(by=camille, conversation=renewal)
    services.reply(
        by=camille,
        conversation=renewal,
        body="Bonjour Docteur, oui s'il vous plaît, je n'ai pas eu d'effet indésirable.",
    )
    services.mark_read(by=doctor, conversation=renewal)
    services.reply(
        by=doctor,
        conversation=renewal,
        reply_mode=services.ReplyMode.REPLY_BLOCKED,
        body="C'est fait : votre nouvelle ordonnance vous attend à l'accueil du cabinet.",
    )
    services.end_conversation(by=doctor, conversation=renewal)
    services.mark_read(by=camille, conversation=renewal)

    # The newest, unread: a result in PDF that Camille can add to her documents.
    services.start_conversation(
        by=doctor,
        space=space,
        subject="Résultats de votre bilan sanguin",
        body="Bonjour, vos résultats sont arrivés : ils sont normaux, sauf une ferritine un peu "
        "basse. Je vous propose d'en parler à votre prochaine consultation. Le compte rendu "
        "du laboratoire est joint à ce message.",
        attachments=[services.NewAttachment(name=RESULT_FILENAME, data=_result_pdf())],
    )
    return True
