"""The upload form's choices come from the policy: the types it lets its reader add."""

import pytest

from acces import matrix
from acces.policy import Basis, Decision, NewDocument, decide_on_document, types_addable_under
from dossier.models import DocumentType

pytestmark = pytest.mark.django_db


def _agrees_with_decide(decision: Decision) -> set[str]:
    """The types `decide_on_document` allows one by one, to compare with the list filter."""
    return {
        t.code
        for t in DocumentType.objects.all()
        if decide_on_document(
            decision,
            NewDocument(
                space=None,
                type_code=t.code,
                category=t.category,
                patient_may_add=t.patient_may_add,
            ),
            action="add_own_document",
        )
    }


@pytest.mark.parametrize("basis", [Basis.HOLDER, Basis.LEGAL_REPRESENTATIVE])
def test_a_patient_may_add_only_the_types_open_to_patients(basis):
    decision = Decision(True, basis)
    codes = set(
        DocumentType.objects.filter(types_addable_under(decision)).values_list("code", flat=True)
    )
    assert codes == set(
        DocumentType.objects.filter(patient_may_add=True).values_list("code", flat=True)
    )
    assert codes and codes == _agrees_with_decide(decision)
    assert codes != set(DocumentType.objects.values_list("code", flat=True))


def test_a_professional_may_add_the_types_of_their_profession():
    decision = Decision(True, Basis.CARE_TEAM, professional_id=1, profession="pharmacien")
    codes = set(
        DocumentType.objects.filter(types_addable_under(decision)).values_list("code", flat=True)
    )
    assert codes == _agrees_with_decide(decision)
    assert codes <= matrix.type_codes_for("pharmacien")


def test_a_refused_reader_may_add_nothing():
    assert not DocumentType.objects.filter(types_addable_under(Decision(False))).exists()


def test_the_patient_upload_page_offers_only_the_patient_types(client):
    from django.urls import reverse

    from tests import factories
    from tests.conftest import sign_in

    space = factories.SpaceFactory()
    sign_in(client, space.holder.user)
    page = client.get(reverse("dossier:add", args=[space.public_id])).content.decode()
    for document_type in DocumentType.objects.all():
        offered = f'value="{document_type.code}"' in page
        assert offered == document_type.patient_may_add, document_type.code
