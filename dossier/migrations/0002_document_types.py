"""The reference list of document types, keyed by LOINC code (data, editable later)."""

from django.db import migrations

TYPES = [
    # code, label, category, patient may add
    ("57833-6", "Ordonnance de médicaments", "prescriptions", True),
    ("60593-1", "Dispensation de médicaments", "prescriptions", False),
    ("57828-6", "Ordonnance d'examens ou de soins", "prescriptions", True),
    ("11502-2", "Compte rendu d'examens de biologie médicale", "biology", True),
    ("18748-4", "Compte rendu d'imagerie médicale", "imaging", True),
    ("11524-6", "Électrocardiogramme", "imaging", False),
    ("11488-4", "Compte rendu de consultation", "reports", False),
    ("34112-3", "Compte rendu d'hospitalisation", "reports", False),
    ("11504-8", "Compte rendu opératoire", "reports", False),
    ("28628-0", "Compte rendu de consultation de psychiatrie", "reports", False),
    ("11490-0", "Lettre de sortie d'hospitalisation", "discharge", False),
    ("34133-9", "Lettre de liaison", "discharge", False),
    ("11369-6", "Historique des vaccinations", "vaccinations", True),
    ("87273-9", "Note de vaccination", "vaccinations", False),
    ("51851-4", "Certificat médical", "certificates", True),
    ("60591-5", "Synthèse médicale", "summaries", False),
    ("42348-3", "Directives anticipées", "summaries", True),
    ("11341-5", "Dossier médical en santé au travail", "occupational", False),
    ("51855-5", "Document personnel du patient", "patient", True),
]


def load(apps, schema_editor):
    DocumentType = apps.get_model("dossier", "DocumentType")
    for code, label, category, patient_may_add in TYPES:
        DocumentType.objects.update_or_create(
            code=code,
            defaults={"label": label, "category": category, "patient_may_add": patient_may_add},
        )


class Migration(migrations.Migration):
    dependencies = [("dossier", "0001_initial")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
