"""The profession × document-type matrix: its defaults, its cache, and its admin page."""

import pytest
from django.core.cache import cache
from django.db import transaction
from django.urls import reverse

from acces import matrix
from acces.models import AuditEvent, DocumentAccessRule, Profession
from dossier.models import DocumentType
from espace_sante.labels import action_label
from espace_sante.models import User
from tests import factories
from tests.conftest import sign_in

pytestmark = pytest.mark.django_db

ORDONNANCE = "57833-6"
ORDONNANCE_SOINS = "57828-6"
DISPENSATION = "60593-1"
BIOLOGIE = "11502-2"
IMAGERIE = "18748-4"
CR_HOSPITALISATION = "34112-3"
CR_PSYCHIATRIE = "34788-0"
LETTRE_SORTIE = "11490-0"
VACCINATIONS = "11369-6"
SANTE_AU_TRAVAIL = "11341-5"
DOCUMENT_PATIENT = "51855-5"
ACCOUCHEMENT = "15508-5"
SUIVI_SOINS = "11506-3"
SCHEMA_DENTAIRE = "83836-7"
DIRECTIVES_ANTICIPEES = "42348-3"
SYNTHESE = "60591-5"

MEDECIN = Profession.MEDECIN
PHARMACIEN = Profession.PHARMACIEN
INFIRMIER = Profession.INFIRMIER
SAGE_FEMME = Profession.SAGE_FEMME
DENTISTE = Profession.CHIRURGIEN_DENTISTE
KINE = Profession.MASSEUR_KINESITHERAPEUTE


# --- The default matrix ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("profession", "code", "allowed"),
    [
        (PHARMACIEN, ORDONNANCE, True),
        (PHARMACIEN, DISPENSATION, True),
        (PHARMACIEN, BIOLOGIE, True),
        (PHARMACIEN, VACCINATIONS, True),
        (PHARMACIEN, CR_HOSPITALISATION, False),
        (PHARMACIEN, CR_PSYCHIATRIE, False),
        (PHARMACIEN, LETTRE_SORTIE, False),
        (KINE, ORDONNANCE_SOINS, True),
        (KINE, IMAGERIE, True),
        (KINE, SUIVI_SOINS, True),
        (KINE, BIOLOGIE, False),
        (KINE, CR_HOSPITALISATION, False),
        (INFIRMIER, ORDONNANCE_SOINS, True),
        (INFIRMIER, LETTRE_SORTIE, True),
        (INFIRMIER, DIRECTIVES_ANTICIPEES, True),
        (INFIRMIER, IMAGERIE, False),
        (INFIRMIER, CR_PSYCHIATRIE, False),
        (SAGE_FEMME, ACCOUCHEMENT, True),
        (SAGE_FEMME, IMAGERIE, True),
        (SAGE_FEMME, BIOLOGIE, True),
        (SAGE_FEMME, CR_PSYCHIATRIE, False),
        (DENTISTE, IMAGERIE, True),
        (DENTISTE, SCHEMA_DENTAIRE, True),
        (DENTISTE, SYNTHESE, True),
        (DENTISTE, VACCINATIONS, False),
        (DENTISTE, CR_HOSPITALISATION, False),
        (MEDECIN, CR_PSYCHIATRIE, True),
        (MEDECIN, CR_HOSPITALISATION, True),
        (MEDECIN, DOCUMENT_PATIENT, True),
    ],
)
def test_default_matrix_follows_each_professions_needs(profession, code, allowed):
    assert matrix.allows(profession, code) is allowed


def test_physician_sees_every_type_but_the_occupational_health_part():
    every_type = set(DocumentType.objects.values_list("code", flat=True))
    assert matrix.type_codes_for(MEDECIN) == every_type - {SANTE_AU_TRAVAIL}


@pytest.mark.parametrize("profession", Profession.values)
def test_no_profession_sees_the_occupational_health_part(profession):
    assert not matrix.allows(profession, SANTE_AU_TRAVAIL)


def test_only_physicians_see_the_patients_own_unqualified_documents():
    seeing = {p for p in Profession.values if matrix.allows(p, DOCUMENT_PATIENT)}
    assert seeing == {MEDECIN}


def test_every_rule_names_a_document_type_of_the_reference_list():
    known = set(DocumentType.objects.values_list("code", flat=True))
    named = set(DocumentAccessRule.objects.values_list("type_code", flat=True))
    assert named
    assert named <= known, named - known


def test_the_types_the_matrix_needed_are_added_to_the_reference_list():
    added = dict(
        DocumentType.objects.filter(
            code__in=[ACCOUCHEMENT, SUIVI_SOINS, "47420-5", SCHEMA_DENTAIRE]
        ).values_list("code", "category")
    )
    assert added == {
        ACCOUCHEMENT: "reports",
        SUIVI_SOINS: "reports",
        "47420-5": "reports",
        SCHEMA_DENTAIRE: "summaries",
    }


@pytest.mark.parametrize("profession", Profession.values)
def test_every_profession_has_a_default_row(profession):
    assert matrix.type_codes_for(profession)


def test_unknown_profession_sees_nothing():
    assert matrix.type_codes_for("astrologue") == frozenset()
    assert not matrix.allows("astrologue", ORDONNANCE)


def test_profession_whose_rows_are_all_removed_sees_nothing():
    DocumentAccessRule.objects.filter(profession=PHARMACIEN).delete()
    assert matrix.type_codes_for(PHARMACIEN) == frozenset()
    assert matrix.type_codes_for(MEDECIN)


# --- The cache ------------------------------------------------------------------------------


def test_cold_cache_costs_one_query_and_warm_cache_none(django_assert_num_queries):
    with django_assert_num_queries(1):
        assert ORDONNANCE in matrix.type_codes_for(PHARMACIEN)
    with django_assert_num_queries(0):
        assert ORDONNANCE in matrix.type_codes_for(PHARMACIEN)
        assert IMAGERIE in matrix.type_codes_for(KINE)  # the whole matrix came at once
        assert not matrix.allows("astrologue", ORDONNANCE)


def test_another_process_reads_the_shared_cache_without_a_query(
    django_assert_num_queries, monkeypatch
):
    matrix.type_codes_for(PHARMACIEN)
    monkeypatch.setattr(matrix, "_memo", None)  # a process that has read nothing yet
    with django_assert_num_queries(0):
        assert matrix.allows(PHARMACIEN, BIOLOGIE)


def test_saved_rule_is_seen_at_once():
    assert not matrix.allows(PHARMACIEN, LETTRE_SORTIE)  # cached
    DocumentAccessRule.objects.create(profession=PHARMACIEN, type_code=LETTRE_SORTIE)
    assert matrix.allows(PHARMACIEN, LETTRE_SORTIE)


def test_deleted_rule_is_forgotten_at_once():
    assert matrix.allows(PHARMACIEN, BIOLOGIE)  # cached
    DocumentAccessRule.objects.get(profession=PHARMACIEN, type_code=BIOLOGIE).delete()
    assert not matrix.allows(PHARMACIEN, BIOLOGIE)


def test_bulk_changes_are_seen_at_once():
    assert matrix.allows(KINE, IMAGERIE)
    DocumentAccessRule.objects.filter(profession=KINE, type_code=IMAGERIE).update(
        type_code=BIOLOGIE
    )
    assert not matrix.allows(KINE, IMAGERIE)
    assert matrix.allows(KINE, BIOLOGIE)
    DocumentAccessRule.objects.bulk_create(
        [DocumentAccessRule(profession=KINE, type_code=LETTRE_SORTIE)]
    )
    assert matrix.allows(KINE, LETTRE_SORTIE)


def test_committed_change_reaches_processes_that_cached_the_old_matrix(
    django_capture_on_commit_callbacks, django_assert_num_queries, monkeypatch
):
    matrix.type_codes_for(PHARMACIEN)
    version_before, other_process_memo = cache.get(matrix.VERSION_KEY), matrix._memo
    with django_capture_on_commit_callbacks(execute=True):
        DocumentAccessRule.objects.create(profession=PHARMACIEN, type_code=LETTRE_SORTIE)
    assert cache.get(matrix.VERSION_KEY) != version_before
    # A process still holding the old matrix sees the shared version moved and reloads.
    monkeypatch.setattr(matrix, "_memo", other_process_memo)
    with django_assert_num_queries(1):
        assert matrix.allows(PHARMACIEN, LETTRE_SORTIE)
    with django_assert_num_queries(0):
        assert matrix.allows(PHARMACIEN, LETTRE_SORTIE)


def test_a_change_rolled_back_never_reaches_the_cache():
    with pytest.raises(RuntimeError), transaction.atomic():
        DocumentAccessRule.objects.create(profession=KINE, type_code=BIOLOGIE)
        assert matrix.allows(KINE, BIOLOGIE)  # the transaction sees its own change
        raise RuntimeError
    assert not matrix.allows(KINE, BIOLOGIE)
    cached = cache.get(f"acces:matrix:{cache.get(matrix.VERSION_KEY)}")
    assert cached is None or BIOLOGIE not in cached.get(KINE, ())


# --- The admin page -------------------------------------------------------------------------

CHANGELIST = "admin:acces_documentaccessrule_changelist"
ADD = "admin:acces_documentaccessrule_add"


@pytest.fixture
def superuser():
    user = factories.UserFactory(
        kind=User.Kind.ADMIN,
        is_staff=True,
        is_superuser=True,
        email="technique@exemple.fr",
        last_name="Technique",
    )
    factories.TOTPDeviceFactory(user=user)
    return user


@pytest.fixture
def superuser_client(client, superuser):
    return sign_in(client, superuser)


def _staff_with_every_matrix_permission():
    """A staff account given the model's permissions: still not enough."""
    from django.contrib.auth.models import Permission

    user = factories.UserFactory(kind=User.Kind.ADMIN, is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="acces", codename__endswith="rule")
    )
    factories.TOTPDeviceFactory(user=user)
    return user


def _events(action):
    return AuditEvent.objects.filter(action=action, target_type="acces.documentaccessrule")


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("superuser", 200),
        ("agent", 403),
        ("staff_with_permissions", 403),
        ("professional", 302),
    ],
)
def test_only_superusers_reach_the_matrix_in_the_admin(
    client, who, status, request, agent, professional
):
    users = {
        "agent": agent,
        "professional": professional.user,
        "staff_with_permissions": _staff_with_every_matrix_permission(),
    }
    user = request.getfixturevalue("superuser") if who == "superuser" else users[who]
    sign_in(client, user)
    response = client.get(reverse(CHANGELIST))
    assert response.status_code == status
    added = client.post(reverse(ADD), {"profession": PHARMACIEN, "type_code": LETTRE_SORTIE})
    exists = DocumentAccessRule.objects.filter(profession=PHARMACIEN, type_code=LETTRE_SORTIE)
    assert exists.exists() is (who == "superuser")
    if who != "superuser":
        assert added.status_code == status
        assert not _events("matrix_rule_added").exists()


def test_agent_does_not_see_the_matrix_on_the_admin_index(client, agent, superuser):
    link = reverse(CHANGELIST)
    assert link not in sign_in(client, agent).get(reverse("admin:index")).content.decode()
    assert link in sign_in(client, superuser).get(reverse("admin:index")).content.decode()


def test_changelist_filters_by_profession_and_searches_by_code(superuser_client):
    response = superuser_client.get(reverse(CHANGELIST), {"profession__exact": KINE})
    shown = {(r.profession, r.type_code) for r in response.context["cl"].result_list}
    assert shown and {p for p, _ in shown} == {KINE}
    response = superuser_client.get(reverse(CHANGELIST), {"q": ACCOUCHEMENT})
    shown = {(r.profession, r.type_code) for r in response.context["cl"].result_list}
    assert shown == {(MEDECIN, ACCOUCHEMENT), (SAGE_FEMME, ACCOUCHEMENT)}


def test_superuser_adds_a_rule_through_the_admin_and_it_is_traced(superuser_client, superuser):
    assert not matrix.allows(PHARMACIEN, LETTRE_SORTIE)
    response = superuser_client.post(
        reverse(ADD), {"profession": PHARMACIEN, "type_code": LETTRE_SORTIE}
    )
    assert response.status_code == 302
    assert matrix.allows(PHARMACIEN, LETTRE_SORTIE)
    event = _events("matrix_rule_added").get()
    assert event.actor == superuser
    assert event.role == User.Kind.ADMIN
    assert event.detail == {"profession": PHARMACIEN, "type_code": LETTRE_SORTIE}
    assert action_label(event.action) == "Ajout d'une règle d'accès aux types de documents"


def test_superuser_changes_a_rule_and_the_trace_keeps_the_former_value(superuser_client):
    rule = DocumentAccessRule.objects.get(profession=KINE, type_code=IMAGERIE)
    response = superuser_client.post(
        reverse("admin:acces_documentaccessrule_change", args=[rule.pk]),
        {"profession": KINE, "type_code": LETTRE_SORTIE},
    )
    assert response.status_code == 302
    assert not matrix.allows(KINE, IMAGERIE)
    assert matrix.allows(KINE, LETTRE_SORTIE)
    event = _events("matrix_rule_changed").get()
    assert event.detail["before"] == {"profession": KINE, "type_code": IMAGERIE}
    assert event.detail["type_code"] == LETTRE_SORTIE


def test_superuser_removes_a_rule_and_it_is_traced(superuser_client):
    rule = DocumentAccessRule.objects.get(profession=PHARMACIEN, type_code=BIOLOGIE)
    assert matrix.allows(PHARMACIEN, BIOLOGIE)
    response = superuser_client.post(
        reverse("admin:acces_documentaccessrule_delete", args=[rule.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert not matrix.allows(PHARMACIEN, BIOLOGIE)
    event = _events("matrix_rule_removed").get()
    assert event.target_id == str(rule.pk)
    assert event.detail == {"profession": PHARMACIEN, "type_code": BIOLOGIE}


def test_removing_selected_rules_traces_each_one(superuser_client):
    rules = list(DocumentAccessRule.objects.filter(profession=KINE))
    assert matrix.type_codes_for(KINE)
    response = superuser_client.post(
        reverse(CHANGELIST),
        {"action": "delete_selected", "_selected_action": [r.pk for r in rules], "post": "yes"},
    )
    assert response.status_code == 302
    assert matrix.type_codes_for(KINE) == frozenset()
    traced = {e.detail["type_code"] for e in _events("matrix_rule_removed")}
    assert traced == {r.type_code for r in rules}


def test_admin_refuses_a_malformed_code_or_a_duplicate_in_french(superuser_client):
    response = superuser_client.post(reverse(ADD), {"profession": KINE, "type_code": "radio"})
    assert response.status_code == 200
    assert "Saisissez un code LOINC" in response.content.decode()
    response = superuser_client.post(reverse(ADD), {"profession": KINE, "type_code": IMAGERIE})
    assert response.status_code == 200
    assert "existe déjà" in response.content.decode()
    assert not _events("matrix_rule_added").exists()


def test_a_rule_is_not_added_when_its_trace_fails(superuser_client, monkeypatch):
    from espace_sante import tracing

    def broken(**kwargs):
        raise RuntimeError("trail unavailable")

    monkeypatch.setattr(tracing, "_recorder", broken)
    with pytest.raises(RuntimeError, match="trail unavailable"):
        superuser_client.post(reverse(ADD), {"profession": PHARMACIEN, "type_code": LETTRE_SORTIE})
    assert not DocumentAccessRule.objects.filter(
        profession=PHARMACIEN, type_code=LETTRE_SORTIE
    ).exists()
    assert not matrix.allows(PHARMACIEN, LETTRE_SORTIE)
