"""Reference data (document types, default matrix) survives a flush."""

import pytest
from django.core.management import call_command

from acces import matrix
from acces.models import DocumentAccessRule
from dossier.models import DocumentType


@pytest.mark.django_db(transaction=True)
def test_a_flush_loads_the_document_types_and_the_default_matrix_again():
    before = (DocumentType.objects.count(), DocumentAccessRule.objects.count())
    assert before[0] > 20 and before[1] > 50
    call_command("flush", interactive=False, verbosity=0)
    assert (DocumentType.objects.count(), DocumentAccessRule.objects.count()) == before
    assert DocumentType.objects.filter(code="34788-0").exists()  # the corrected LOINC code
    assert not DocumentType.objects.filter(code="28628-0").exists()
    assert matrix.allows("pharmacien", "11502-2")
