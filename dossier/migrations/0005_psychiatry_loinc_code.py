"""The psychiatric consultation report had a code whose LOINC check digit is wrong (28628-0).

Its LOINC code is 34788-0 "Psychiatry Consult note": the type, its documents and the
matrix's rules move to it.
"""

from django.db import migrations

OLD, NEW = "28628-0", "34788-0"
# `acces.matrix.VERSION_KEY`: a cached matrix must not survive its rows changing.
MATRIX_VERSION_KEY = "acces:matrix:version"


def move(apps, schema_editor, old=OLD, new=NEW):
    DocumentType = apps.get_model("dossier", "DocumentType")
    Document = apps.get_model("dossier", "Document")
    DocumentAccessRule = apps.get_model("acces", "DocumentAccessRule")
    current = DocumentType.objects.filter(code=old).first()
    if current is None:
        return
    DocumentType.objects.update_or_create(
        code=new,
        defaults={
            "label": current.label,
            "category": current.category,
            "patient_may_add": current.patient_may_add,
        },
    )
    Document.objects.filter(type_id=old).update(type_id=new, type_code=new)
    for rule in DocumentAccessRule.objects.filter(type_code=old):
        if DocumentAccessRule.objects.filter(profession=rule.profession, type_code=new).exists():
            rule.delete()
        else:
            rule.type_code = new
            rule.save(update_fields=["type_code"])
    current.delete()
    from django.core.cache import cache

    cache.delete(MATRIX_VERSION_KEY)


def back(apps, schema_editor):
    move(apps, schema_editor, old=NEW, new=OLD)


class Migration(migrations.Migration):
    dependencies = [
        ("dossier", "0004_imported_documents_without_account"),
        ("acces", "0008_professional_search_keys"),
    ]

    operations = [migrations.RunPython(move, back)]
