"""The default profession × document-type matrix (reasoned in docs/MATRICE.md).

Four document types that the matrix needs and that the reference list of
`dossier` lacked are added here, with their LOINC codes and the labels of the
French terminology (ANS, TRE_A04-Loinc): the delivery report (sage-femme), the
care follow-up and the functional assessment written by auxiliaires médicaux
(infirmier, masseur-kinésithérapeute), and the dental chart (chirurgien-dentiste).
Going back removes exactly these four types and exactly the rules below.

The data is written out here rather than imported: a migration must not change
when the code does.
"""

from django.core.cache import cache
from django.db import migrations

# code, label, category, patient may add
ADDED_TYPES = [
    ("15508-5", "Compte rendu d'accouchement", "reports", False),
    ("11506-3", "Compte rendu de suivi de soins par un auxiliaire médical", "reports", False),
    ("47420-5", "Compte rendu de bilan fonctionnel par un auxiliaire médical", "reports", False),
    ("83836-7", "Schéma dentaire", "summaries", False),
]

PRESCRIPTIONS = ["57833-6", "57828-6"]  # médicaments; examens ou soins
DISPENSATION = "60593-1"
BIOLOGY = "11502-2"
IMAGING = "18748-4"
ECG = "11524-6"
VACCINATIONS = ["11369-6", "87273-9"]
DISCHARGE = ["11490-0", "34133-9"]  # lettre de sortie, lettre de liaison
CARE_FOLLOW_UP = "11506-3"
FUNCTIONAL_ASSESSMENT = "47420-5"
DELIVERY_REPORT = "15508-5"
ADVANCE_DIRECTIVES = "42348-3"
MEDICAL_SUMMARY = "60591-5"
DENTAL_CHART = "83836-7"
CONSULTATION_REPORT = "11488-4"
HOSPITAL_REPORT = "34112-3"
OPERATIVE_REPORT = "11504-8"
PSYCHIATRY_REPORT = "28628-0"
CERTIFICATE = "51851-4"
PATIENT_DOCUMENT = "51855-5"
# "11341-5" (dossier médical en santé au travail) is in no row: the occupational
# physician's access to that part is decided by the policy, not by profession.

MATRIX = {
    # Every type but the occupational-health part.
    "medecin": [
        *PRESCRIPTIONS,
        DISPENSATION,
        BIOLOGY,
        IMAGING,
        ECG,
        CONSULTATION_REPORT,
        HOSPITAL_REPORT,
        OPERATIVE_REPORT,
        PSYCHIATRY_REPORT,
        DELIVERY_REPORT,
        CARE_FOLLOW_UP,
        FUNCTIONAL_ASSESSMENT,
        *DISCHARGE,
        *VACCINATIONS,
        CERTIFICATE,
        MEDICAL_SUMMARY,
        ADVANCE_DIRECTIVES,
        DENTAL_CHART,
        PATIENT_DOCUMENT,
    ],
    "pharmacien": [*PRESCRIPTIONS, DISPENSATION, BIOLOGY, *VACCINATIONS],
    "infirmier": [
        *PRESCRIPTIONS,
        DISPENSATION,
        BIOLOGY,
        *VACCINATIONS,
        *DISCHARGE,
        CARE_FOLLOW_UP,
        FUNCTIONAL_ASSESSMENT,
        ADVANCE_DIRECTIVES,
    ],
    "sage_femme": [
        *PRESCRIPTIONS,
        DISPENSATION,
        BIOLOGY,
        IMAGING,
        *VACCINATIONS,
        *DISCHARGE,
        DELIVERY_REPORT,
        CARE_FOLLOW_UP,
    ],
    "chirurgien_dentiste": [
        *PRESCRIPTIONS,
        DISPENSATION,
        BIOLOGY,
        IMAGING,
        MEDICAL_SUMMARY,
        DENTAL_CHART,
    ],
    "masseur_kinesitherapeute": [
        *PRESCRIPTIONS,
        IMAGING,
        CARE_FOLLOW_UP,
        FUNCTIONAL_ASSESSMENT,
    ],
}

# `acces.matrix.VERSION_KEY`: a cached matrix must not survive the rows changing under it.
MATRIX_VERSION_KEY = "acces:matrix:version"


def _pairs():
    return [(profession, code) for profession, codes in MATRIX.items() for code in codes]


def load(apps, schema_editor):
    DocumentType = apps.get_model("dossier", "DocumentType")
    DocumentAccessRule = apps.get_model("acces", "DocumentAccessRule")
    for code, label, category, patient_may_add in ADDED_TYPES:
        DocumentType.objects.get_or_create(
            code=code,
            defaults={"label": label, "category": category, "patient_may_add": patient_may_add},
        )
    DocumentAccessRule.objects.bulk_create(
        [DocumentAccessRule(profession=p, type_code=code) for p, code in _pairs()],
        ignore_conflicts=True,
    )
    cache.delete(MATRIX_VERSION_KEY)


def unload(apps, schema_editor):
    DocumentType = apps.get_model("dossier", "DocumentType")
    DocumentAccessRule = apps.get_model("acces", "DocumentAccessRule")
    for profession, code in _pairs():
        DocumentAccessRule.objects.filter(profession=profession, type_code=code).delete()
    DocumentType.objects.filter(code__in=[code for code, *_ in ADDED_TYPES]).delete()
    cache.delete(MATRIX_VERSION_KEY)


class Migration(migrations.Migration):
    dependencies = [
        ("acces", "0005_document_access_rule"),
        ("dossier", "0003_profile"),
    ]

    operations = [migrations.RunPython(load, unload)]
