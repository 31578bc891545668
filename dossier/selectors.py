"""Reads about documents that other apps' pages show."""

from django.db.models import Count, Q

from dossier.models import Document


def documents_added_by_professionals(*, space, hidden_from: list[str]) -> dict[int, int]:
    """{professional id: documents (every version) they added to `space`}, leaving out the
    documents hidden from these patient-side readers ("patient", "representatives")."""
    documents = Document.objects.filter(
        space=space, source=Document.Source.PROFESSIONAL, author_professional__isnull=False
    )
    hidden = Q()
    if "patient" in hidden_from:
        hidden |= Q(invisible_to_patient=True)
    if "representatives" in hidden_from:
        hidden |= Q(invisible_to_representatives=True)
    if hidden:
        documents = documents.exclude(hidden)
    return dict(
        documents.values("author_professional_id")
        .annotate(count=Count("pk"))
        .values_list("author_professional_id", "count")
    )
