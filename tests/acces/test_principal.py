"""The policy decides for any principal: a person, or an app acting for them with scopes.

There is no catalogue yet: a stand-in app and the placeholder scopes prove that an app
does what a granted scope covers, never more, and never beyond what the person may do.
"""

import pytest

from acces.models import CareRelation, EmergencyAccess
from acces.policy import (
    Action,
    Basis,
    ConsentDeclaration,
    EmergencyRequest,
    NewDocument,
    Principal,
    decide,
    spaces_visible_to,
)
from espace_sante.assurance import AssuranceLevel
from espace_sante.models import Space
from tests import factories
from tests.factories import make_document

pytestmark = pytest.mark.django_db

APP = "app-carnet-de-sante"
READ_DOCUMENTS = "patient/DocumentReference.read"


@pytest.fixture
def space():
    return factories.SpaceFactory()


def _app(user, *scopes, assurance=None):
    return Principal.app_for(user, APP, scopes, assurance=assurance)


def test_an_app_may_do_what_a_granted_scope_covers_on_the_persons_basis(space):
    document = make_document(space)
    decision = decide(_app(space.holder.user, READ_DOCUMENTS), Action.VIEW_DOCUMENT, document)
    assert decision.allowed
    assert (decision.basis, decision.app_id) == (Basis.HOLDER, APP)


def test_an_app_is_refused_what_no_granted_scope_covers(space):
    app = _app(space.holder.user, READ_DOCUMENTS)
    for action in (Action.MANAGE_ACCESS, Action.CLOSE_SPACE, Action.EXPORT_SPACE):
        decision = decide(app, action, space)
        assert not decision
        # The person's basis is kept: it is the app that may not, and the decision says so.
        assert (decision.basis, decision.reason, decision.app_id) == (
            Basis.HOLDER,
            "scope_not_granted",
            APP,
        )
        assert "application" in decision.message
    # The person themself may.
    assert decide(space.holder.user, Action.MANAGE_ACCESS, space)


def test_an_app_is_refused_what_the_person_may_not_do(space):
    hidden = make_document(
        space, professional=factories.ProfessionalFactory(), invisible_to_patient=True
    )
    app = _app(space.holder.user, READ_DOCUMENTS, "patient/DocumentReference.write")
    decision = decide(app, Action.VIEW_DOCUMENT, hidden)
    assert (decision.allowed, decision.reason, decision.app_id) == (False, "document_hidden", APP)
    # A scope covers the action, but a patient never announces a document.
    assert not decide(app, Action.ANNOUNCE_DOCUMENT, hidden)


def test_an_app_acting_for_a_patient_is_refused_another_patients_space(space):
    other = factories.SpaceFactory()
    app = _app(space.holder.user, READ_DOCUMENTS, "patient/Patient.read")
    decision = decide(app, Action.VIEW_SPACE, other)
    assert (decision.allowed, decision.reason) == (False, "no_basis")
    assert decide(app, Action.VIEW_DOCUMENT, make_document(other)).reason == "no_basis"
    visible = Space.objects.filter(spaces_visible_to(app))
    assert list(visible) == [space]


def test_an_app_without_a_scope_for_spaces_lists_none(space):
    app = _app(space.holder.user, "patient/DocumentReference.write")
    assert not Space.objects.filter(spaces_visible_to(_app(space.holder.user))).exists()
    assert not decide(_app(space.holder.user), Action.VIEW_SPACE, space)
    assert decide(app, Action.VIEW_SPACE, space)


def test_a_professionals_software_acts_within_the_professionals_basis(space):
    doctor = factories.ProfessionalFactory()
    factories.CareRelationFactory(
        space=space, professional=doctor, basis=CareRelation.Basis.CARE_TEAM
    )
    software = Principal.app_for(doctor.user, "logiciel-cabinet", ["user/DocumentReference.read"])
    assert decide(software, Action.VIEW_DOCUMENT, make_document(space)).basis == Basis.CARE_TEAM
    assert decide(software, Action.ADD_DOCUMENT, space).reason == "scope_not_granted"
    assert not decide(software, Action.VIEW_SPACE, factories.SpaceFactory())


def test_a_bare_user_is_the_person_acting_themself(space):
    assert decide(space.holder.user, Action.VIEW_SPACE, space) == decide(
        Principal.of_user(space.holder.user), Action.VIEW_SPACE, space
    )


# --- The sign-in's assurance level -----------------------------------------------------------


def test_below_the_level_an_action_needs_the_policy_refuses_in_french(space):
    password_only = Principal.of_user(space.holder.user, assurance=AssuranceLevel.PASSWORD)
    decision = decide(password_only, Action.VIEW_SPACE, space)
    assert (decision.allowed, decision.reason) == (False, "assurance_too_low")
    assert "connexion plus sûre" in decision.message
    emailed = Principal.of_user(space.holder.user, assurance=AssuranceLevel.EMAIL_CODE)
    assert decide(emailed, Action.VIEW_SPACE, space)
    assert not Space.objects.filter(spaces_visible_to(password_only)).exists()


def test_a_professional_needs_the_strong_factor_or_an_identity_provider(space):
    doctor = factories.ProfessionalFactory()
    factories.CareRelationFactory(space=space, professional=doctor)
    for level, allowed in [
        (AssuranceLevel.EMAIL_CODE, False),
        (AssuranceLevel.TOTP, True),
        (AssuranceLevel.IDENTITY_PROVIDER, True),
    ]:
        principal = Principal.of_user(doctor.user, assurance=level)
        assert decide(principal, Action.VIEW_SPACE, space).allowed is allowed, level


def test_an_app_acts_at_the_level_of_the_sign_in_that_granted_it(space):
    weak = _app(space.holder.user, READ_DOCUMENTS, assurance=AssuranceLevel.PASSWORD)
    assert decide(weak, Action.VIEW_DOCUMENT, make_document(space)).reason == "assurance_too_low"


# --- What used to be decided beside the policy -------------------------------------------------


def test_a_target_that_does_not_say_its_part_is_refused(space):
    class Unknown:
        def __init__(self, space):
            self.space = space

    assert decide(space.holder.user, Action.VIEW_SPACE, Unknown(space)).reason == "unknown_target"


def test_the_patient_may_add_only_the_types_the_policy_lets_them(space):
    def new(may_add):
        return NewDocument(
            space=space, type_code="11502-2", category="biology", patient_may_add=may_add
        )

    assert decide(space.holder.user, Action.ADD_OWN_DOCUMENT, new(True))
    refused = decide(space.holder.user, Action.ADD_OWN_DOCUMENT, new(False))
    assert refused.reason == "type_reserved_to_professionals"
    assert refused.message == "Ce type de document est réservé aux professionnels de santé."


def test_opening_an_emergency_access_is_decided_by_the_policy(space):
    nurse = factories.ProfessionalFactory(profession="infirmier")
    pharmacist = factories.ProfessionalFactory(profession="pharmacien")
    glass = EmergencyRequest(space, EmergencyAccess.Mode.BREAK_GLASS)
    samu = EmergencyRequest(space, EmergencyAccess.Mode.SAMU)
    assert decide(nurse.user, Action.OPEN_EMERGENCY, glass).basis == Basis.EMERGENCY
    assert decide(nurse.user, Action.OPEN_EMERGENCY, samu).reason == "not_a_regulating_physician"
    refused = decide(pharmacist.user, Action.OPEN_EMERGENCY, glass)
    assert refused.reason == "profession_may_not_break_glass"
    assert refused.message == "Votre profession ne permet pas l'accès en urgence."
    # Asked on the space alone, nothing is opened: the request says which mode.
    assert decide(nurse.user, Action.OPEN_EMERGENCY, space).reason == "action_not_allowed"
    assert not decide(space.holder.user, Action.OPEN_EMERGENCY, glass)


def test_declaring_consent_is_decided_by_the_policy(space):
    nurse = factories.ProfessionalFactory(profession="infirmier")
    found = ConsentDeclaration(space=space, found_by_search=True)
    not_found = ConsentDeclaration(space=space, found_by_search=False)
    assert decide(nurse.user, Action.DECLARE_CONSENT, found).basis == Basis.CARE_TEAM
    assert decide(nurse.user, Action.DECLARE_CONSENT, not_found).reason == "not_searched"
    assert decide(space.holder.user, Action.DECLARE_CONSENT, found).reason == "action_not_allowed"
    occupational = factories.ProfessionalFactory(specialty="medecine_travail")
    assert decide(occupational.user, Action.DECLARE_CONSENT, found).basis == Basis.OCCUPATIONAL
