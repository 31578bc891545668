"""The history of care as a part of the space: in the full download, on the space page,
crypto-shredded at definitive deletion."""

from __future__ import annotations

import csv
import io
import zipfile

import pytest
from django.urls import reverse

from acces.policy import Basis, Decision
from agenda.history.parts import CARE_HISTORY, EXPORT_PATH
from agenda.models import CareEvent, CareHistoryKey
from espace_sante import crypto, export, lifecycle
from espace_sante.models import DataKey
from espace_sante.tracing import Actor
from tests import factories
from tests.agenda.history_helpers import make_events
from tests.conftest import sign_in

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system()


def _archive(space):
    data = export.build_archive(space, requester=space.holder.user)
    return zipfile.ZipFile(io.BytesIO(data))


def test_the_full_download_holds_the_history_as_csv():
    space = factories.SpaceFactory()
    make_events(space, 3, label="Doliprane 1000")
    archive = _archive(space)

    rows = list(
        csv.reader(io.StringIO(archive.read(EXPORT_PATH).decode("utf-8-sig")), delimiter=";")
    )

    assert rows[0][:4] == ["date", "nature", "code", "libelle"]
    assert len(rows) == 4
    assert {row[1] for row in rows[1:]} == {"Médicament délivré"}
    assert {row[3] for row in rows[1:]} == {
        "Doliprane 1000 0",
        "Doliprane 1000 1",
        "Doliprane 1000 2",
    }
    assert CARE_HISTORY.export_steps(space, Decision(True, Basis.HOLDER)) == 1


def test_no_file_for_an_empty_history():
    space = factories.SpaceFactory()
    assert EXPORT_PATH not in _archive(space).namelist()
    assert CARE_HISTORY.export_steps(space, Decision(True, Basis.HOLDER)) == 0


def test_the_space_page_counts_the_events():
    space = factories.SpaceFactory()
    make_events(space, 4)
    assert list(CARE_HISTORY.counts(space, Decision(True, Basis.HOLDER))) == [
        ("Événements de soins", 4)
    ]
    # A pharmacist counts the dispensations only, the occupational physician nothing.
    make_events(space, 2, kind=CareEvent.Kind.ACT)
    pharmacist = Decision(True, Basis.CARE_TEAM, professional_id=1, profession="pharmacien")
    assert list(CARE_HISTORY.counts(space, pharmacist)) == [("Événements de soins", 4)]
    occupational = Decision(True, Basis.OCCUPATIONAL, professional_id=2, profession="medecin")
    assert list(CARE_HISTORY.counts(space, occupational)) == [("Événements de soins", 0)]


def test_the_space_page_shows_the_count(client):
    space = factories.SpaceFactory()
    make_events(space, 2)
    sign_in(client, space.holder.user)
    page = client.get(reverse("espace_sante:space", args=[space.public_id])).content.decode()
    assert "Événements de soins : 2" in page


def test_definitive_deletion_crypto_shreds_the_history():
    space = factories.SpaceFactory()
    event = make_events(space, 2)[0]
    key = CareHistoryKey.objects.get(space=space)
    ciphertext = bytes(event.details_ciphertext)
    other = factories.SpaceFactory()
    make_events(other, 1)

    space = lifecycle.request_deletion(space=space, by=SYSTEM)
    lifecycle.destroy(space=space, by=SYSTEM)

    assert not CareEvent.objects.filter(space=space).exists()
    assert not CareHistoryKey.objects.filter(space=space).exists()
    data_key = DataKey.objects.get(pk=key.data_key_id)
    assert data_key.wrapped is None and data_key.destroyed_at is not None
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(ciphertext, data_key)
    assert CareEvent.objects.filter(space=other).count() == 1


def test_the_import_actions_have_french_labels():
    from espace_sante.actions import label

    assert label("care_history_imported").startswith("Ajout d'événements")
