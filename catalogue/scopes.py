"""The scopes a service may be granted, SMART-on-FHIR style, and their words for the patient.

A scope is `patient/<Resource>.<read|write>`, optionally limited to one category of DMP
documents: `patient/DocumentReference.read?category=biology` (the category codes of
`dossier.models.Category`). What each scope lets an app do is the policy's
(`acces.policy.APP_SCOPES`); these are the names and the plain-French labels shown at
connection and on "Mes services connectés".
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from dossier.models import Category

RESOURCE_CHOICES = [
    ("Patient", _("Identité (nom, prénom, date de naissance)")),
    ("DocumentReference", _("Documents du dossier médical")),
    ("Observation", _("Mesures (poids, taille, tension, glycémie)")),
    ("Appointment", _("Rendez-vous de l'agenda santé")),
    ("Immunization", _("Vaccinations")),
    ("AllergyIntolerance", _("Allergies")),
]
RESOURCES = dict(RESOURCE_CHOICES)

# What each resource may be asked for: identity, vaccinations and allergies are read only.
WRITABLE = {"DocumentReference", "Observation", "Appointment"}
# SMART's context and permission scopes: they open no data (the policy's APP_SCOPES does
# not know them), any service may ask for them, and the token response always names the
# patient (`patient`) and always carries a refresh token.
CONTEXT_SCOPES = frozenset({"launch/patient", "offline_access", "online_access"})

# What a professional's software (`catalogue.models.Software`) may be granted by the
# professional who authorises it: `user/` scopes, acting as that professional, within what
# the policy lets them see and add (`acces.policy.APP_SCOPES`), for each of their patients.
SOFTWARE_SCOPES = {
    "user/DocumentReference.read": _(
        "Rechercher et lire les documents du DMP de vos patients, comme vous le pouvez"
    ),
    "user/DocumentReference.write": _("Ajouter des documents au DMP de vos patients, en votre nom"),
    "user/Consent.write": _(
        "Déclarer le consentement d'un patient ou l'accès en urgence (bris de glace), en votre nom"
    ),
}

_READ = {
    "Patient": _("Lire votre identité (nom, prénom, date de naissance)"),
    "DocumentReference": _("Lire les documents de votre dossier médical"),
    "Observation": _("Lire vos mesures (poids, taille, tension, glycémie)"),
    "Appointment": _("Lire les rendez-vous de votre agenda santé"),
    "Immunization": _("Lire vos vaccinations"),
    "AllergyIntolerance": _("Lire vos allergies"),
}
_WRITE = {
    "DocumentReference": _("Ajouter des documents à votre dossier médical"),
    "Observation": _("Ajouter des mesures (poids, taille, tension, glycémie)"),
    "Appointment": _("Ajouter ou modifier des rendez-vous dans votre agenda santé"),
}


def scope(resource: str, access: str, document_category: str = "") -> str:
    """The scope's name: `scope("DocumentReference", "read", "biology")`."""
    name = f"patient/{resource}.{access}"
    return f"{name}?category={document_category}" if document_category else name


def parse(name: str) -> tuple[str, str, str] | None:
    """(resource, access, document category) of a scope name, or None if it is not one."""
    base, _sep, query = name.partition("?")
    if not base.startswith("patient/") or "." not in base:
        return None
    resource, _dot, access = base.removeprefix("patient/").rpartition(".")
    if resource not in RESOURCES or access not in ("read", "write"):
        return None
    if access == "write" and resource not in WRITABLE:
        return None
    category = ""
    if query:
        key, _eq, category = query.partition("=")
        if key != "category" or resource != "DocumentReference" or category not in Category.values:
            return None
    return resource, access, category


def label(name: str) -> str:
    """The scope in the patient's words."""
    parsed = parse(name)
    if parsed is None:
        return name
    resource, access, category = parsed
    if category:
        category_label = Category(category).label
        if access == "read":
            return str(_("Lire vos documents : %(category)s")) % {"category": category_label}
        return str(_("Ajouter des documents : %(category)s")) % {"category": category_label}
    return str((_READ if access == "read" else _WRITE)[resource])
