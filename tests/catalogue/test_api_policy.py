"""What the catalogue's scopes let an app do, as the policy decides it."""

import pytest

from acces.policy import Action, decide
from acces.principal import Principal
from acces.targets import SPACE_PART
from catalogue.api.views import ApiTarget
from dossier.models import Category
from tests import factories

pytestmark = pytest.mark.django_db


def app(space, *scopes):
    return Principal.app_for(space.holder.user, "client-1", scopes)


def test_a_category_scope_covers_that_category_only(patient_space):
    document = factories.make_document(patient_space)
    other = next(c for c in Category.values if c != document.category)
    mine = app(patient_space, f"patient/DocumentReference.read?category={document.category}")
    theirs = app(patient_space, f"patient/DocumentReference.read?category={other}")
    assert decide(mine, Action.VIEW_DOCUMENT, document)
    refused = decide(theirs, Action.VIEW_DOCUMENT, document)
    assert not refused and refused.reason == "scope_not_granted"
    # Either may list the space's documents; the list keeps the category's only.
    assert decide(theirs, Action.VIEW_SPACE, patient_space)


def test_a_resource_target_counts_that_resources_scopes_only(patient_space):
    observations = app(patient_space, "patient/Observation.read")
    assert decide(observations, Action.VIEW_PROFILE, ApiTarget(patient_space, "Observation"))
    assert not decide(observations, Action.VIEW_PROFILE, ApiTarget(patient_space, "Immunization"))
    # Without a resource named, the action is what counts (the portal's own targets).
    assert decide(observations, Action.VIEW_PROFILE, patient_space)
    assert ApiTarget(patient_space, "Patient").part == SPACE_PART


@pytest.mark.parametrize(
    ("scope", "action"),
    [
        ("patient/Observation.write", Action.MANAGE_DOCUMENT),
        ("patient/Appointment.read", Action.VIEW_AGENDA),
        ("patient/Appointment.write", Action.MANAGE_AGENDA),
        ("patient/Immunization.read", Action.VIEW_PROFILE),
        ("patient/DocumentReference.write", Action.ADD_OWN_DOCUMENT),
    ],
)
def test_each_scope_maps_to_its_action(patient_space, scope, action):
    assert decide(app(patient_space, scope), action, patient_space)
    assert not decide(app(patient_space, "patient/Patient.read"), action, patient_space)


def test_an_app_never_goes_beyond_the_person(patient_space):
    stranger = factories.SpaceFactory()
    principal = Principal.app_for(stranger.holder.user, "client-1", ["patient/Observation.read"])
    assert not decide(principal, Action.VIEW_PROFILE, ApiTarget(patient_space, "Observation"))
