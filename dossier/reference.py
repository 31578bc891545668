"""The reference data of the DMP: document types (LOINC) and the default access matrix.

Their data migrations load them once. A `flush` (an operator's, or the one that ends
each transactional test) empties every table, these with them; Django then sends
`post_migrate`, as it does to recreate content types and permissions, and
`restore_reference_data` loads them again from the same migrations, so the code that
loads them stays in one place.
"""

from __future__ import annotations

import importlib

from django.apps import apps as global_apps

# In the order the migrations apply them.
_STEPS = [
    ("dossier.migrations.0002_document_types", "load"),
    ("acces.migrations.0006_default_document_access_matrix", "load"),
    ("dossier.migrations.0005_psychiatry_loinc_code", "move"),
]


def restore_reference_data(using: str = "default", **kwargs) -> bool:
    """Load the document types and the default matrix if the tables are empty."""
    from acces import matrix
    from acces.models import DocumentAccessRule
    from dossier.models import DocumentType

    if (
        DocumentType.objects.using(using).exists()
        or DocumentAccessRule.objects.using(using).exists()
    ):
        return False
    for module, function in _STEPS:
        getattr(importlib.import_module(module), function)(global_apps, None)
    matrix.invalidate(using=using)
    return True
