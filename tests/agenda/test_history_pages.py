"""The history of care pages: one timeline for the patient, the matrix for professionals."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from acces.models import AuditEvent, CareRelation
from agenda.models import Appointment, CareEvent
from dossier.models import Vaccination
from tests import factories
from tests.agenda.history_helpers import csv_text, make_events, run_import
from tests.conftest import sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def space():
    return factories.SpaceFactory()


def _url(space):
    return reverse("agenda:history", args=[space.public_id])


def _pro_url(space):
    return reverse("agenda_pro:history", args=[space.public_id])


def _pro(space, *, profession="medecin", specialty="medecine_generale", basis="authorised"):
    professional = factories.ProfessionalFactory(profession=profession, specialty=specialty)
    factories.TOTPDeviceFactory(user=professional.user)
    factories.CareRelationFactory(space=space, professional=professional, basis=basis)
    return professional


def _history(space, pharmacist_rpps):
    nir = space.holder.nir
    run_import(
        csv_text(
            f"{nir};2025-03-14;dispensation;3400930000001;Amoxicilline Mylan 1 g;"
            f"{pharmacist_rpps};;",
            f"{nir};2024-06-02;acte;DEQP003;Électrocardiogramme de repos;{pharmacist_rpps};;",
            f"{nir};2023-11-20;séjour;GHM05K10;Séjour en cardiologie;;440000289;CHU de Nantes",
        ),
        today=date(2026, 12, 1),
    )


def test_the_patient_sees_one_timeline_of_every_source_newest_first(client, space):
    doctor = _pro(space)
    _history(space, doctor.rpps)
    document = factories.make_document(space, professional=doctor, title="Bilan lipidique")
    document.act_date = date(2025, 1, 10)
    document.save(update_fields=["act_date"])
    Vaccination.objects.create(space=space, vaccine="Boostrixtetra", date=date(2024, 9, 1))
    done = Appointment.objects.create(
        space=space,
        starts_at=timezone.make_aware(timezone.datetime(2025, 5, 6, 10, 30)),
        status=Appointment.Status.DONE,
        professional=doctor,
        author_kind=Appointment.AuthorKind.PATIENT,
    )
    Appointment.objects.create(
        space=space,
        starts_at=timezone.now() + timedelta(days=3),
        author_kind=Appointment.AuthorKind.PATIENT,
    )
    Appointment.objects.create(
        space=space,
        starts_at=timezone.make_aware(timezone.datetime(2025, 4, 1, 9, 0)),
        status=Appointment.Status.CANCELLED,
        author_kind=Appointment.AuthorKind.PATIENT,
    )
    sign_in(client, space.holder.user)

    page = client.get(_url(space)).content.decode()

    order = [
        "Rendez-vous avec",  # 6 May 2025
        "Amoxicilline Mylan 1 g",  # 14 March 2025
        "Compte rendu d&#x27;examens de biologie médicale",  # the document's type, 10 Jan 2025
        "Boostrixtetra",  # 1 Sept 2024
        "Électrocardiogramme de repos",  # 2 June 2024
        "Séjour en cardiologie",  # 20 Nov 2023
    ]
    positions = [page.index(text) for text in order]
    assert positions == sorted(positions)
    assert "6 événements" in page  # neither the coming appointment nor the cancelled one
    assert "CHU de Nantes" in page
    assert reverse("dossier:detail", args=[space.public_id, document.public_id]) in page
    assert reverse("profil:profile", args=[space.public_id]) + "#vaccination" in page
    assert reverse("agenda:detail", args=[space.public_id, done.public_id]) in page


def test_the_timeline_filters_by_kind_and_year(client, space):
    doctor = _pro(space)
    _history(space, doctor.rpps)
    sign_in(client, space.holder.user)

    page = client.get(_url(space), {"kind": "dispensation"}).content.decode()
    assert "Amoxicilline" in page and "Électrocardiogramme" not in page
    page = client.get(_url(space), {"year": "2023"}).content.decode()
    assert "Séjour en cardiologie" in page and "Amoxicilline" not in page
    assert '<option value="2024"' in page  # the years that have something
    page = client.get(_url(space), {"year": "abc", "kind": "nimporte"}).content.decode()
    assert "Choisissez une année dans la liste." in page
    assert "Choisissez un type dans la liste." in page
    assert "3 événements" in page  # nothing applied


def test_the_timeline_is_paginated(client, space):
    make_events(space, 45)
    sign_in(client, space.holder.user)

    first = client.get(_url(space)).content.decode()
    third = client.get(_url(space), {"page": 3}).content.decode()

    assert "45 événements" in first
    assert first.count("portail-chronologie__entree") == 20
    assert third.count("portail-chronologie__entree") == 5
    assert "page 3 sur 3" in third


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


# Session, user, device, the space, the policy's checks, the trail, then the count, the page,
# the years and one read per source on the page: never one per event.
MOST_QUERIES = 24


def test_the_timeline_reads_in_constant_queries_at_1_and_500_events(client, space):
    make_events(space, 1)
    factories.make_document(space)
    # Newer than every event: one row of each source on the first page, whatever the size.
    Vaccination.objects.create(space=space, vaccine="ROR", date=date(2025, 6, 1))
    Appointment.objects.create(
        space=space,
        starts_at=timezone.now() - timedelta(days=30),
        author_kind=Appointment.AuthorKind.PATIENT,
    )
    sign_in(client, space.holder.user)
    client.get(_url(space))  # warm the caches (matrix, session)
    with_one = _queries(client, _url(space))
    make_events(space, 499)

    with_500 = _queries(client, _url(space))

    assert with_500 == with_one <= MOST_QUERIES


def test_opening_the_history_is_traced(client, space):
    sign_in(client, space.holder.user)
    client.get(_url(space))
    event = AuditEvent.objects.filter(space=space, action="view_agenda").latest("seq")
    assert event.outcome == "allowed" and event.basis == "holder"


def test_a_legal_representative_sees_the_minors_history(client):
    representative = factories.LegalRepresentativeFactory()
    minor = representative.space
    Vaccination.objects.create(space=minor, vaccine="Hexyon", date=date(2016, 4, 1))
    sign_in(client, representative.user)

    response = client.get(_url(minor))

    assert response.status_code == 200
    assert "Hexyon" in response.content.decode()


def test_another_patient_is_refused_and_traced(client, space):
    other = factories.SpaceFactory()
    make_events(space, 2, label="Secret")
    sign_in(client, other.holder.user)

    response = client.get(_url(space))

    assert response.status_code == 403
    assert "Secret" not in response.content.decode()
    assert AuditEvent.objects.filter(
        space=space, outcome="denied", actor=other.holder.user
    ).exists()


# --- The pro portal ------------------------------------------------------------------------


def test_a_pharmacist_sees_dispensations_but_not_acts_or_stays(client, space):
    pharmacist = _pro(space, profession="pharmacien", specialty="", basis="care_team")
    _history(space, pharmacist.rpps)
    sign_in(client, pharmacist.user)

    page = client.get(_pro_url(space)).content.decode()

    assert "Amoxicilline Mylan 1 g" in page
    assert "Électrocardiogramme" not in page
    assert "Séjour en cardiologie" not in page
    event = AuditEvent.objects.filter(space=space, action="view_care_history").latest("seq")
    assert event.outcome == "allowed" and event.actor == pharmacist.user


def test_a_doctor_sees_every_kind_and_the_documents_the_matrix_allows(client, space):
    doctor = _pro(space)
    _history(space, doctor.rpps)
    report = factories.make_document(
        space, professional=doctor, type_code="34112-3", title="Hospitalisation"
    )
    sign_in(client, doctor.user)

    page = client.get(_pro_url(space)).content.decode()

    for text in ("Amoxicilline", "Électrocardiogramme", "Séjour en cardiologie"):
        assert text in page
    assert reverse("pro_documents:detail", args=[space.public_id, report.public_id]) in page


def test_the_pro_timeline_hides_documents_the_matrix_keeps_from_the_profession(client, space):
    author = _pro(space)
    report = factories.make_document(
        space, professional=author, type_code="34112-3", title="Hospitalisation"
    )
    pharmacist = _pro(space, profession="pharmacien", specialty="", basis="care_team")
    sign_in(client, pharmacist.user)

    page = client.get(_pro_url(space)).content.decode()

    assert str(report.public_id) not in page
    assert "Compte rendu d&#x27;hospitalisation" not in page


def test_the_kinds_a_profession_sees_are_data(client, space):
    from agenda.models import CareEventAccessRule

    physio = _pro(space, profession="masseur_kinesitherapeute", specialty="")
    _history(space, physio.rpps)
    sign_in(client, physio.user)
    assert "Amoxicilline" not in client.get(_pro_url(space)).content.decode()

    CareEventAccessRule.objects.create(profession="masseur_kinesitherapeute", kind="dispensation")

    assert "Amoxicilline" in client.get(_pro_url(space)).content.decode()


def test_the_occupational_physician_is_refused_the_history_of_care(client, space):
    physician = _pro(
        space, specialty="medecine_travail", basis=CareRelation.Basis.OCCUPATIONAL.value
    )
    make_events(space, 1, label="Secret")
    sign_in(client, physician.user)

    response = client.get(_pro_url(space))

    assert response.status_code == 403
    assert AuditEvent.objects.filter(
        space=space, outcome="denied", action="view_care_history", actor=physician.user
    ).exists()


def test_a_professional_without_a_basis_is_refused(client, space, professional):
    make_events(space, 1, label="Secret")
    sign_in(client, professional.user)
    response = client.get(_pro_url(space))
    assert response.status_code == 403
    assert "Secret" not in response.content.decode()


def test_the_pro_patient_page_links_to_the_history_of_care(client, space):
    doctor = _pro(space)
    sign_in(client, doctor.user)
    page = client.get(reverse("pro:patient", args=[space.public_id])).content.decode()
    assert _pro_url(space) in page


def test_the_pro_timeline_reads_in_constant_queries_at_1_and_500_events(client, space):
    doctor = _pro(space)
    make_events(space, 1)
    factories.make_document(space, professional=doctor)
    sign_in(client, doctor.user)
    client.get(_pro_url(space))
    with_one = _queries(client, _pro_url(space))
    make_events(space, 499)

    with_500 = _queries(client, _pro_url(space))

    assert with_500 == with_one <= MOST_QUERIES


def test_an_event_made_without_details_shows_its_code(client, space):
    CareEvent.objects.create(space=space, date=date(2024, 1, 1), kind="act", code="YYYY010")
    sign_in(client, space.holder.user)
    assert "YYYY010" in client.get(_url(space)).content.decode()


def test_a_representative_does_not_see_a_document_hidden_from_representatives(client):
    representative = factories.LegalRepresentativeFactory()
    minor = representative.space
    doctor = _pro(minor)
    hidden = factories.make_document(
        minor, professional=doctor, title="Consultation confidentielle"
    )
    hidden.invisible_to_representatives = True
    hidden.save(update_fields=["invisible_to_representatives"])
    shown = factories.make_document(minor, professional=doctor, title="Vaccins à jour")
    sign_in(client, representative.user)

    page = client.get(_url(minor)).content.decode()

    assert "Vaccins à jour" in page
    assert str(hidden.public_id) not in page and "Consultation confidentielle" not in page
    assert str(shown.public_id) in page


def test_the_patient_reads_the_import_in_the_trail_of_their_space(client, space):
    doctor = _pro(space)
    _history(space, doctor.rpps)
    sign_in(client, space.holder.user)

    page = client.get(reverse("espace_sante:history", args=[space.public_id])).content.decode()

    assert (
        "Ajout d&#x27;événements à l&#x27;historique des soins par l&#x27;Assurance Maladie" in page
    )


def test_a_past_appointment_with_a_typed_name_says_who_it_was_with(client, space):
    from agenda.appointments import sealing

    appointment = Appointment(
        space=space,
        starts_at=timezone.make_aware(timezone.datetime(2025, 5, 6, 10, 30)),
        status=Appointment.Status.DONE,
        with_kind=Appointment.WithKind.PRACTITIONER,
        author_kind=Appointment.AuthorKind.PATIENT,
    )
    sealing.seal(appointment, sealing.Details(name="Dr Sophie Lemaire"))
    appointment.save()
    sign_in(client, space.holder.user)

    page = client.get(_url(space)).content.decode()

    assert "Rendez-vous avec Dr Sophie Lemaire" in page
