"""Definitive deletion destroys the medical profile: every row of the space's profile goes,
in the lifecycle's transaction and in a constant number of queries."""

from datetime import date
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from acces.models import AuditEvent
from dossier import profile_services
from dossier.models import (
    Allergy,
    Document,
    EmergencyContact,
    HistoryEntry,
    Measurement,
    MedicalProfile,
    ProfileChange,
    Treatment,
    Vaccination,
)
from espace_sante import lifecycle, parts
from espace_sante.models import Space
from espace_sante.tracing import Actor
from tests import factories
from tests.dossier.helpers import fill_profile, holder_actor

pytestmark = pytest.mark.django_db

SYSTEM = Actor.system()


def _profile_models():
    """Every model of the DMP tied to a space, except the documents (their own part)."""
    return {
        model
        for model in apps.get_app_config("dossier").get_models()
        if model is not Document and any(f.name == "space" for f in model._meta.fields)
    }


def _rows(space):
    return {model: model.objects.filter(space=space).count() for model in _profile_models()}


def _full_profile(space):
    """A row of every kind: entries, every single-valued part, and their history."""
    fill_profile(space)
    by = holder_actor(space)
    profile_services.add_entry(
        space=space,
        part="emergency_contact",
        values={"name": "Marie Durand", "phone": "0601020304", "relation": "Sœur"},
        by=by,
    )
    for part, values in {
        "blood_group": {"blood_group": "O-"},
        "disabilities": {"disabilities": "Malentendant"},
        "trusted_person": {"trusted_person_name": "Paul Durand", "trusted_person_phone": "0605"},
        "advance_directives": {"advance_directives": "Pas d'acharnement thérapeutique."},
        "organ_donation": {"donation_choice": "accepte", "donation_date": date(2020, 1, 1)},
    }.items():
        profile_services.update_profile(space=space, part=part, values=values, by=by)
    return space


def _bulk_profile(space, n):
    """`n` rows of each repeating kind and of history, written directly (for query counts)."""
    today = timezone.localdate()
    MedicalProfile.objects.create(space=space, blood_group="A+")
    Allergy.objects.bulk_create(Allergy(space=space, substance=f"S{i}") for i in range(n))
    HistoryEntry.objects.bulk_create(
        HistoryEntry(space=space, kind="personal", condition=f"C{i}") for i in range(n)
    )
    Treatment.objects.bulk_create(Treatment(space=space, medicine=f"M{i}") for i in range(n))
    Vaccination.objects.bulk_create(
        Vaccination(space=space, vaccine=f"V{i}", date=today) for i in range(n)
    )
    Measurement.objects.bulk_create(
        Measurement(space=space, kind="weight", value=Decimal(70), measured_on=today)
        for i in range(n)
    )
    EmergencyContact.objects.bulk_create(
        EmergencyContact(space=space, name=f"N{i}", phone="0600000000") for i in range(n)
    )
    ProfileChange.objects.bulk_create(
        ProfileChange(space=space, part="allergy", action="added", by_label="Test")
        for i in range(n)
    )
    return space


def test_the_profile_part_destroys_every_model_of_the_profile():
    assert set(profile_services.PROFILE_MODELS) == _profile_models()
    profile = next(part for part in parts.parts() if part.name == "profile")
    assert profile.destroy is profile_services.destroy_profile


def test_definitive_deletion_leaves_no_row_of_the_profile():
    space = _full_profile(factories.SpaceFactory())
    other = _full_profile(factories.SpaceFactory())
    before_other = _rows(other)
    assert all(_rows(space).values()), _rows(space)  # a row of every kind
    space = lifecycle.request_deletion(space=space, by=SYSTEM)
    lifecycle.destroy(space=space, by=SYSTEM)
    assert Space.objects.get(pk=space.pk).state == Space.State.DESTROYED
    assert not any(_rows(space).values()), _rows(space)
    assert _rows(other) == before_other
    # The trail is the evidence of what happened: it stays.
    assert AuditEvent.objects.filter(space=space, action__startswith="profile_").exists()
    assert AuditEvent.objects.filter(space=space, action="space_destroyed").exists()


def test_the_profile_goes_even_when_the_occupational_part_is_kept():
    space = _full_profile(factories.SpaceFactory())
    space = lifecycle.close(space=space, by=SYSTEM)
    far = timezone.localdate().replace(year=timezone.localdate().year + 40)
    Space.objects.filter(pk=space.pk).update(occupational_retention_until=far)
    lifecycle.destroy(space=space, by=SYSTEM)
    space = Space.objects.get(pk=space.pk)
    assert space.state == Space.State.CLOSED and space.retention_until == far
    assert not any(_rows(space).values()), _rows(space)


def test_a_failed_destruction_keeps_the_profile(monkeypatch):
    """The profile is deleted in the lifecycle's transaction: a later failure undoes it."""

    def fail(space, *, keep_occupational):
        raise RuntimeError("panne")

    monkeypatch.setitem(parts._parts, "panne", parts.Part(name="panne", label="P", destroy=fail))
    space = _full_profile(factories.SpaceFactory())
    before = _rows(space)
    space = lifecycle.request_deletion(space=space, by=SYSTEM)
    with pytest.raises(RuntimeError):
        lifecycle.destroy(space=space, by=SYSTEM)
    assert _rows(space) == before
    assert Space.objects.get(pk=space.pk).state == Space.State.CLOSED


def _destroy_queries(space):
    space = lifecycle.request_deletion(space=space, by=SYSTEM)
    with CaptureQueriesContext(connection) as ctx:
        lifecycle.destroy(space=space, by=SYSTEM)
    assert not any(_rows(space).values())
    return len(ctx.captured_queries)


def test_destruction_runs_a_constant_number_of_queries_whatever_the_profile_size():
    small = _bulk_profile(factories.SpaceFactory(), 1)
    large = _bulk_profile(factories.SpaceFactory(), 50)
    assert _destroy_queries(small) == _destroy_queries(large)


def test_the_profile_is_deleted_in_one_query_per_model(django_assert_num_queries):
    space = _bulk_profile(factories.SpaceFactory(), 50)
    with django_assert_num_queries(len(profile_services.PROFILE_MODELS)):
        deleted = profile_services.destroy_profile(space, keep_occupational=False)
    assert deleted == 1 + 7 * 50  # the profile row, six repeating kinds and the history
