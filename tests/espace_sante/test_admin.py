"""The CPAM agents' admin: search, the space's page, lifecycle actions, and no medical content.

The crawl at the end walks every page the admin registry offers, so a model
registered tomorrow is crawled without anyone adding it here.
"""

import html
from datetime import date, timedelta

import pytest
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.db import connection
from django.db.models import ForeignKey, ManyToManyField
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from acces import audit
from acces.models import AuditEvent, CareRelation
from acces.policy import Action
from acces.services import check_and_trace
from espace_sante import lifecycle
from espace_sante.admin import ACTIONS
from espace_sante.models import DataKey, LegalRepresentative, Notification, Patient, Space
from espace_sante.tracing import Actor
from tests import factories
from tests.conftest import sign_in

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:espace_sante_space_changelist"


def _change_url(space):
    return reverse("admin:espace_sante_space_change", args=[space.pk])


def _action_url(name, space):
    return reverse(f"admin:espace_sante_space_{name}", args=[space.pk])


def _in_state(state, **holder):
    """A space put directly in `state` (a test's starting point, not a transition)."""
    space = factories.SpaceFactory(**{f"holder__{k}": v for k, v in holder.items()})
    fields = {"state": state}
    if state == Space.State.ANNOUNCED:
        fields["opposition_deadline"] = timezone.now() + timedelta(weeks=3)
    if state == Space.State.CLOSED:
        fields["closed_at"] = timezone.now() - timedelta(days=30)
        fields["retention_until"] = timezone.localdate() + timedelta(days=3000)
    Space.objects.filter(pk=space.pk).update(**fields)
    space.refresh_from_db()
    return space


def _found(client, query, url_name=CHANGELIST):
    response = client.get(reverse(url_name), {"q": query})
    assert response.status_code == 200
    return {obj.pk for obj in response.context["cl"].result_list}


@pytest.fixture
def agent_client(client, agent):
    return sign_in(client, agent)


@pytest.fixture
def people():
    def person(last_name, first_names, birth_date):
        return factories.SpaceFactory(
            holder__last_name=last_name,
            holder__first_names=first_names,
            holder__birth_date=birth_date,
            holder__email=f"{first_names}.{last_name}@exemple.fr".lower(),
        )

    target = person("Martineau", "Odile", date(1980, 5, 17))
    namesake = person("Martineau", "Paul", date(1975, 1, 2))
    same_birthday = person("Zeller", "Odile", date(1980, 5, 17))
    return target, namesake, same_birthday


# --- Search ----------------------------------------------------------------------------


def test_agent_finds_a_space_by_nir_typed_with_spaces(agent_client, people):
    target = people[0]
    nir = target.holder.nir
    spaced = f"{nir[0]} {nir[1:3]} {nir[3:5]} {nir[5:7]} {nir[7:10]} {nir[10:13]} {nir[13:]}"
    assert _found(agent_client, spaced) == {target.pk}
    assert _found(agent_client, nir) == {target.pk}


def test_agent_finds_spaces_by_name(agent_client, people):
    target, namesake, _ = people
    assert _found(agent_client, "martineau") == {target.pk, namesake.pk}
    assert _found(agent_client, "Martineau Odile") == {target.pk}


def test_agent_finds_a_space_by_birth_date_typed_the_french_way(agent_client, people):
    target, namesake, same_birthday = people
    assert _found(agent_client, "17/05/1980") == {target.pk, same_birthday.pk}
    assert _found(agent_client, "Martineau 17/05/1980") == {target.pk}
    assert _found(agent_client, "02/01/1975") == {namesake.pk}
    assert _found(agent_client, "31/02/1980") == set()  # not a date, and no name matches it


def test_patient_admin_searches_the_same_way(agent_client, people):
    target = people[0]
    url = "admin:espace_sante_patient_changelist"
    assert _found(agent_client, "Martineau 17/05/1980", url) == {target.holder.pk}
    assert _found(agent_client, target.holder.nir, url) == {target.holder.pk}


def test_space_list_shows_name_birth_date_nir_and_state(agent_client, people):
    target, *_ = people
    body = agent_client.get(reverse(CHANGELIST)).content.decode()
    assert "Martineau Odile" in body
    assert "17/05/1980" in body
    assert target.holder.nir in body
    assert "Activé" in body


def test_agent_corrects_an_identity_but_not_the_account_link(agent_client, agent):
    holder = factories.SpaceFactory(holder__last_name="Dupond").holder
    other = factories.UserFactory()
    url = reverse("admin:espace_sante_patient_change", args=[holder.pk])
    data = {
        "nir": holder.nir,
        "last_name": "Dupont",
        "first_names": holder.first_names,
        "birth_date": "17/05/1980",
        "sex": holder.sex,
        "carte_vitale_serial": holder.carte_vitale_serial,
        "email": holder.email,
        "postal_address": "",
        "user": other.pk,  # not a field of the form: ignored
    }
    response = agent_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    holder.refresh_from_db()
    assert (holder.last_name, holder.user_id) == ("Dupont", holder.user.pk)
    assert holder.user != other
    assert LogEntry.objects.get(object_id=str(holder.pk), user=agent).object_repr == str(holder)


def test_identity_page_title_elides_and_an_unknown_death_date_shows_a_dash(agent_client):
    holder = factories.SpaceFactory().holder
    response = agent_client.get(reverse("admin:espace_sante_patient_change", args=[holder.pk]))
    body = response.content.decode()
    assert "Modification de l&#x27;assuré" in body or "Modification de l'assuré" in body
    assert "Modification de assuré" not in body
    assert ">None<" not in body and "None" not in body.split("Date de décès")[-1][:300]


def test_space_page_title_elides(agent_client):
    space = factories.SpaceFactory()
    body = agent_client.get(_change_url(space)).content.decode()
    assert "de l&#x27;espace santé" in body or "de l'espace santé" in body
    assert "de espace santé" not in body


def test_agent_cannot_save_a_birth_date_or_sex_that_contradicts_the_nir(agent_client):
    holder = factories.SpaceFactory().holder  # NIR 2 80 05 …, born 17/05/1980, F
    url = reverse("admin:espace_sante_patient_change", args=[holder.pk])
    data = {
        "nir": holder.nir,
        "last_name": holder.last_name,
        "first_names": holder.first_names,
        "birth_date": "17/06/1980",
        "sex": "M",
        "carte_vitale_serial": holder.carte_vitale_serial,
        "email": holder.email,
        "postal_address": "",
    }
    response = agent_client.post(url, data)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Le mois de naissance ne correspond pas à celui du NIR (05)." in body
    assert "Le sexe ne correspond pas au premier chiffre du NIR (2)." in body
    holder.refresh_from_db()
    assert (holder.birth_date, holder.sex) == (date(1980, 5, 17), "F")


# --- The space's page ------------------------------------------------------------------


def test_space_page_shows_dates_representatives_and_lifecycle_history(agent_client, agent):
    space = _in_state(Space.State.ACTIVE)
    minor = factories.MinorSpaceFactory(holder__last_name="Lemaire")
    parent = factories.PatientFactory(
        last_name="Lemaire", first_names="Nadia", email="n@exemple.fr"
    )
    LegalRepresentative.objects.create(space=minor, patient=parent, user=parent.user)
    lifecycle.close(space=space, by=Actor(user=agent, role="agent"), reason="demande au guichet")

    body = agent_client.get(_change_url(space)).content.decode()
    assert "Clôturé (archivé)" in body
    space.refresh_from_db()
    assert date_format(space.retention_until) in body  # e.g. "22 novembre 2036"
    assert "Historique du cycle de vie" in body
    assert "Clôture de l&#x27;espace" in body
    assert "Activé → Clôturé (archivé)" in body
    assert agent.get_full_name() in body
    assert "motif : demande au guichet" in body  # the reason of the action is shown
    # A minor's page lists the representatives.
    minor_body = agent_client.get(_change_url(minor)).content.decode()
    assert "Nadia Lemaire" in minor_body


def test_space_page_hides_professionals_consultations(agent_client):
    relation = factories.CareRelationFactory(
        basis=CareRelation.Basis.ATTENDING, professional__user__last_name="Houssay"
    )
    pro = relation.professional.user
    check_and_trace(
        actor=Actor(user=pro, role=pro.kind), space=relation.space, action=Action.VIEW_SPACE
    )
    body = agent_client.get(_change_url(relation.space)).content.decode()
    assert AuditEvent.objects.filter(space=relation.space, action="view_space").exists()
    assert "Houssay" not in body
    assert "Consultation" not in body
    assert "Aucun événement du cycle de vie" in body


def test_space_page_costs_the_same_queries_for_1_and_50_events(agent_client, agent):
    space = _in_state(Space.State.ACTIVE)
    by = Actor(user=agent, role="agent")
    audit.record(actor=by, action="code_requested", space=space, detail={"channel": "email"})
    url = _change_url(space)

    def count():
        with CaptureQueriesContext(connection) as captured:
            assert agent_client.get(url).status_code == 200
        return len(captured)

    small = count()
    for _ in range(25):
        lifecycle.suspend(space=space, by=by, reason="contrôle")
        lifecycle.lift_suspension(space=space, by=by)
    assert AuditEvent.objects.filter(space=space).count() > 50
    assert count() == small


@pytest.mark.parametrize(
    "state, shown, hidden",
    [
        (Space.State.ACTIVE, ["close", "suspend", "record_death"], ["reactivate", "send_code"]),
        (Space.State.CLOSED, ["reactivate", "send_code", "record_death"], ["close", "suspend"]),
        (Space.State.ANNOUNCED, ["record_opposition", "send_code"], ["close", "reactivate"]),
        (Space.State.SUSPENDED, ["lift_suspension", "close"], ["suspend", "reactivate"]),
        (Space.State.DESTROYED, [], [a.name for a in ACTIONS]),
    ],
)
def test_only_the_actions_valid_in_the_state_are_offered(agent_client, state, shown, hidden):
    space = _in_state(state)
    body = agent_client.get(_change_url(space)).content.decode()
    for name in shown:
        assert _action_url(name, space) in body, name
    for name in hidden:
        assert _action_url(name, space) not in body, name


# --- Lifecycle actions -----------------------------------------------------------------

# action, starting state, what the agent posts, state after, audit action, message shown
ACTION_CASES = [
    ("close", "active", {"reason": "demande par téléphone"}, "closed", "space_closed", "clôturé"),
    (
        "reactivate",
        "closed",
        {"reason": "clôture faite par erreur"},
        "active",
        "space_reactivated",
        "est réactivé",
    ),
    (
        "send_code",
        "created",
        {"reason": "code expiré"},
        "created",
        "code_requested",
        "nouveau code provisoire",
    ),
    (
        "record_opposition",
        "announced",
        {"reason": "opposition par courrier"},
        "opposed",
        "space_opposed",
        "opposition",
    ),
    (
        "suspend",
        "active",
        {"reason": "autre", "reason_other": "Carte signalée volée"},
        "suspended",
        "space_suspended",
        "suspendu",
    ),
    (
        "lift_suspension",
        "suspended",
        {"reason": "fraude non confirmée"},
        "active",
        "space_suspension_lifted",
        "est levée",
    ),
    (
        "record_death",
        "active",
        {"death_date": "02/03/2024", "reason": "acte de décès reçu"},
        "closed",
        "death_recorded",
        "décès",
    ),
]


@pytest.mark.parametrize("name, start, data, end, traced, message", ACTION_CASES)
def test_agent_action_runs_the_service_and_traces_the_agent(
    agent_client, agent, name, start, data, end, traced, message
):
    space = _in_state(start)
    response = agent_client.post(_action_url(name, space), data, follow=True)
    assert response.redirect_chain[-1][0] == _change_url(space)
    space.refresh_from_db()
    assert space.state == end
    event = AuditEvent.objects.get(space=space, action=traced)
    assert (event.actor, event.role) == (agent, "agent")
    shown = [str(m) for m in response.context["messages"]]
    assert any(message in m for m in shown), shown
    assert LogEntry.objects.filter(object_id=str(space.pk), user=agent).exists()


def test_agent_action_message_elides_de_before_a_vowel(agent_client):
    space = _in_state(Space.State.ACTIVE, first_names="Élodie", last_name="Roux")
    response = agent_client.post(
        _action_url("close", space), {"reason": "demande par téléphone"}, follow=True
    )
    shown = " ".join(str(m) for m in response.context["messages"])
    assert "L'espace santé d'Élodie Roux est clôturé" in shown


@pytest.mark.parametrize(
    "name, state, data, error",
    [
        ("close", "destroyed", {"reason": "demande au guichet"}, "ne peut pas être clôturé"),
        ("reactivate", "active", {"reason": "clôture faite par erreur"}, "Seul un espace clôturé"),
        ("suspend", "closed", {"reason": "doublon d'identité"}, "Seul un espace créé ou activé"),
        ("lift_suspension", "active", {"reason": "fraude non confirmée"}, "n'est pas suspendu"),
        ("record_opposition", "active", {"reason": "opposition au guichet"}, "délai d'opposition"),
        ("send_code", "destroyed", {"reason": "code expiré"}, "Un code provisoire ne sert"),
    ],
)
def test_impossible_action_shows_the_refusal_and_changes_nothing(
    agent_client, name, state, data, error
):
    space = _in_state(state)
    events = AuditEvent.objects.filter(space=space).count()
    response = agent_client.post(_action_url(name, space), data, follow=True)
    assert response.status_code == 200
    errors = [str(m) for m in response.context["messages"] if m.level_tag == "error"]
    assert any(error in m for m in errors), errors
    space.refresh_from_db()
    assert space.state == state
    assert AuditEvent.objects.filter(space=space).count() == events


@pytest.mark.parametrize(
    "name, data, error",
    [
        ("suspend", {"reason": ""}, "Ce champ est obligatoire"),
        ("suspend", {"reason": "autre", "reason_other": "  "}, "Précisez le motif."),
        ("reactivate", {}, "Ce champ est obligatoire"),
        ("lift_suspension", {}, "Ce champ est obligatoire"),
        ("record_death", {"death_date": "31/12/2999"}, "dans le futur"),
        ("record_death", {"death_date": "2024-03-02"}, "Saisissez une date valide"),
        ("close", {}, "Ce champ est obligatoire"),
    ],
)
def test_confirmation_page_redisplays_a_bad_entry_with_a_french_error(
    agent_client, name, data, error
):
    space = _in_state(Space.State.ACTIVE)
    response = agent_client.post(_action_url(name, space), data)
    assert response.status_code == 200
    assert error in response.content.decode()
    space.refresh_from_db()
    assert space.state == Space.State.ACTIVE


def test_get_only_shows_the_confirmation_page(agent_client):
    space = _in_state(Space.State.ACTIVE)
    for action in ACTIONS:
        response = agent_client.get(_action_url(action.name, space))
        assert response.status_code == 200
        assert "Confirmer" in response.content.decode()
    space.refresh_from_db()
    assert space.state == Space.State.ACTIVE
    assert not AuditEvent.objects.filter(space=space).exists()


@pytest.mark.parametrize("who", ["patient", "professional", "staff_without_group"])
def test_only_agents_may_run_lifecycle_actions(client, professional, who):
    space = _in_state(Space.State.ACTIVE)
    if who == "patient":
        user = space.holder.user
    elif who == "professional":
        user = professional.user
    else:
        user = factories.AgentFactory()  # staff, kind agent, but no permission on spaces
        factories.TOTPDeviceFactory(user=user)
    sign_in(client, user)
    for action in ACTIONS:
        url = _action_url(action.name, space)
        for response in (client.get(url), client.post(url, {"reason": "x"})):
            assert response.status_code in (302, 403), (action.name, response.status_code)
            if response.status_code == 302:
                assert "login" in response["Location"]
    space.refresh_from_db()
    assert space.state == Space.State.ACTIVE
    assert not AuditEvent.objects.filter(space=space).exists()


# --- No medical content, anywhere an agent can go ---------------------------------------

MARKER = "SECRET-MEDICAL-xyz"
# What an agent may see in the admin: identities, spaces, their representatives.
AGENT_VISIBLE_MODELS = {Patient, Space, LegalRepresentative}


def test_agents_may_view_identities_and_spaces_only(agent):
    request = RequestFactory().get("/admin/")
    request.user = agent
    visible = {
        model
        for model, model_admin in admin.site._registry.items()
        if model_admin.has_view_permission(request)
    }
    assert visible <= AGENT_VISIBLE_MODELS, visible - AGENT_VISIBLE_MODELS
    assert {Patient, Space} <= visible


def _seed_medical_content(agent):
    """A space whose every medical or care field that exists so far carries MARKER."""
    space = factories.SpaceFactory(holder__last_name="Ferrand")
    relation = factories.CareRelationFactory(
        space=space,
        basis=CareRelation.Basis.ATTENDING,
        professional__user__last_name=MARKER,
        professional__practice_name=MARKER,
    )
    pro = Actor(user=relation.professional.user, role="professional", ip="203.0.113.9")
    check_and_trace(actor=pro, space=space, action=Action.VIEW_SPACE)
    audit.record(actor=pro, action="view_document", space=space, detail={"title": MARKER})
    Notification.objects.create(
        recipient=space.holder.user, space=space, kind="space_accessed", subject=MARKER, body=MARKER
    )
    # A lifecycle action's reason is shown to agents (typed under a warning to write nothing
    # of health): the crawl checks the other fields.
    by = Actor(user=agent, role="agent")
    lifecycle.suspend(space=space, by=by, reason="doublon d'identité")
    lifecycle.lift_suspension(space=space, by=by)
    seeded = {"space": space, "professional": relation.professional, "relation": relation}
    seeded.update(_seed_documents(space, relation.professional))
    assert AuditEvent.objects.filter(actor_label__contains=MARKER).exists()
    assert Notification.objects.filter(body__contains=MARKER).count() >= 2
    return seeded


def _seed_documents(space, professional):
    from dossier.models import Document, DocumentType

    document = Document.objects.create(
        space=space,
        type=DocumentType.objects.first(),
        title=MARKER,
        act_date=date(2024, 1, 5),
        source=Document.Source.PROFESSIONAL,
        added_by=professional.user,
        author_professional=professional,
        author_label=MARKER,
        content_type="application/pdf",
        size=10,
        sha256="0" * 64,
        data_key=DataKey.objects.create(key_id="test", wrapped=b"x"),
        file="documents/secret.pdf",
    )
    return {"document": document}


def _admin_urls(seeded):
    """Every admin page of the registry, with a seeded object (or any) for object pages."""
    by_model = {type(obj): obj for obj in seeded.values()}
    by_model[Patient] = seeded["space"].holder
    by_model[type(seeded["professional"].user)] = seeded["professional"].user
    urls = [reverse("admin:index"), reverse("admin:app_list", args=["espace_sante"])]
    for model in admin.site._registry:
        info = (model._meta.app_label, model._meta.model_name)
        prefix = "admin:{}_{}_".format(*info)
        urls.append(reverse(prefix + "changelist"))
        urls.append(reverse(prefix + "changelist") + f"?q={MARKER}")
        urls.append(reverse(prefix + "add"))
        obj = by_model.get(model) or model._default_manager.first()
        if obj is not None:
            for page in ("change", "history", "delete"):
                urls.append(reverse(prefix + page, args=[obj.pk]))
        for field in model._meta.get_fields():
            if isinstance(field, ForeignKey | ManyToManyField) and (
                field.remote_field.model in admin.site._registry
            ):
                for term in ("", MARKER, MARKER[:6]):
                    urls.append(
                        reverse("admin:autocomplete")
                        + f"?term={term}&app_label={info[0]}&model_name={info[1]}"
                        f"&field_name={field.name}"
                    )
    urls += [_action_url(action.name, seeded["space"]) for action in ACTIONS]
    return urls


def test_crawl_as_an_agent_never_shows_medical_content(agent_client, agent):
    seeded = _seed_medical_content(agent)
    # Django's admin history copies __str__: the medical rows' must say nothing.
    medical = [seeded["document"], *Notification.objects.all(), *AuditEvent.objects.all()]
    for obj in medical:
        assert MARKER not in str(obj), type(obj)
    statuses = {}
    for url in _admin_urls(seeded):
        response = agent_client.get(url)
        body = response.content.decode(errors="replace")
        if MARKER in url:  # a search box shows back what was typed: that is no leak
            for echo in (f'value="{MARKER}"', f"q={MARKER}", f"q%3D{MARKER}"):
                body = body.replace(echo, "")
        assert MARKER not in body, url
        assert MARKER not in response.get("Location", ""), url
        assert response.status_code in (200, 302, 403, 404), (url, response.status_code)
        statuses[url] = response.status_code
    reached = [url for url, status in statuses.items() if status == 200]
    refused = [url for url, status in statuses.items() if status == 403]
    # The crawl ran for real: the agent's pages opened, the others were refused.
    space = seeded["space"]
    for must in (
        reverse("admin:index"),
        reverse(CHANGELIST),
        _change_url(space),
        reverse("admin:espace_sante_space_history", args=[space.pk]),
        reverse("admin:espace_sante_patient_change", args=[space.holder.pk]),
    ):
        assert statuses[must] == 200, must
    assert len(reached) >= 15
    assert len(refused) >= 20
    # The agent's own actions are in the space's history, with their reason.
    history = html.unescape(agent_client.get(_change_url(space)).content.decode())
    assert "Suspension (suspicion de fraude)" in history
    assert "motif : doublon d'identité" in history


@pytest.mark.parametrize("name, start", [(a.name, None) for a in ACTIONS])
def test_every_lifecycle_action_opens_a_confirmation_page_that_asks_a_reason(
    agent_client, name, start
):
    states = {
        "reactivate": Space.State.CLOSED,
        "send_code": Space.State.CREATED,
        "lift_suspension": Space.State.SUSPENDED,
        "record_opposition": Space.State.ANNOUNCED,
    }
    space = _in_state(states.get(name, Space.State.ACTIVE))
    page = html.unescape(agent_client.get(_change_url(space)).content.decode())
    button = page.split(f'action="{_action_url(name, space)}"')[0].rsplit("<form", 1)[1]
    assert 'method="get"' in button  # no action acts in one click
    confirmation = html.unescape(agent_client.get(_action_url(name, space)).content.decode())
    assert 'name="reason"' in confirmation
    assert "Autre motif" in confirmation
    assert "n'y écrivez aucune information sur la santé" in confirmation
    space.refresh_from_db()
    assert space.state == states.get(name, Space.State.ACTIVE)  # GET changed nothing


def test_the_lifecycle_history_shows_the_reason_chosen_or_typed(agent_client):
    space = _in_state(Space.State.ACTIVE)
    agent_client.post(
        _action_url("suspend", space),
        {"reason": "autre", "reason_other": "Deux assurés pour un même NIR"},
    )
    agent_client.post(_action_url("lift_suspension", space), {"reason": "fraude non confirmée"})
    agent_client.post(_action_url("close", space), {"reason": "demande au guichet"})
    agent_client.post(_action_url("reactivate", space), {"reason": "clôture faite par erreur"})
    body = html.unescape(agent_client.get(_change_url(space)).content.decode())
    history = body.split("Historique du cycle de vie")[1]
    for reason in (
        "motif : Deux assurés pour un même NIR",
        "motif : fraude non confirmée",
        "motif : demande au guichet",
        "motif : clôture faite par erreur",
    ):
        assert reason in history


def test_the_patients_own_closing_reason_reads_as_its_label(agent_client):
    space = _in_state(Space.State.ACTIVE)
    lifecycle.close(
        space=space, by=Actor(user=space.holder.user, role="patient"), reason="not_used"
    )
    body = html.unescape(agent_client.get(_change_url(space)).content.decode())
    assert "motif : Je n'utilise pas ce service" in body


def test_signed_in_patient_opening_the_admin_gets_the_403_page_not_a_loop(client, patient_space):
    sign_in(client, patient_space.holder.user)
    response = client.get("/admin/", follow=True)
    assert response.status_code == 403
    assert len(response.redirect_chain) == 1  # /admin/ -> /admin/login/, then the refusal
    assert "Accès refusé" in response.content.decode()


def test_admin_login_sends_a_visitor_to_the_portal_sign_in_and_an_agent_to_the_admin(client, agent):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"] == reverse("account_login") + "?next=/admin/"
    sign_in(client, agent)
    response = client.get("/admin/login/?next=/admin/espace_sante/space/")
    assert response["Location"] == "/admin/espace_sante/space/"
