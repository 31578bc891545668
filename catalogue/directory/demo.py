"""Three referenced services for the demo, with their OAuth2 clients, and a professional's
software (idempotent).

The slugs, client ids, purpose codes and redirect URI are fixed: the scripts under
`docs/exemples/` play these services and rely on them.
"""

from __future__ import annotations

from datetime import date

from django.db import transaction
from oauth2_provider.models import get_application_model

from catalogue.directory import services
from catalogue.models import Purpose, PurposeScope, Service, ServiceTheme, Software, Theme

REDIRECT_URI = "http://127.0.0.1:8765/callback"
# The professional's software `docs/exemples/logiciel_pro.py` plays (a confidential client:
# this secret is the demo's, printed in that script; a real one is given once, hashed here).
SOFTWARE_CLIENT_ID = "demo-logiciel-cabinet"
SOFTWARE_CLIENT_SECRET = "demo-secret-logiciel-cabinet"

SERVICES = [
    {
        "slug": "glucometre-connecte",
        "client_id": "demo-glucometre",
        "name": "GlucoSuivi",
        "editor": "Diabéto Connect SAS",
        "summary": "Un lecteur de glycémie connecté qui envoie vos mesures à votre espace.",
        "description": (
            "GlucoSuivi relève votre glycémie avec son lecteur connecté et la range dans "
            "votre profil médical, où vous suivez son évolution sur un graphique."
        ),
        "device_kind": Service.DeviceKind.MEDICAL_DEVICE,
        "economic_model": Service.EconomicModel.REIMBURSED,
        "themes": [Theme.DEVICES, Theme.CHRONIC],
        "purposes": [
            (
                "mesures",
                "Suivre votre glycémie",
                "Le lecteur ajoute vos mesures de glycémie à votre profil et lit vos mesures "
                "précédentes pour vous montrer leur évolution.",
                [("Observation", "read"), ("Observation", "write")],
            )
        ],
    },
    {
        "slug": "prise-de-rendez-vous",
        "client_id": "demo-rendez-vous",
        "name": "RDV Santé",
        "editor": "Agenda Médical France",
        "summary": "Prenez rendez-vous en ligne ; vos rendez-vous arrivent dans votre agenda.",
        "description": (
            "RDV Santé vous permet de prendre rendez-vous avec des professionnels de santé. "
            "Les rendez-vous pris sont ajoutés à l'agenda de votre espace."
        ),
        "device_kind": Service.DeviceKind.CONSUMER,
        "economic_model": Service.EconomicModel.FREE,
        "themes": [Theme.BOOKING],
        "purposes": [
            (
                "agenda",
                "Tenir votre agenda santé à jour",
                "Le service ajoute les rendez-vous que vous prenez à votre agenda, et les "
                "modifie quand vous les déplacez.",
                [("Appointment", "read"), ("Appointment", "write")],
            )
        ],
    },
    {
        "slug": "sante-enfant",
        "client_id": "demo-sante-enfant",
        "name": "Mémo santé enfant",
        "editor": "Petite Enfance Numérique",
        "summary": "Le carnet de santé de votre enfant : vaccins, rappels et conseils.",
        "description": (
            "Mémo santé enfant vous rappelle les vaccins et les examens de votre enfant, "
            "à partir des vaccinations inscrites dans son espace."
        ),
        "device_kind": Service.DeviceKind.CONSUMER,
        "economic_model": Service.EconomicModel.FREE,
        "themes": [Theme.CHILDREN, Theme.PREVENTION],
        "purposes": [
            (
                "vaccinations",
                "Suivre les vaccinations",
                "Le service lit les vaccinations inscrites dans l'espace pour rappeler les "
                "prochaines.",
                [("Immunization", "read")],
            ),
            (
                "identite",
                "Reconnaître l'enfant",
                "Le service lit le nom, le prénom et la date de naissance pour calculer le "
                "calendrier des vaccins.",
                [("Patient", "read")],
            ),
        ],
    },
]


@transaction.atomic
def load() -> list[Service]:
    """Create or update the three demo services; a second run changes nothing."""
    Application = get_application_model()
    loaded = []
    for spec in SERVICES:
        application, _ = Application.objects.update_or_create(
            client_id=spec["client_id"],
            defaults={
                "name": spec["name"],
                "client_type": Application.CLIENT_PUBLIC,
                "authorization_grant_type": Application.GRANT_AUTHORIZATION_CODE,
                "client_secret": "",
                "redirect_uris": REDIRECT_URI,
                "skip_authorization": False,
            },
        )
        service, _ = Service.objects.update_or_create(
            slug=spec["slug"],
            defaults={
                "name": spec["name"],
                "editor": spec["editor"],
                "summary": spec["summary"],
                "description": spec["description"],
                "website_url": f"https://{spec['slug']}.exemple.fr/",
                "ios_url": f"https://apps.apple.com/fr/app/{spec['slug']}",
                "android_url": "https://play.google.com/store/apps/details?id=fr.exemple."
                + spec["slug"].replace("-", ""),
                "terms_url": f"https://{spec['slug']}.exemple.fr/conditions",
                "privacy_url": f"https://{spec['slug']}.exemple.fr/confidentialite",
                "device_kind": spec["device_kind"],
                "economic_model": spec["economic_model"],
                "referenced_on": date(2025, 3, 1),
                "meets_urbanisation": True,
                "meets_security": True,
                "meets_interoperability": True,
                "meets_ethics": True,
                "status": Service.Status.ONLINE,
                "application": application,
            },
        )
        for theme in spec["themes"]:
            ServiceTheme.objects.get_or_create(service=service, theme=theme)
        for position, (code, label, description, scopes) in enumerate(spec["purposes"]):
            purpose, _ = Purpose.objects.update_or_create(
                service=service,
                code=code,
                defaults={"label": label, "description": description, "position": position},
            )
            for resource, access in scopes:
                PurposeScope.objects.get_or_create(
                    purpose=purpose, resource=resource, access=access, document_category=""
                )
        loaded.append(service)
    load_software()
    return loaded


def load_software() -> Software:
    """The demo's professional software, registered once (its secret set at creation)."""
    Application = get_application_model()
    application = Application.objects.filter(client_id=SOFTWARE_CLIENT_ID).first()
    if application is None:
        application = Application.objects.create(
            client_id=SOFTWARE_CLIENT_ID,
            client_secret=SOFTWARE_CLIENT_SECRET,
            name="MédiCabinet (démo)",
            client_type=Application.CLIENT_CONFIDENTIAL,
            authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
            redirect_uris=REDIRECT_URI,
            algorithm="",
        )
    software, _ = Software.objects.update_or_create(
        slug="medicabinet",
        defaults={
            "name": "MédiCabinet",
            "editor": "Éditions Logiciels de Santé",
            "homologation_ref": "DEMO-SEGUR-DMP-0001",
            "is_active": True,
            "application": application,
        },
    )
    return software


def load_staff(*, email: str, password: str, by):
    """The demo's referencing staff account, created once."""
    from espace_sante.models import User

    staff = User.objects.filter(email=email).first()
    if staff is None:
        staff = services.create_referencing_staff(
            email=email, first_name="Inès", last_name="Moreau", password=password, by=by
        )
    return staff
