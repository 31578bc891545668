"""Appointments: the patient (or a minor's representative) adds, changes, cancels; a
professional with a basis adds one and the patient is told; the day-before reminder; the
details encrypted at rest; the part registered with the space."""

from datetime import datetime, time, timedelta

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.utils import timezone

from acces.models import AuditEvent, CareRelation
from agenda.appointments import parts as appointment_parts
from agenda.appointments import sealing, services
from agenda.appointments.sealing import Details
from agenda.appointments.services import AgendaError, AppointmentData
from agenda.models import Appointment
from espace_sante import parts
from espace_sante.models import DataKey, Notification
from espace_sante.tracing import Actor
from tests import factories
from tests.conftest import sign_in
from tests.mailbox import assert_email_left

pytestmark = pytest.mark.django_db

REASON = "Suivi de la sclérose en plaques"
SPECIALTY = "Neurologie"


def _at(days=3, hour=10, minute=0):
    day = timezone.localdate() + timedelta(days=days)
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


def _patient(space):
    return Actor(user=space.holder.user, role="patient")


def _add(space, *, days=3, hour=10, minute=0, **details):
    details = {"name": "Dr Claire Morel", "specialty": SPECIALTY, "reason": REASON} | details
    return services.add_appointment(
        space=space,
        by=_patient(space),
        data=AppointmentData(starts_at=_at(days, hour, minute), details=Details(**details)),
    )


def _client(user):
    return sign_in(Client(), user)


def _url(space, suffix=""):
    return f"/espace/{space.public_id}/agenda/{suffix}"


# --- Services ------------------------------------------------------------------------------------


def test_details_are_encrypted_at_rest_and_read_back():
    space = factories.SpaceFactory()
    appointment = _add(space, place="Hôpital Laennec")
    raw = bytes(Appointment.objects.get(pk=appointment.pk).details_ciphertext)
    assert REASON.encode() not in raw and SPECIALTY.encode() not in raw
    assert b"Laennec" not in raw
    fresh = Appointment.objects.select_related("data_key").get(pk=appointment.pk)
    assert sealing.details(fresh).reason == REASON
    assert sealing.details(fresh).place == "Hôpital Laennec"
    assert REASON not in str(fresh)


def test_adding_is_traced_without_content():
    space = factories.SpaceFactory()
    appointment = _add(space)
    event = AuditEvent.objects.get(space=space, action="appointment_added")
    assert event.target_id == str(appointment.public_id)
    assert event.basis == "holder"
    assert REASON not in str(event.detail)


def test_a_stranger_cannot_add_to_someone_elses_agenda():
    space, other = factories.SpaceFactory(), factories.SpaceFactory()
    with pytest.raises(AgendaError):
        services.add_appointment(
            space=space, by=_patient(other), data=AppointmentData(starts_at=_at())
        )
    assert not Appointment.objects.exists()


def test_a_free_appointment_needs_a_name_and_a_directory_one_a_professional():
    space = factories.SpaceFactory()
    with pytest.raises(AgendaError, match="nom"):
        services.add_appointment(space=space, by=_patient(space), data=AppointmentData(_at()))
    with pytest.raises(AgendaError, match="annuaire"):
        services.add_appointment(
            space=space, by=_patient(space), data=AppointmentData(_at(), with_kind="directory")
        )
    assert not Appointment.objects.exists()


def test_cancelled_appointment_cannot_be_changed():
    space = factories.SpaceFactory()
    appointment = _add(space)
    services.cancel_appointment(appointment=appointment, by=_patient(space))
    appointment.refresh_from_db()
    assert appointment.status == "cancelled" and appointment.cancelled_at
    with pytest.raises(AgendaError):
        services.change_appointment(
            appointment=appointment,
            by=_patient(space),
            data=AppointmentData(_at(), details=Details(name="X")),
        )


def test_a_representative_manages_the_minors_agenda():
    representative = factories.LegalRepresentativeFactory()
    space = representative.space
    appointment = services.add_appointment(
        space=space,
        by=Actor(representative.user, "patient"),
        data=AppointmentData(_at(), details=Details(name="Pédiatre")),
    )
    assert appointment.author_kind == "patient"
    assert appointment.created_by == representative.user
    event = AuditEvent.objects.get(space=space, action="appointment_added")
    assert event.basis == "legal_representative"


# --- Patient pages -------------------------------------------------------------------------------


def test_patient_adds_an_appointment_through_the_form():
    space = factories.SpaceFactory()
    client = _client(space.holder.user)
    day = timezone.localdate() + timedelta(days=5)
    response = client.post(
        _url(space, "rendez-vous/nouveau/"),
        {
            "with_kind": "establishment",
            "name": "CHU de Nantes",
            "day": day.isoformat(),
            "time": "09:15",
            "duration_minutes": "45",
            "specialty": "Radiologie",
            "reason": "IRM",
        },
        follow=True,
    )
    page = response.content.decode()
    assert "Le rendez-vous est ajouté à votre agenda." in page
    assert "CHU de Nantes" in page and "IRM" in page
    appointment = Appointment.objects.get(space=space)
    assert timezone.localtime(appointment.starts_at).time() == time(9, 15)
    assert appointment.duration_minutes == 45
    assert appointment.with_kind == "establishment"


def test_the_form_refuses_bad_input_in_french_and_keeps_what_was_typed():
    space = factories.SpaceFactory()
    client = _client(space.holder.user)
    response = client.post(
        _url(space, "rendez-vous/nouveau/"),
        {"with_kind": "directory", "rpps": "123", "day": "", "time": "25:00", "reason": "Vaccin"},
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "Le numéro RPPS compte exactement 11 chiffres." in page
    assert "Ce champ est obligatoire." in page
    assert 'value="Vaccin"' in page
    assert not Appointment.objects.exists()


def test_patient_picks_a_professional_of_the_directory_by_rpps():
    space = factories.SpaceFactory()
    doctor = factories.ProfessionalFactory(user__last_name="Lefebvre")
    client = _client(space.holder.user)
    response = client.post(
        _url(space, "rendez-vous/nouveau/"),
        {
            "with_kind": "directory",
            "rpps": doctor.rpps,
            "day": (timezone.localdate() + timedelta(days=2)).isoformat(),
            "time": "11:00",
            "duration_minutes": "30",
        },
        follow=True,
    )
    assert "Lefebvre" in response.content.decode()
    assert Appointment.objects.get(space=space).professional == doctor


def test_edit_then_cancel_with_confirmation():
    space = factories.SpaceFactory()
    appointment = _add(space)
    client = _client(space.holder.user)
    base = _url(space, f"rendez-vous/{appointment.public_id}/")
    response = client.post(
        base + "modifier/",
        {
            "with_kind": "practitioner",
            "name": "Dr Claire Morel",
            "day": (timezone.localdate() + timedelta(days=4)).isoformat(),
            "time": "15:30",
            "duration_minutes": "20",
            "status": "planned",
            "reason": "Contrôle",
        },
        follow=True,
    )
    assert "Le rendez-vous est modifié." in response.content.decode()
    appointment.refresh_from_db()
    assert timezone.localtime(appointment.starts_at).time() == time(15, 30)
    # Without ticking the box, nothing is cancelled.
    page = client.post(base + "annuler/", {}).content.decode()
    assert "Cochez la case pour confirmer." in page
    appointment.refresh_from_db()
    assert appointment.status == "planned"
    response = client.post(base + "annuler/", {"confirm": "on"}, follow=True)
    assert "Le rendez-vous est annulé." in response.content.decode()
    appointment.refresh_from_db()
    assert appointment.status == "cancelled"
    assert AuditEvent.objects.filter(space=space, action="appointment_cancelled").count() == 1


def test_views_day_week_month_and_list_show_the_appointment():
    space = factories.SpaceFactory()
    appointment = _add(space, days=1, hour=10, name="Dr Jeanne Colin")
    client = _client(space.holder.user)
    day = timezone.localtime(appointment.starts_at).date().isoformat()
    for view in ("jour", "semaine", "mois"):
        page = client.get(_url(space, f"calendrier/?vue={view}&date={day}")).content.decode()
        assert f"/rendez-vous/{appointment.public_id}/" in page, view
    week = client.get(_url(space, f"calendrier/?vue=semaine&date={day}")).content.decode()
    assert "Dr Jeanne Colin" in week and "Semaine du" in week
    assert "Dr Jeanne Colin" in client.get(_url(space, "rendez-vous/")).content.decode()
    past = client.get(_url(space, "rendez-vous/?quand=passes")).content.decode()
    assert "Dr Jeanne Colin" not in past and "Aucun rendez-vous passé." in past
    # A bad date or view falls back to this week, never a 500.
    assert client.get(_url(space, "calendrier/?vue=x&date=2026-99-99")).status_code == 200


def test_the_list_is_paginated():
    space = factories.SpaceFactory()
    for n in range(25):
        _add(space, days=n + 1)
    client = _client(space.holder.user)
    first = client.get(_url(space, "rendez-vous/")).content.decode()
    assert first.count('class="fr-card fr-card--sm') == 20
    assert "page 1 sur 2" in first
    second = client.get(_url(space, "rendez-vous/?page=2")).content.decode()
    assert second.count('class="fr-card fr-card--sm') == 5


def test_the_home_page_shows_coming_appointments_and_the_feed_section():
    space = factories.SpaceFactory()
    _add(space, days=2, name="Dr Agathe Roy")
    client = _client(space.holder.user)
    page = client.get(_url(space)).content.decode()
    assert "Mon agenda santé" in page
    assert "Dr Agathe Roy" in page
    assert "Créer l'adresse de mon flux" in page
    assert "Agenda" in page  # the navigation's entry


@time_machine.travel("2026-12-02 09:00 +0100", tick=False)
def test_an_overdue_reminder_on_the_home_page_says_when_it_was_expected():
    """A woman born in 1980 with no HPV test on record is late for it: the home page says
    by when it was expected, not "jusqu'au" a date long past."""
    space = factories.SpaceFactory()
    page = _client(space.holder.user).get(_url(space)).content.decode()
    assert "Dépistage du cancer du col de l" in page
    assert "En retard" in page
    assert "attendu avant le" in page


def test_the_agenda_navigation_entry_leads_to_the_agenda():
    space = factories.SpaceFactory()
    page = _client(space.holder.user).get(f"/espace/{space.public_id}/").content.decode()
    assert f'href="/espace/{space.public_id}/agenda/"' in page


def test_another_spaces_appointment_is_a_traced_404():
    space, other = factories.SpaceFactory(), factories.SpaceFactory()
    theirs = _add(other)
    client = _client(space.holder.user)
    response = client.get(_url(space, f"rendez-vous/{theirs.public_id}/"))
    assert response.status_code == 404
    assert REASON not in response.content.decode()
    assert AuditEvent.objects.filter(
        space=space, outcome="denied", detail__reason="appointment_not_found"
    ).exists()


def test_one_appointment_downloads_as_ics_without_details_by_default():
    import icalendar

    space = factories.SpaceFactory()
    appointment = _add(space)
    client = _client(space.holder.user)
    url = _url(space, f"rendez-vous/{appointment.public_id}/rendez-vous.ics")
    response = client.get(url)
    assert response["Content-Type"].startswith("text/calendar")
    body = response.content.decode()
    assert REASON not in body and SPECIALTY not in body
    (event,) = icalendar.Calendar.from_ical(response.content).walk("VEVENT")
    assert str(event["SUMMARY"]) == "Rendez-vous santé"
    detailed = client.get(url + "?details=1").content.decode()
    assert REASON in detailed.replace("\r\n ", "")
    assert AuditEvent.objects.filter(space=space, action="appointment_downloaded").count() == 2


def test_the_pages_stay_in_constant_queries(django_assert_max_num_queries):
    """1 or 120 appointments: the same number of queries on each agenda page."""
    space = factories.SpaceFactory()
    client = _client(space.holder.user)
    urls = [
        _url(space),
        _url(space, "rendez-vous/"),
        _url(space, "rendez-vous/?quand=tous"),
        _url(space, "calendrier/?vue=mois"),
        _url(space, "calendrier/?vue=semaine"),
    ]
    _add(space, days=1)

    def counts():
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        result = []
        for url in urls:
            with CaptureQueriesContext(connection) as ctx:
                assert client.get(url).status_code == 200
            result.append(len(ctx.captured_queries))
        return result

    small = counts()
    many = [
        Appointment(
            space=space,
            starts_at=_at(days=n % 28, hour=8 + n % 10),
            author_kind="patient",
        )
        for n in range(499)
    ]
    Appointment.objects.bulk_create(many)
    assert counts() == small


# --- The pro portal ------------------------------------------------------------------------------


def _pro_of(space, basis=CareRelation.Basis.AUTHORISED, **kwargs):
    professional = factories.ProfessionalFactory(**kwargs)
    factories.TOTPDeviceFactory(user=professional.user)
    factories.CareRelationFactory(space=space, professional=professional, basis=basis)
    return professional


def test_a_professional_adds_an_appointment_and_the_patient_is_told_without_content(
    django_capture_on_commit_callbacks,
):
    space = factories.SpaceFactory()
    doctor = _pro_of(space, user__last_name="Garnier", specialty="psychiatrie")
    client = _client(doctor.user)
    patient_page = client.get(f"/pro/patients/{space.public_id}/").content.decode()
    assert f"/pro/patients/{space.public_id}/agenda/rendez-vous/nouveau/" in patient_page
    day = timezone.localdate() + timedelta(days=3)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/pro/patients/{space.public_id}/agenda/rendez-vous/nouveau/",
            {
                "with_kind": "directory",
                "rpps": doctor.rpps,
                "day": day.isoformat(),
                "time": "10:00",
                "duration_minutes": "30",
                "specialty": "Psychiatrie",
                "reason": REASON,
            },
        )
    assert response.status_code == 302
    appointment = Appointment.objects.get(space=space)
    assert appointment.author_kind == "professional"
    assert appointment.professional == doctor
    assert appointment.created_by == doctor.user
    notification = Notification.objects.get(space=space, kind="appointment_added")
    assert notification.link.endswith(f"/rendez-vous/{appointment.public_id}/")
    (email,) = assert_email_left(
        space.holder.user.email,
        subject="rendez-vous",
        without=(REASON, "Psychiatrie", "Garnier", doctor.get_specialty_display()),
    )
    assert "10 h" in email.body
    # The patient sees it, marked as added by a professional.
    page = _client(space.holder.user).get(_url(space, "rendez-vous/")).content.decode()
    assert "Ajouté par un professionnel" in page


def test_a_professional_without_basis_or_occupational_cannot_add():
    space = factories.SpaceFactory()
    outsider = factories.ProfessionalFactory()
    factories.TOTPDeviceFactory(user=outsider.user)
    occupational = _pro_of(
        space, basis=CareRelation.Basis.OCCUPATIONAL, specialty="medecine_travail"
    )
    for professional in (outsider, occupational):
        client = _client(professional.user)
        url = f"/pro/patients/{space.public_id}/agenda/rendez-vous/nouveau/"
        assert client.get(url).status_code == 403
        response = client.post(
            url, {"with_kind": "practitioner", "name": "X", "day": "2030-01-01", "time": "10:00"}
        )
        assert response.status_code == 403
    assert not Appointment.objects.exists()


# --- The day-before reminder ---------------------------------------------------------------------


def test_the_reminder_leaves_once_the_day_before_without_content(
    django_capture_on_commit_callbacks,
):
    space = factories.SpaceFactory()
    with time_machine.travel(timezone.make_aware(datetime(2026, 3, 9, 8, 0)), tick=False):
        tomorrow = _add(space, days=1, hour=10)
        _add(space, days=2, hour=10)  # the day after: not yet
        cancelled = _add(space, days=1, hour=15)
        services.cancel_appointment(appointment=cancelled, by=_patient(space))
        from agenda.appointments.tasks import send_appointment_reminders

        with django_capture_on_commit_callbacks(execute=True):
            assert send_appointment_reminders.delay().get() == 1
        with django_capture_on_commit_callbacks(execute=True):
            assert services.send_reminders() == 0  # idempotent: a second run sends nothing
    (email,) = assert_email_left(
        space.holder.user.email,
        subject="Rappel",
        without=(REASON, SPECIALTY, "Morel"),
    )
    assert email.subject.endswith("Rappel : rendez-vous santé demain à 10 h")
    tomorrow.refresh_from_db()
    assert tomorrow.reminder_sent_at is not None
    assert AuditEvent.objects.filter(space=space, action="appointment_reminded").count() == 1
    assert len(mail.outbox) == 1


def test_the_reminder_says_the_minutes_and_is_rearmed_when_moved():
    assert services.french_time(datetime(2026, 1, 1, 9, 5)) == "9 h 05"
    space = factories.SpaceFactory()
    appointment = _add(space, days=1)
    assert services.remind(appointment.pk)
    assert not services.remind(appointment.pk)
    services.change_appointment(
        appointment=appointment,
        by=_patient(space),
        data=AppointmentData(_at(days=6), details=Details(name="Dr Claire Morel")),
    )
    appointment.refresh_from_db()
    assert appointment.reminder_sent_at is None


def test_the_beat_schedules_the_reminders():
    from django.conf import settings

    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "agenda.appointments.tasks.send_appointment_reminders" in tasks


# --- The part ------------------------------------------------------------------------------------


def test_the_part_is_registered_with_its_actions():
    part = next(p for p in parts.parts() if p.name == "appointments")
    assert part is appointment_parts.APPOINTMENTS
    from espace_sante import actions

    assert actions.label("appointment_added") == "Ajout d'un rendez-vous"
    assert actions.label("calendar_feed_opened") == "Lecture du flux iCalendar par un agenda"


def test_the_part_exports_counts_and_shreds():
    import icalendar

    from acces.policy import Basis, Decision

    space = factories.SpaceFactory()
    appointment = _add(space, days=2)
    _add(space, days=-3)
    decision = Decision(True, Basis.HOLDER)
    files = dict(appointment_parts.export_appointments(space, decision))
    assert set(files) == {"agenda/rendez-vous.ics", "agenda/rendez-vous.csv"}
    assert REASON in files["agenda/rendez-vous.csv"].decode("utf-8-sig")
    assert len(icalendar.Calendar.from_ical(files["agenda/rendez-vous.ics"]).walk("VEVENT")) == 2
    assert appointment_parts.count_appointments(space, decision) == [("Rendez-vous à venir", 1)]
    key_pk = appointment.data_key_id
    services.destroy_appointments(space, keep_occupational=False)
    assert not Appointment.objects.filter(space=space).exists()
    assert DataKey.objects.get(pk=key_pk).wrapped is None


def test_the_add_page_searches_the_directory_and_prefills_the_rpps():
    space = factories.SpaceFactory()
    doctor = factories.ProfessionalFactory(user__last_name="Vasseur", practice_town="Angers")
    client = _client(space.holder.user)
    page = client.get(_url(space, "rendez-vous/nouveau/?query=vass")).content.decode()
    assert "Vasseur" in page and f"?rpps={doctor.rpps}" in page
    chosen = client.get(_url(space, f"rendez-vous/nouveau/?rpps={doctor.rpps}")).content.decode()
    assert f'value="{doctor.rpps}"' in chosen
    none = client.get(_url(space, "rendez-vous/nouveau/?query=zzzz")).content.decode()
    assert "Aucun professionnel de l'annuaire ne correspond" in none
