"""Walk the admin as its staff: no page shows care or a way in; no autocomplete nor search raises.

Beside `test_url_walk.py`, which walks every route as every attacker: here the
technical superuser walks every admin URL the project registers (each model's
list, search, add, change, history and delete pages, for every object, and every
custom admin route) and must find no document, no document content, no
notification text, no second-factor secret and no typed password. Then every
admin autocomplete (every field of every registered model, reverse relations
included) and every changelist search answers the staff (CPAM agent, superuser)
without raising, and refuses patients and professionals.
"""

import base64
import re

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import URLPattern, URLResolver, reverse

from acces.models import CareRelation
from espace_sante.models import Notification, User
from tests import factories
from tests.conftest import sign_in

pytestmark = pytest.mark.django_db

DOCUMENT_TITLE = "Compte rendu Ornithorynquesque"
DOCUMENT_CONTENT = "Glycemie-Vertigineuse-731"
NOTIFICATION_TEXT = "Message-Confidentiel-Papyrus"
TYPED_PASSWORD = "Mot-de-passe-Tape-Zanzibar-9"


@pytest.fixture
def superuser(db):
    user = factories.UserFactory(
        kind=User.Kind.ADMIN, is_staff=True, is_superuser=True, email="technique@exemple.fr"
    )
    factories.TOTPDeviceFactory(user=user)
    return user


@pytest.fixture
def seeded(agent, superuser):
    """A space with a document, a notification, a professional's TOTP and a failed sign-in."""
    space = factories.SpaceFactory()
    professional = factories.ProfessionalFactory()
    device = factories.TOTPDeviceFactory(user=professional.user)
    factories.CareRelationFactory(
        space=space, professional=professional, basis=CareRelation.Basis.AUTHORISED
    )
    pdf = b"%PDF-1.4\n% " + DOCUMENT_CONTENT.encode() + b"\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    document = factories.make_document(
        space, professional=professional, title=DOCUMENT_TITLE, data=pdf
    )
    Notification.objects.create(
        recipient=space.holder.user,
        space=space,
        kind="space_accessed",
        subject=NOTIFICATION_TEXT,
        body=NOTIFICATION_TEXT,
    )
    # A failed sign-in, which django-axes records with the form's data.
    Client().post(
        reverse("account_login"), {"login": professional.user.email, "password": TYPED_PASSWORD}
    )
    return {"space": space, "professional": professional, "device": device, "document": document}


def _secrets(seeded) -> list[str]:
    device = seeded["device"]
    return [
        DOCUMENT_TITLE,
        DOCUMENT_CONTENT,
        NOTIFICATION_TEXT,
        TYPED_PASSWORD,
        device.key,
        base64.b32encode(device.bin_key).decode(),
        base64.b32encode(device.bin_key).decode().rstrip("="),
    ]


def _admin_routes(patterns=None, prefix=""):
    """Every admin URL pattern, as (template with <param> placeholders, its parameters)."""
    for entry in patterns if patterns is not None else admin.site.get_urls():
        raw = str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _admin_routes(entry.url_patterns, prefix + raw)
        elif isinstance(entry, URLPattern):
            template = re.sub(r"<(?:\w+:)?(\w+)>", r"<\1>", prefix + raw)
            if template.startswith("^"):
                template = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"<\1>", template).strip("^$")
            yield "/admin/" + template, tuple(re.findall(r"<(\w+)>", template))


def _model_of(template: str):
    for model in admin.site._registry:
        if template.startswith(f"/admin/{model._meta.app_label}/{model._meta.model_name}/"):
            return model
    return None


def _admin_urls() -> list[str]:
    """Every admin route, for every object of its model (the seeded world is small)."""
    urls = []
    apps = sorted({model._meta.app_label for model in admin.site._registry})
    for template, params in _admin_routes():
        if not params:
            urls.append(template)
        elif params == ("app_label",):
            urls += [template.replace("<app_label>", label) for label in apps]
        elif params == ("object_id",) and _model_of(template) is not None:
            model = _model_of(template)
            for pk in model._default_manager.values_list("pk", flat=True):
                urls.append(template.replace("<object_id>", str(pk)))
        elif "id" in params and _model_of(template) is User:  # the password page
            for pk in User.objects.values_list("pk", flat=True):
                urls.append(template.replace("<id>", str(pk)))
    for model in admin.site._registry:
        changelist = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        urls += [f"{changelist}?q={DOCUMENT_TITLE[:12]}", f"{changelist}?q={NOTIFICATION_TEXT}"]
    return urls


def _without_echo(body: str, url: str) -> str:
    """A search box shows back what was typed: that is no leak."""
    if "?q=" in url:
        typed = url.split("?q=", 1)[1]
        for echo in (f'value="{typed}"', f"q={typed}", typed):
            body = body.replace(echo, "")
    return body


def test_superuser_finds_no_care_and_no_secret_on_any_admin_page(superuser, seeded):
    client = sign_in(Client(), superuser)
    secrets = _secrets(seeded)
    statuses = {}
    for url in _admin_urls():
        response = client.get(url)
        body = _without_echo(response.content.decode(errors="replace"), url)
        leaked = [secret for secret in secrets if secret in body]
        assert not leaked, f"{url} shows {leaked}"
        assert response.status_code in (200, 302, 403, 404, 405), (url, response.status_code)
        if response.status_code == 302:
            assert not response["Location"].startswith(("/espace/", "/pro/")), url
        statuses[url] = response.status_code
    # The walk ran for real: the superuser opened the pages, devices' pages included.
    device = seeded["device"]
    assert statuses[reverse("admin:otp_totp_totpdevice_change", args=[device.pk])] == 200
    user = seeded["professional"].user
    assert statuses[reverse("admin:espace_sante_user_change", args=[user.pk])] == 200
    assert sum(status == 200 for status in statuses.values()) >= 60


def test_superuser_cannot_open_a_document_through_the_patient_pages(superuser, seeded):
    """Outside the admin too: the superuser's session reaches no page of the document."""
    client = sign_in(Client(), superuser)
    space, document = seeded["space"], seeded["document"]
    for url in (
        f"/espace/{space.public_id}/documents/",
        f"/espace/{space.public_id}/documents/{document.public_id}/",
        f"/espace/{space.public_id}/documents/{document.public_id}/telecharger/",
        f"/pro/patients/{space.public_id}/documents/{document.public_id}/",
    ):
        response = client.get(url)
        assert response.status_code in (302, 403, 404), url
        body = response.content.decode(errors="replace")
        assert DOCUMENT_TITLE not in body and DOCUMENT_CONTENT not in body, url


def test_second_factor_devices_have_no_key_or_qr_code_page(superuser, seeded):
    client = sign_in(Client(), superuser)
    device = seeded["device"]
    page = client.get(reverse("admin:otp_totp_totpdevice_change", args=[device.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert device.key not in text
    assert "otpauth://" not in text and "qrcode" not in text.lower()
    # django-otp's own admin served the key at /config/ and its QR code at /qrcode/.
    for suffix in ("config/", "qrcode/"):
        url = reverse("admin:otp_totp_totpdevice_change", args=[device.pk]).replace(
            "change/", suffix
        )
        response = client.get(url)
        assert response.status_code in (302, 404), url
        assert device.key not in response.content.decode(errors="replace")
    # Nor is a device added, changed or deleted from the admin.
    assert client.get(reverse("admin:otp_totp_totpdevice_add")).status_code == 403
    client.post(reverse("admin:otp_totp_totpdevice_delete", args=[device.pk]), {"post": "yes"})
    assert type(device).objects.filter(pk=device.pk).exists()


# --- Autocompletes and searches: every staff request answers, nobody else's does -----------

STAFF = ["agent", "superuser"]
OUTSIDERS = ["patient", "professional_user"]
TERMS = ["", "x"]
SEARCHES = [
    "x",
    "Martin",
    "2 80 05 44 123 456",
    "2800544",
    "17/05/1980",
    "31/02/2020",
    "2A",
    "' OR 1=1 --",
    "%_\\",
    "Ève-Éloïse",
    "a" * 300,
]


def _autocomplete_urls() -> list[str]:
    """Every field of every registered model (reverse ones too), and names that exist nowhere."""
    base = reverse("admin:autocomplete")
    urls = [
        f"{base}?app_label=espace_sante&model_name=patient&field_name=space&term=x",
        f"{base}?app_label=nope&model_name=nope&field_name=nope&term=x",
        f"{base}?app_label=espace_sante&model_name=patient&field_name=nope&term=x",
        f"{base}?term=x",
    ]
    for model in admin.site._registry:
        for field in model._meta.get_fields():
            for term in TERMS:
                urls.append(
                    f"{base}?app_label={model._meta.app_label}&model_name={model._meta.model_name}"
                    f"&field_name={field.name}&term={term}"
                )
    return urls


def _search_urls() -> list[str]:
    return [
        reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        + "?"
        + "q="
        + term
        for model in admin.site._registry
        for term in SEARCHES
    ]


@pytest.fixture
def people(agent, superuser):
    space = factories.SpaceFactory(holder__last_name="Martin")
    professional = factories.ProfessionalFactory()
    factories.TOTPDeviceFactory(user=professional.user)
    return {
        "agent": agent,
        "superuser": superuser,
        "patient": space.holder.user,
        "professional_user": professional.user,
    }


def test_no_admin_path_links_a_national_identity_to_an_account(superuser, seeded):
    """A FranceConnect or Pro Santé Connect link made in the admin would sign whoever holds
    that identity in as the account's owner: allauth's social accounts, their tokens and
    its apps are not in the admin, not even for a superuser."""
    from allauth.socialaccount.models import SocialAccount, SocialApp, SocialToken

    client = sign_in(Client(), superuser)
    index = client.get(reverse("admin:index"))
    assert "socialaccount" not in [app["app_label"] for app in index.context["app_list"]]
    for model in (SocialAccount, SocialToken, SocialApp):
        name = model._meta.model_name
        for url in (f"/admin/socialaccount/{name}/", f"/admin/socialaccount/{name}/add/"):
            assert client.get(url).status_code == 404, url
    holder = seeded["space"].holder.user
    client.post(
        "/admin/socialaccount/socialaccount/add/",
        {
            "user": holder.pk,
            "provider": "franceconnect",
            "uid": "identite-volee",
            "extra_data": "{}",
        },
    )
    assert not SocialAccount.objects.exists()


@pytest.mark.parametrize("role", STAFF)
def test_every_admin_autocomplete_answers_the_staff_without_raising(people, role):
    """The test client raises what the view raises: a 500 fails here with its traceback."""
    client = sign_in(Client(), people[role])
    statuses = {}
    for url in _autocomplete_urls():
        response = client.get(url)
        assert response.status_code in (200, 403, 404), (url, response.status_code)
        statuses[url] = response.status_code
    # The reverse side of a relation is no autocompleted field: refused, not a 500.
    first = _autocomplete_urls()[0]
    assert statuses[first] == 403


@pytest.mark.parametrize("role", STAFF)
def test_every_changelist_search_answers_the_staff_without_raising(people, role):
    client = sign_in(Client(), people[role])
    reached = 0
    for url in _search_urls():
        response = client.get(url)
        assert response.status_code in (200, 302, 403), (url, response.status_code)
        reached += response.status_code == 200
    assert reached >= len(SEARCHES) * 2  # the agent's spaces and identities at least


def test_the_agents_search_finds_the_person_typed(people):
    client = sign_in(Client(), people["agent"])
    response = client.get(reverse("admin:espace_sante_space_changelist"), {"q": "Martin"})
    assert [str(space.holder.last_name) for space in response.context["cl"].result_list] == [
        "Martin"
    ]


@pytest.mark.parametrize("role", OUTSIDERS)
def test_patients_and_professionals_get_no_autocomplete_nor_search(people, role):
    client = sign_in(Client(), people[role])
    for url in [*_autocomplete_urls()[:40], *_search_urls()]:
        response = client.get(url)
        assert response.status_code in (302, 403), (url, response.status_code)
        assert b'"results"' not in response.content, url
        if response.status_code == 302:
            assert "login" in response["Location"] or "connexion" in response["Location"], url
