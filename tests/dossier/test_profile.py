"""Medical profile: each part changed by the holder is written, traced and kept in history."""

import re
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from acces.models import AuditEvent, CareRelation
from dossier import profile_services as services
from dossier.models import (
    Allergy,
    EmergencyContact,
    HistoryEntry,
    Measurement,
    MedicalProfile,
    ProfileChange,
    Treatment,
    Vaccination,
)
from dossier.profile import ENTRY_PARTS, SINGLE_PARTS, bmi, chart
from espace_sante.models import Notification
from espace_sante.tracing import Actor
from tests import factories
from tests.conftest import sign_in
from tests.mailbox import assert_email_left

pytestmark = pytest.mark.django_db

TODAY = date.today()


def _url(space, name, **query):
    url = reverse(f"profil:{name}", kwargs={"space_id": space.public_id})
    if query:
        url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return url


@pytest.fixture
def holder_client(patient_space):
    return sign_in(Client(), patient_space.holder.user)


def _events(space, action):
    return AuditEvent.objects.filter(space=space, action=action).count()


# One valid form per repeating part, then a changed version of it.
ENTRY_CASES = [
    (
        "allergy",
        Allergy,
        {"substance": "Pénicilline", "reaction": "Urticaire", "severity": "severe"},
        {"substance": "Amoxicilline"},
    ),
    (
        "history",
        HistoryEntry,
        {"kind": "family", "condition": "Diabète de type 2", "year": "1998", "notes": ""},
        {"condition": "Hypertension"},
    ),
    (
        "treatment",
        Treatment,
        {"medicine": "Levothyrox", "dosage": "75 µg le matin", "since": "2020-03-01"},
        {"dosage": "100 µg le matin"},
    ),
    (
        "vaccination",
        Vaccination,
        {"vaccine": "DTP", "date": "2021-06-15", "lot": "AB123", "given_by": "Dr Martin"},
        {"lot": "CD456"},
    ),
    (
        "measurement",
        Measurement,
        {"kind": "weight", "value": "70", "measured_on": "2024-01-10"},
        {"value": "71.50"},
    ),
    (
        "emergency_contact",
        EmergencyContact,
        {"name": "Paul Durand", "phone": "0612345678", "relation": "Frère"},
        {"phone": "0698765432"},
    ),
]


@pytest.mark.parametrize(("part", "model", "data", "change"), ENTRY_CASES)
def test_holder_adds_changes_and_removes_each_entry_part(
    holder_client, patient_space, part, model, data, change
):
    space = patient_space
    response = holder_client.post(_url(space, part), data)
    assert response.status_code == 302
    entry = model.objects.get(space=space)
    assert _events(space, f"profile_{part}_added") == 1
    added = ProfileChange.objects.get(space=space, action="added")
    assert added.part == part
    assert added.by_label == space.holder.user.get_full_name()
    field, value = next(iter(change.items()))

    response = holder_client.post(_url(space, part), {**data, **change, "entree": entry.pk})
    assert response.status_code == 302
    entry.refresh_from_db()
    assert str(getattr(entry, field)) == value
    assert _events(space, f"profile_{part}_changed") == 1
    assert ProfileChange.objects.get(space=space, action="changed").summary[field] == value

    # Removal asks for confirmation first: the GET shows it and removes nothing.
    page = holder_client.get(_url(space, part, supprimer=entry.pk))
    assert "Je confirme la suppression" in page.content.decode()
    assert model.objects.filter(pk=entry.pk).exists()
    refused = holder_client.post(_url(space, part), {"supprimer": entry.pk})
    assert refused.status_code == 200
    assert model.objects.filter(pk=entry.pk).exists()

    response = holder_client.post(_url(space, part), {"supprimer": entry.pk, "confirm": "on"})
    assert response.status_code == 302
    assert not model.objects.filter(pk=entry.pk).exists()
    assert _events(space, f"profile_{part}_removed") == 1
    assert ProfileChange.objects.filter(space=space, part=part).count() == 3


SINGLE_CASES = [
    ("blood_group", {"blood_group": "AB-"}, "blood_group", "AB-"),
    ("disabilities", {"disabilities": "Malvoyance"}, "disabilities", "Malvoyance"),
    (
        "trusted_person",
        {
            "trusted_person_name": "Marie Curie",
            "trusted_person_phone": "0102030405",
            "trusted_person_relation": "Amie",
        },
        "trusted_person_name",
        "Marie Curie",
    ),
    (
        "advance_directives",
        {"advance_directives": "Pas d'acharnement thérapeutique."},
        "advance_directives",
        "Pas d'acharnement thérapeutique.",
    ),
    (
        "organ_donation",
        {"donation_choice": "accepte", "donation_date": "2024-05-02"},
        "donation_choice",
        "accepte",
    ),
]


@pytest.mark.parametrize(("part", "data", "field", "value"), SINGLE_CASES)
def test_holder_changes_each_single_part(holder_client, patient_space, part, data, field, value):
    response = holder_client.post(_url(patient_space, part), data)
    assert response.status_code == 302
    profile = MedicalProfile.objects.get(space=patient_space)
    assert getattr(profile, field) == value
    assert _events(patient_space, f"profile_{part}_changed") == 1
    change = ProfileChange.objects.get(space=patient_space)
    assert (change.part, change.action, change.summary[field]) == (part, "changed", value)
    page = holder_client.get(_url(patient_space, "profile")).content.decode()
    shown = {
        "organ_donation": profile.get_donation_choice_display(),
        "blood_group": profile.get_blood_group_display(),
    }.get(part, value)
    assert shown.replace("'", "&#x27;") in page


def test_changing_one_part_leaves_the_others(holder_client, patient_space):
    holder_client.post(_url(patient_space, "blood_group"), {"blood_group": "O-"})
    holder_client.post(_url(patient_space, "disabilities"), {"disabilities": "Surdité"})
    profile = MedicalProfile.objects.get(space=patient_space)
    assert (profile.blood_group, profile.disabilities) == ("O-", "Surdité")


def test_legal_representative_edits_a_minors_profile():
    parent = factories.UserFactory()
    space = factories.MinorSpaceFactory()
    factories.LegalRepresentativeFactory(space=space, user=parent)
    client = sign_in(Client(), parent)
    response = client.post(_url(space, "allergy"), {"substance": "Arachide", "severity": "severe"})
    assert response.status_code == 302
    assert Allergy.objects.get(space=space).substance == "Arachide"
    assert ProfileChange.objects.get(space=space).by_label == parent.get_full_name()
    assert "Arachide" in client.get(_url(space, "profile")).content.decode()


def _all_profile_urls(space, entry_pk):
    urls = [_url(space, "profile"), _url(space, "measurements"), _url(space, "changes")]
    urls += [_url(space, key) for key in SINGLE_PARTS]
    urls += [_url(space, key) for key in ENTRY_PARTS]
    urls += [_url(space, "allergy", entree=entry_pk), _url(space, "allergy", supprimer=entry_pk)]
    return urls


@pytest.mark.parametrize("role", ["other_patient", "pro_outsider", "agent"])
def test_outsiders_get_403_on_every_profile_url(patient_space, agent, role):
    allergy = services.add_entry(
        space=patient_space,
        part="allergy",
        values={"substance": "Latex", "severity": "mild"},
        by=Actor.system(),
    )
    if role == "other_patient":
        user = factories.SpaceFactory().holder.user
    elif role == "pro_outsider":
        pro = factories.ProfessionalFactory()
        factories.TOTPDeviceFactory(user=pro.user)
        user = pro.user
    else:
        user = agent
    client = sign_in(Client(), user)
    for url in _all_profile_urls(patient_space, allergy.pk):
        for method in ("get", "post"):
            response = getattr(client, method)(url, {"supprimer": allergy.pk, "confirm": "on"})
            assert response.status_code == 403, f"{method} {url}"
            assert "Latex" not in response.content.decode()
    assert Allergy.objects.filter(pk=allergy.pk).exists()


def test_attending_physician_reads_but_cannot_change_the_profile(patient_space):
    relation = factories.CareRelationFactory(
        space=patient_space, basis=CareRelation.Basis.ATTENDING
    )
    factories.TOTPDeviceFactory(user=relation.professional.user)
    client = sign_in(Client(), relation.professional.user)
    page = client.get(_url(patient_space, "profile"))
    assert page.status_code == 200
    assert "Ajouter une allergie" not in page.content.decode()
    assert client.post(_url(patient_space, "allergy"), {"substance": "X"}).status_code == 403
    assert not Allergy.objects.exists()


def test_profile_page_shows_the_attending_physician(holder_client, patient_space):
    relation = factories.CareRelationFactory(
        space=patient_space, basis=CareRelation.Basis.ATTENDING
    )
    factories.CareRelationFactory(space=patient_space, basis=CareRelation.Basis.AUTHORISED)
    page = holder_client.get(_url(patient_space, "profile")).content.decode()
    assert relation.professional.title in page


def test_entry_of_another_space_is_not_found(holder_client, patient_space):
    other = factories.SpaceFactory()
    allergy = services.add_entry(
        space=other, part="allergy", values={"substance": "Latex"}, by=Actor.system()
    )
    assert holder_client.get(_url(patient_space, "allergy", entree=allergy.pk)).status_code == 404
    response = holder_client.post(
        _url(patient_space, "allergy"), {"supprimer": allergy.pk, "confirm": "on"}
    )
    assert response.status_code == 404
    assert Allergy.objects.filter(pk=allergy.pk).exists()


# --- BMI and measurements -------------------------------------------------------------


def test_bmi_from_weight_and_height():
    assert bmi(Decimal("70"), Decimal("175")) == Decimal("22.9")
    assert bmi(Decimal("70"), None) is None


def test_bmi_uses_the_latest_weight_and_height(holder_client, patient_space):
    for kind, value, day in [
        ("weight", "90", "2023-01-01"),
        ("weight", "70", "2024-01-01"),
        ("height", "175", "2022-01-01"),
    ]:
        services.add_entry(
            space=patient_space,
            part="measurement",
            values={"kind": kind, "value": Decimal(value), "measured_on": date.fromisoformat(day)},
            by=Actor.system(),
        )
    page = holder_client.get(_url(patient_space, "measurements")).content.decode()
    assert "22,9" in page


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"kind": "weight", "value": "-3"}, "value", "Le poids doit être compris entre 0,5 et 500"),
        ({"kind": "weight", "value": "501"}, "value", "Le poids doit être compris"),
        ({"kind": "height", "value": "19"}, "value", "La taille doit être comprise entre 20"),
        ({"kind": "height", "value": "261"}, "value", "La taille doit être comprise"),
        (
            {"kind": "blood_pressure", "value": "350", "value2": "80"},
            "value",
            "La tension systolique doit être comprise",
        ),
        (
            {"kind": "blood_pressure", "value": "120", "value2": "10"},
            "value2",
            "La tension diastolique doit être comprise",
        ),
        (
            {"kind": "blood_pressure", "value": "120"},
            "value2",
            "Indiquez la tension diastolique",
        ),
        ({"kind": "glycaemia", "value": "12"}, "value", "La glycémie doit être comprise"),
        ({"kind": "glycaemia", "value": "0.05"}, "value", "La glycémie doit être comprise"),
    ],
)
def test_absurd_measurements_are_refused_in_french(
    holder_client, patient_space, data, field, message
):
    response = holder_client.post(
        _url(patient_space, "measurement"), {"measured_on": "2024-01-01", **data}
    )
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert message.replace("'", "&#x27;") in response.content.decode()
    assert not Measurement.objects.exists()
    assert not ProfileChange.objects.exists()


def test_plausible_blood_pressure_is_kept(holder_client, patient_space):
    holder_client.post(
        _url(patient_space, "measurement"),
        {"kind": "blood_pressure", "value": "125", "value2": "80", "measured_on": "2024-01-01"},
    )
    m = Measurement.objects.get(space=patient_space)
    assert (m.value, m.value2) == (Decimal("125"), Decimal("80"))


def test_chart_has_a_polyline_point_per_measurement(holder_client, patient_space):
    for day, value in enumerate(["70", "71", "69.5", "72"], start=1):
        services.add_entry(
            space=patient_space,
            part="measurement",
            values={"kind": "weight", "value": Decimal(value), "measured_on": date(2024, 1, day)},
            by=Actor.system(),
        )
    page = holder_client.get(_url(patient_space, "measurements")).content.decode()
    assert page.count("<polyline") == 1
    points = page.split('<polyline points="')[1].split('"')[0].split()
    assert len(points) == 4
    svg = page.split("<svg")[1].split("</svg>")[0]
    assert "<title" in svg and "style=" not in svg
    # Coordinates stay in SVG syntax whatever the locale ("56.0", never "56,0").
    assert not re.search(r'c[xy]="[^"]*,', svg)
    assert svg.count("<circle") == 4
    # The data is in a table too, for those who do not see the chart.
    assert page.count('<time datetime="2024-01-0') == 4


def test_chart_of_a_single_measurement_shows_its_date_once(holder_client, patient_space):
    services.add_entry(
        space=patient_space,
        part="measurement",
        values={"kind": "weight", "value": Decimal("70"), "measured_on": date(2024, 3, 5)},
        by=Actor.system(),
    )
    page = holder_client.get(_url(patient_space, "measurements")).content.decode()
    svg = page.split("<svg")[1].split("</svg>")[0]
    assert svg.count("05/03/2024") == 1
    assert "1 mesure le 5 mars 2024" in svg
    assert "du 5 mars 2024 au 5 mars 2024" not in svg


@pytest.mark.parametrize(
    ("part", "data", "field", "message"),
    [
        (
            "treatment",
            {"medicine": "Levothyrox", "dosage": "", "since": "2031-05-05"},
            "since",
            "La date de début du traitement ne peut pas être dans le futur.",
        ),
        (
            "vaccination",
            {"vaccine": "DTP", "date": "2031-05-05", "lot": "", "given_by": ""},
            "date",
            "La date de la vaccination ne peut pas être dans le futur.",
        ),
    ],
)
def test_future_start_dates_are_refused_in_french(
    holder_client, patient_space, part, data, field, message
):
    response = holder_client.post(_url(patient_space, part), data)
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert message in response.content.decode()
    assert not ProfileChange.objects.exists()
    assert not Treatment.objects.exists() and not Vaccination.objects.exists()


def test_a_future_organ_donation_choice_date_is_refused(holder_client, patient_space):
    response = holder_client.post(
        _url(patient_space, "organ_donation"),
        {"donation_choice": "refuse", "donation_date": "2031-05-05"},
    )
    assert response.status_code == 200
    assert "La date du choix ne peut pas être dans le futur." in response.content.decode()


def test_blood_pressure_chart_draws_systolic_and_diastolic():
    rows = [
        Measurement(kind="blood_pressure", value=Decimal(s), value2=Decimal(d), measured_on=day)
        for s, d, day in [("120", "80", date(2024, 1, 1)), ("130", "85", date(2024, 2, 1))]
    ]
    c = chart("blood_pressure", rows)
    assert [len(s.points.split()) for s in c.series] == [2, 2]


# --- History and speed ----------------------------------------------------------------


def test_history_page_lists_changes_paginated(holder_client, patient_space):
    for i in range(30):
        services.add_entry(
            space=patient_space,
            part="allergy",
            values={"substance": f"Substance {i}", "severity": "mild"},
            by=Actor.system(),
        )
    first = holder_client.get(_url(patient_space, "changes")).content.decode()
    assert "Substance 29" in first and "Substance 0<" not in first
    second = holder_client.get(_url(patient_space, "changes", page=2)).content.decode()
    assert "Substance 0<" in second
    assert "Légère" in second  # choices shown by their label


def _fill(space, n):
    by = Actor.system()
    for i in range(n):
        for part, values in [
            ("allergy", {"substance": f"S{i}"}),
            ("history", {"kind": "personal" if i % 2 else "family", "condition": f"C{i}"}),
            ("treatment", {"medicine": f"M{i}"}),
            ("vaccination", {"vaccine": f"V{i}", "date": TODAY}),
            (
                "measurement",
                {"kind": "weight", "value": Decimal(60 + i % 40), "measured_on": TODAY},
            ),
            ("emergency_contact", {"name": f"N{i}", "phone": "0600000000"}),
        ]:
            services.add_entry(space=space, part=part, values=values, by=by)
    services.update_profile(space=space, part="blood_group", values={"blood_group": "A+"}, by=by)


def _queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("name", ["profile", "measurements"])
def test_profile_pages_run_a_constant_number_of_queries(name):
    small, large = factories.SpaceFactory(), factories.SpaceFactory()
    for space in (small, large):
        factories.CareRelationFactory(space=space, basis=CareRelation.Basis.ATTENDING)
    _fill(small, 1)
    _fill(large, 50)
    few = _queries(sign_in(Client(), small.holder.user), _url(small, name))
    many = _queries(sign_in(Client(), large.holder.user), _url(large, name))
    assert few == many


def test_str_carries_no_medical_content(patient_space):
    allergy = services.add_entry(
        space=patient_space, part="allergy", values={"substance": "Pénicilline"}, by=Actor.system()
    )
    assert "Pénicilline" not in str(allergy)
    assert "Pénicilline" not in str(ProfileChange.objects.get())


def test_closed_space_profile_cannot_change(patient_space):
    patient_space.state = patient_space.State.CLOSED
    patient_space.save()
    with pytest.raises(services.ProfileError):
        services.add_entry(
            space=patient_space, part="allergy", values={"substance": "X"}, by=Actor.system()
        )


# --- Notifications ---------------------------------------------------------------------


def test_a_representatives_change_tells_the_others_without_medical_content(
    django_capture_on_commit_callbacks,
):
    space = factories.MinorSpaceFactory()
    first = factories.LegalRepresentativeFactory(space=space)
    second = factories.LegalRepresentativeFactory(space=space)
    with django_capture_on_commit_callbacks(execute=True):
        services.add_entry(
            space=space,
            part="allergy",
            values={"substance": "Pénicilline", "reaction": "Urticaire", "severity": "severe"},
            by=Actor(user=first.user, role=first.user.kind),
        )
    told = Notification.objects.filter(space=space, kind="profile_changed")
    assert set(told.values_list("recipient", flat=True)) == {second.user.pk}
    notification = told.get()
    assert "a modifié le profil médical" in notification.body
    assert "Pénicilline" not in notification.body + notification.subject
    assert "Urticaire" not in notification.body
    assert_email_left(second.user.email, without=("Pénicilline", "Urticaire"))
    assert_email_left(first.user.email, count=0)


def test_the_holder_is_not_told_of_their_own_change(
    patient_space, django_capture_on_commit_callbacks
):
    holder = patient_space.holder.user
    with django_capture_on_commit_callbacks(execute=True):
        services.update_profile(
            space=patient_space,
            part="blood_group",
            values={"blood_group": "O+"},
            by=Actor(user=holder, role=holder.kind),
        )
    assert not Notification.objects.filter(space=patient_space, kind="profile_changed").exists()
    assert_email_left(holder.email, count=0)


def test_a_burst_of_changes_makes_one_notification(django_capture_on_commit_callbacks):
    space = factories.MinorSpaceFactory()
    first = factories.LegalRepresentativeFactory(space=space)
    second = factories.LegalRepresentativeFactory(space=space)
    with django_capture_on_commit_callbacks(execute=True):
        for vaccine in ("DTP", "ROR", "Hépatite B"):
            services.add_entry(
                space=space,
                part="vaccination",
                values={"vaccine": vaccine, "date": date(2024, 1, 5)},
                by=Actor(user=first.user, role=first.user.kind),
            )
    assert Notification.objects.filter(space=space, kind="profile_changed").count() == 1
    assert_email_left(second.user.email, without=("DTP", "ROR", "Hépatite B"))


def test_a_professional_reads_the_profile_inside_the_pro_portal(patient_space):
    relation = factories.CareRelationFactory(
        space=patient_space, basis=CareRelation.Basis.ATTENDING
    )
    services.add_entry(
        space=patient_space,
        part="allergy",
        values={"substance": "Pénicilline", "severity": "severe"},
        by=Actor.system(),
    )
    factories.TOTPDeviceFactory(user=relation.professional.user)
    client = sign_in(Client(), relation.professional.user)
    patient_page = client.get(f"/pro/patients/{patient_space.public_id}/").content.decode()
    pro_url = f"/pro/patients/{patient_space.public_id}/profil/"
    assert f'href="{pro_url}"' in patient_page  # the pro patient page links to the pro profile

    page = client.get(pro_url).content.decode()
    assert "Pénicilline" in page
    assert "Portail des professionnels de santé" in page.split("</header>")[0]
    crumbs = page.split('class="fr-breadcrumb__list"')[1].split("</ol>")[0]
    assert "Mes patients" in crumbs
    assert patient_space.holder.display_name in crumbs
    assert f"/espace/{patient_space.public_id}/" not in page  # nothing leads to patient pages
    assert "Retour au dossier du patient" in page
    assert "Vous les consultez sans pouvoir les modifier" in page
    assert "utiles à votre prise en charge" not in page  # the patient's wording
    assert "Ajouter une allergie" not in page
    # Through the same policy and trail as the patient's page.
    event = AuditEvent.objects.filter(space=patient_space, action="view_profile").latest("seq")
    assert (event.actor, event.outcome, event.basis) == (
        relation.professional.user,
        "allowed",
        "attending",
    )
    for rest in ("courbes/", "historique/"):
        sub = client.get(pro_url + rest).content.decode()
        assert f'href="{pro_url}"' in sub
        assert f"/espace/{patient_space.public_id}/" not in sub


@pytest.mark.parametrize("who", ["holder", "outsider", "blocked"])
def test_the_pro_profile_is_refused_to_patients_outsiders_and_the_blocked(patient_space, who):
    if who == "holder":
        user = patient_space.holder.user
    else:
        professional = factories.ProfessionalFactory()
        factories.TOTPDeviceFactory(user=professional.user)
        user = professional.user
        if who == "blocked":
            factories.CareRelationFactory(
                space=patient_space, professional=professional, basis=CareRelation.Basis.ATTENDING
            )
            from acces.services import block

            block(
                space=patient_space,
                professional=professional,
                by=Actor(patient_space.holder.user, "patient"),
            )
    client = sign_in(Client(), user)
    for rest in ("", "courbes/", "historique/"):
        response = client.get(f"/pro/patients/{patient_space.public_id}/profil/{rest}")
        assert response.status_code == 403, rest
