"""The patient's trail: a connected service's calls are what the service did, shown among
what others did, never among the patient's own actions (`acces.selectors.filter_history`)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from acces import selectors
from acces.models import AuditEvent
from acces.policy import Action
from catalogue.actions import CatalogueAction
from catalogue.connections.actions import ConnectionAction
from espace_sante.tracing import Actor, trace
from tests import factories
from tests.catalogue.api_helpers import bearer, connect
from tests.conftest import sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def space():
    return factories.SpaceFactory()


@pytest.fixture
def trail(space):
    """The holder's own action, a service's read (a real API call) and write, a nurse's access."""
    holder = space.holder.user
    connected = connect(space, name="GlucoSuivi")
    own = Actor(user=holder, role=holder.kind)
    trace(actor=own, action=ConnectionAction.SERVICE_REAPPROVED, space=space, target=space)
    assert Client().get("/fhir/Observation", **bearer(connected)).status_code == 200
    trace(
        actor=own,
        action=CatalogueAction.API_WRITE,
        space=space,
        target=space,
        detail={"via": "GlucoSuivi", "service": connected.service.slug},
    )
    nurse = factories.ProfessionalFactory()
    trace(
        actor=Actor(user=nurse.user, role=nurse.user.kind),
        action=Action.VIEW_SPACE,
        space=space,
        target=space,
    )
    return space


def _actions(space, data):
    events = AuditEvent.objects.filter(space=space)
    return set(
        selectors.filter_history(events, data, reader=space.holder.user).values_list(
            "action", flat=True
        )
    )


SERVICE = {CatalogueAction.API_READ, CatalogueAction.API_WRITE}


def test_the_default_view_shows_the_services_calls_with_what_others_did(trail):
    shown = _actions(trail, {})
    assert shown >= SERVICE and "view_space" in shown
    assert ConnectionAction.SERVICE_REAPPROVED not in shown


def test_the_patients_own_actions_leave_out_the_services_calls(trail):
    assert _actions(trail, {"qui": "moi"}) == {ConnectionAction.SERVICE_REAPPROVED}


def test_you_and_your_representatives_leave_out_the_services_calls(trail):
    assert not SERVICE & _actions(trail, {"qui": "patient"})


def test_everyone_shows_everything(trail):
    assert SERVICE | {ConnectionAction.SERVICE_REAPPROVED, "view_space"} <= _actions(
        trail, {"qui": "tous"}
    )


def test_the_trail_page_shows_the_service_by_default_not_under_own_actions(trail):
    client = sign_in(Client(), trail.holder.user)
    url = reverse("espace_sante:history", args=[trail.public_id])
    default = client.get(url).text
    assert "via GlucoSuivi" in default and "Lecture par un service connecté" in default
    own = client.get(url, {"qui": "moi"}).text
    assert "via GlucoSuivi" not in own and "Écriture par un service connecté" not in own
