"""The parts of a space go through one registry: the full download, the space page's counts,
activation and destruction call every registered part, and each export hook receives the
requester's export decision from the policy."""

import io
import zipfile

import pytest
from django.urls import reverse
from django.utils import timezone

from acces.policy import Basis
from espace_sante import export, lifecycle, parts
from espace_sante.lifecycle import Claim
from espace_sante.models import Space
from espace_sante.tracing import Actor
from tests import factories
from tests.conftest import sign_in

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system()


class StandIn:
    """A part of a space as messaging will be one: it records what the core asks of it."""

    def __init__(self):
        self.decisions, self.destroyed, self.activated = [], [], []
        self.professional_content = False

    def export(self, space, decision):
        self.decisions.append(decision)
        yield "essai/messages.csv", f"messages de {space.public_id}".encode()
        yield "essai/pieces-jointes.txt", b"aucune"

    def counts(self, space, decision):
        return [("Messages", 7)]

    def destroy(self, space, *, keep_occupational):
        self.destroyed.append((space.pk, keep_occupational))

    def part(self):
        return parts.Part(
            name="essai",
            label="Messagerie d'essai",
            export=self.export,
            export_steps=lambda space, decision: 2,
            counts=self.counts,
            destroy=self.destroy,
            on_activation=lambda space: self.activated.append(space.pk),
            has_professional_content=lambda space: self.professional_content,
        )


@pytest.fixture
def stand_in(monkeypatch):
    """The stand-in registered after the real parts, for one test; the registry restored."""
    monkeypatch.setattr(parts, "_parts", dict(parts._parts))
    stand_in = StandIn()
    parts.register(stand_in.part())
    return stand_in


def test_the_dmp_the_trail_the_messages_and_the_agenda_are_registered_parts():
    names = [part.name for part in parts.parts()]
    assert names == [
        "trail",
        "documents",
        "profile",
        "messages",
        "appointments",
        "care_history",
        "prevention",
        "catalogue",
    ]
    documents = next(part for part in parts.parts() if part.name == "documents")
    assert documents.export and documents.destroy and documents.has_professional_content


def test_the_catalogue_is_one_part_that_labels_all_its_actions():
    from catalogue.actions import CatalogueAction
    from catalogue.connections.actions import ConnectionAction
    from catalogue.directory.actions import DirectoryAction
    from espace_sante import actions

    catalogue = next(part for part in parts.parts() if part.name == "catalogue")
    assert catalogue.export and catalogue.counts and catalogue.destroy
    for enum in (DirectoryAction, ConnectionAction, CatalogueAction):
        assert set(enum) <= set(catalogue.actions)
        for member in enum:
            assert actions.lookup(member.value) is member


def test_a_part_is_registered_once(stand_in):
    with pytest.raises(ValueError, match="essai"):
        parts.register(stand_in.part())


def test_the_full_download_holds_each_parts_files_under_the_export_decision(stand_in):
    space = factories.SpaceFactory()
    steps = []
    archive = zipfile.ZipFile(
        io.BytesIO(
            export.build_archive(
                space, progress=lambda done, total: steps.append(total), requester=space.holder.user
            )
        )
    )
    assert archive.read("essai/messages.csv") == f"messages de {space.public_id}".encode()
    assert archive.read("essai/pieces-jointes.txt") == b"aucune"
    assert "historique.csv" in archive.namelist()  # the trail, itself a part
    # The decision is the policy's, worked out once for the whole archive.
    (decision,) = stand_in.decisions
    assert decision.allowed and decision.basis == Basis.HOLDER
    # Its two files count as two steps of the progress bar.
    assert steps[-1] == len(steps) == len(archive.namelist())


def test_a_minors_archive_is_built_under_the_representatives_decision(stand_in):
    representative = factories.LegalRepresentativeFactory()
    export.build_archive(representative.space, requester=representative.user)
    (decision,) = stand_in.decisions
    assert decision.basis == Basis.LEGAL_REPRESENTATIVE


def test_no_archive_for_a_requester_the_policy_refuses(stand_in):
    space = factories.SpaceFactory()
    stranger = factories.SpaceFactory().holder.user
    with pytest.raises(export.ExportRefused):
        export.build_archive(space, requester=stranger)
    assert stand_in.decisions == []


def test_the_space_page_shows_each_parts_counts(client, stand_in):
    space = factories.SpaceFactory()
    sign_in(client, space.holder.user)
    page = client.get(reverse("espace_sante:space", args=[space.public_id])).content.decode()
    assert "Messages : 7" in page


def test_the_space_page_counts_the_documents_its_reader_may_see(client):
    space = factories.SpaceFactory()
    factories.make_document(space)
    factories.make_document(space, title="Compte rendu")
    sign_in(client, space.holder.user)
    page = client.get(reverse("espace_sante:space", args=[space.public_id])).content.decode()
    assert "Documents : 2" in page


def test_the_documents_count_hides_what_the_decision_hides():
    from acces.policy import Decision
    from dossier.parts import DOCUMENTS

    space = factories.SpaceFactory()
    factories.make_document(space)
    factories.make_document(space, title="Hors de portée", invisible_to_representatives=True)
    holder = Decision(True, Basis.HOLDER)
    representative = Decision(True, Basis.LEGAL_REPRESENTATIVE)
    assert list(DOCUMENTS.counts(space, holder)) == [("Documents", 2)]
    assert list(DOCUMENTS.counts(space, representative)) == [("Documents", 1)]


def test_the_space_page_counts_in_constant_queries(client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    space = factories.SpaceFactory()
    factories.make_document(space)
    sign_in(client, space.holder.user)
    url = reverse("espace_sante:space", args=[space.public_id])
    with CaptureQueriesContext(connection) as one:
        client.get(url)
    for number in range(20):
        factories.make_document(space, title=f"Document {number}")
    with CaptureQueriesContext(connection) as many:
        page = client.get(url).content.decode()
    assert "Documents : 21" in page
    assert len(many) == len(one)


def test_definitive_deletion_destroys_every_part(stand_in):
    space = lifecycle.request_deletion(space=factories.SpaceFactory(), by=SYSTEM)
    lifecycle.destroy(space=space, by=SYSTEM)
    assert stand_in.destroyed == [(space.pk, False)]
    assert Space.objects.get(pk=space.pk).state == Space.State.DESTROYED


def test_activation_runs_every_parts_hook(stand_in):
    space = factories.SpaceFactory(
        state=Space.State.ANNOUNCED,
        holder__user=None,
        opposition_deadline=timezone.now() + Space.OPPOSITION_WINDOW,
    )
    code = lifecycle.issue_code(space=space, channel="email", by=SYSTEM)
    holder = space.holder
    lifecycle.activate(
        claim=Claim(nir=holder.nir, carte_vitale_serial=holder.carte_vitale_serial, code=code),
        email=holder.email,
        password="Un-mot-de-passe-solide-2026",
        by=SYSTEM,
    )
    assert stand_in.activated == [space.pk]


def test_professional_content_is_asked_of_every_part(stand_in):
    space = factories.SpaceFactory()
    assert not lifecycle.has_professional_content(space)
    stand_in.professional_content = True
    assert lifecycle.has_professional_content(space)
