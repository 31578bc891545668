"""Documents: content checks, encryption at rest, visibility rules for each kind of viewer."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from acces.models import AuditEvent, CareRelation
from acces.policy import Action, Basis, Decision, decide, documents_visible_to
from dossier import services
from dossier.models import Document
from espace_sante.models import Space
from espace_sante.tracing import Actor
from tests import factories, stored
from tests.conftest import sign_in
from tests.factories import PDF_BYTES, make_document
from tests.mailbox import assert_email_left

pytestmark = pytest.mark.django_db


@pytest.fixture
def cast():
    """A minor's space with a holder-side parent and every kind of professional viewer."""
    parent = factories.UserFactory()
    space = factories.MinorSpaceFactory()
    factories.LegalRepresentativeFactory(space=space, user=parent)
    attending = factories.CareRelationFactory(space=space, basis=CareRelation.Basis.ATTENDING)
    author = factories.CareRelationFactory(space=space, basis=CareRelation.Basis.AUTHORISED)
    other = factories.CareRelationFactory(space=space, basis=CareRelation.Basis.CARE_TEAM)
    return {
        "space": space,
        "representative": parent,
        "attending": attending.professional.user,
        "author": author.professional,
        "other": other.professional.user,
    }


def _sees(user, document):
    decision = decide(user, Action.VIEW_DOCUMENT, document)
    listed = (
        Document.objects.filter(pk=document.pk)
        .filter(documents_visible_to(decide(user, Action.VIEW_SPACE, document.space)))
        .exists()
    )
    assert decision.allowed == listed, "the list filter and the decision disagree"
    return decision.allowed


# --- who sees what ----------------------------------------------------------------------


def test_plain_document_is_seen_by_every_authorised_viewer(cast):
    document = make_document(cast["space"], professional=cast["author"])
    assert _sees(cast["representative"], document)
    assert _sees(cast["attending"], document)
    assert _sees(cast["author"].user, document)
    assert _sees(cast["other"], document)


def test_masked_document_is_seen_only_by_attending_physician_and_author(cast):
    document = make_document(cast["space"], professional=cast["author"], masked=True)
    assert _sees(cast["representative"], document)
    assert _sees(cast["attending"], document)
    assert _sees(cast["author"].user, document)
    assert not _sees(cast["other"], document)


def test_document_invisible_to_patient_is_hidden_from_holder_and_representative(cast):
    document = make_document(cast["space"], professional=cast["author"], invisible_to_patient=True)
    assert not _sees(cast["representative"], document)
    assert _sees(cast["attending"], document)
    assert _sees(cast["author"].user, document)
    assert _sees(cast["other"], document)
    services.announce_to_patient(document=document, by=Actor.system())
    assert _sees(cast["representative"], document)


def test_document_invisible_to_representatives_is_hidden_from_them_only(cast):
    document = make_document(
        cast["space"], professional=cast["author"], invisible_to_representatives=True
    )
    assert not _sees(cast["representative"], document)
    assert _sees(cast["attending"], document)
    assert _sees(cast["other"], document)


def test_holder_sees_what_is_invisible_to_representatives():
    space = factories.SpaceFactory()
    pro = factories.ProfessionalFactory()
    document = make_document(space, professional=pro, invisible_to_representatives=True)
    assert _sees(space.holder.user, document)


def test_professional_without_relation_and_agent_see_nothing(cast, agent):
    document = make_document(cast["space"], professional=cast["author"])
    assert not decide(factories.ProfessionalFactory().user, Action.VIEW_DOCUMENT, document)
    assert not decide(agent, Action.VIEW_DOCUMENT, document)


def test_a_document_cannot_be_both_masked_and_invisible_to_the_patient():
    space = factories.SpaceFactory()
    document = make_document(
        space, professional=factories.ProfessionalFactory(), invisible_to_patient=True
    )
    with pytest.raises(services.DocumentError):
        services.set_masked(document=document, masked=True, by=Actor.system())
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Document.objects.filter(pk=document.pk).update(masked=True)


# --- content and storage ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("html", b"<!DOCTYPE html><html><script>alert(1)</script></html>"),
        ("svg", b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"></svg>'),
        ("script-in-text", b"bonjour <script>alert(1)</script>"),
        ("exe", b"MZ\x90\x00\x03\x00\x00\x00binary"),
        ("pdf-with-js", b"%PDF-1.4\n<< /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >>"),
    ],
)
def test_refused_content_stores_nothing(name, data):
    space = factories.SpaceFactory()
    with pytest.raises(services.DocumentError, match=r"PDF|refusé"):
        make_document(space, data=data)
    assert not Document.objects.exists()
    assert stored.names() == []


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (PDF_BYTES, "application/pdf"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image/png"),
        (b"Tension 12/8, poids 70 kg.", "text/plain"),
    ],
)
def test_accepted_content_is_typed_by_its_bytes(data, content_type):
    document = make_document(factories.SpaceFactory(), data=data)
    assert document.content_type == content_type
    assert services.read_content(document) == data


def test_file_is_encrypted_at_rest():
    document = make_document(factories.SpaceFactory(), data=b"%PDF-1.4 secret-resultat")
    ciphertext = stored.read(document.file)
    assert b"secret-resultat" not in ciphertext and not ciphertext.startswith(b"%PDF")


def test_new_version_replaces_and_keeps_the_old_one_reachable():
    space = factories.SpaceFactory()
    first = make_document(space)
    second = services.add_document(
        space=space,
        type_code=first.type_code,
        title=first.title,
        act_date=first.act_date,
        data=b"%PDF-1.4 v2",
        by=Actor(user=space.holder.user, role="patient"),
        replaces=first,
    )
    first.refresh_from_db()
    assert not first.is_current and second.replaces == first
    with pytest.raises(services.DocumentError):  # an obsolete version cannot be replaced
        services.add_document(
            space=space,
            type_code=first.type_code,
            title="x",
            act_date=first.act_date,
            data=PDF_BYTES,
            by=Actor(user=space.holder.user, role="patient"),
            replaces=first,
        )


def test_patient_cannot_add_professional_only_types():
    with pytest.raises(services.DocumentError, match="réservé"):
        make_document(factories.SpaceFactory(), type_code="34112-3")


def test_destruction_of_the_space_shreds_its_documents():
    from espace_sante import lifecycle

    space = factories.SpaceFactory()
    document = make_document(space)
    data_key = document.data_key
    space = lifecycle.request_deletion(space=space, by=Actor.system())
    lifecycle.destroy(space=space, by=Actor.system())
    data_key.refresh_from_db()
    assert data_key.wrapped is None
    assert not Document.objects.filter(space=space).exists()
    assert Space.objects.get(pk=space.pk).state == Space.State.DESTROYED


# --- pages ------------------------------------------------------------------------------


def _url(name, document, **kwargs):
    return reverse(
        f"dossier:{name}",
        kwargs={"space_id": document.space.public_id, "document_id": document.public_id, **kwargs},
    )


def test_download_is_an_attachment_decrypted_and_traced(client):
    space = factories.SpaceFactory()
    document = make_document(space)
    sign_in(client, space.holder.user)
    response = client.get(_url("download", document))
    assert response.getvalue() == PDF_BYTES  # streamed: see the test below
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert AuditEvent.objects.filter(
        space=space, action="view_document", target_id=str(document.public_id)
    ).exists()


def test_download_streams_the_decrypted_content_in_chunks(client):
    from espace_sante import crypto

    space = factories.SpaceFactory()
    data = PDF_BYTES + b"0" * (2 * crypto.STREAM_CHUNK + 10)  # three chunks
    document = make_document(space, data=data)
    sign_in(client, space.holder.user)
    response = client.get(_url("download", document))
    assert response.streaming
    chunks = list(response.streaming_content)
    assert len([c for c in chunks if c]) == 3
    assert max(len(chunk) for chunk in chunks) == crypto.STREAM_CHUNK
    assert b"".join(chunks) == data
    assert response["Content-Length"] == str(len(data))
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"


def test_another_patient_cannot_download_and_the_refusal_is_traced(client):
    document = make_document(factories.SpaceFactory())
    sign_in(client, factories.SpaceFactory().holder.user)
    response = client.get(_url("download", document))
    assert response.status_code == 403 and PDF_BYTES not in response.content
    assert AuditEvent.objects.filter(space=document.space, outcome="denied").exists()


def test_document_of_another_space_is_not_found_under_my_space(client):
    mine = factories.SpaceFactory()
    theirs = make_document(factories.SpaceFactory())
    sign_in(client, mine.holder.user)
    url = reverse(
        "dossier:download", kwargs={"space_id": mine.public_id, "document_id": theirs.public_id}
    )
    assert client.get(url).status_code == 404


def test_upload_page_refuses_html_named_pdf_and_keeps_the_form(client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    space = factories.SpaceFactory()
    sign_in(client, space.holder.user)
    upload = SimpleUploadedFile(
        "resultat.pdf", b"<html><body>faux</body></html>", content_type="application/pdf"
    )
    response = client.post(
        reverse("dossier:add", args=[space.public_id]),
        {
            "type_code": "11502-2",
            "title": "Résultat",
            "act_date": "2026-01-10",
            "file": upload,
        },
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "PDF, JPEG, PNG ou texte brut" in body
    assert 'value="Résultat"' in body
    assert not Document.objects.exists()


def test_mask_all_then_unmask_all(client):
    space = factories.SpaceFactory()
    for _ in range(3):
        make_document(space)
    sign_in(client, space.holder.user)
    client.post(reverse("dossier:mask_all", args=[space.public_id]), {"masked": "1"})
    assert Document.objects.filter(space=space, masked=True).count() == 3
    client.post(reverse("dossier:mask_all", args=[space.public_id]), {"masked": "0"})
    assert not Document.objects.filter(space=space, masked=True).exists()


def test_revealing_to_representatives_needs_confirmation(client):
    space = factories.SpaceFactory()
    document = make_document(
        space, professional=factories.ProfessionalFactory(), invisible_to_representatives=True
    )
    sign_in(client, space.holder.user)
    client.post(_url("reveal", document), {})
    document.refresh_from_db()
    assert document.invisible_to_representatives
    client.post(_url("reveal", document), {"confirm": "on"})
    document.refresh_from_db()
    assert not document.invisible_to_representatives


def test_documents_page_costs_the_same_queries_for_1_and_200_documents(client):
    space = factories.SpaceFactory()
    sign_in(client, space.holder.user)
    url = reverse("dossier:list", args=[space.public_id])
    make_document(space)

    def count():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    small = count()
    for i in range(199):
        make_document(space, title=f"Examen {i}")
    assert count() == small


def test_list_filters_by_category_and_title(client):
    space = factories.SpaceFactory()
    make_document(space, title="Bilan lipidique")
    make_document(space, title="Radio du genou", type_code="18748-4")
    sign_in(client, space.holder.user)
    url = reverse("dossier:list", args=[space.public_id])
    body = client.get(url, {"category": "imaging"}).content.decode()
    assert "Radio du genou" in body and "Bilan lipidique" not in body
    body = client.get(url, {"q": "lipid"}).content.decode()
    assert "Bilan lipidique" in body and "Radio du genou" not in body


def test_decision_basis_drives_the_list_filter(cast):
    hidden = make_document(cast["space"], professional=cast["author"], invisible_to_patient=True)
    masked = make_document(cast["space"], professional=cast["author"], masked=True)
    everything = Document.objects.filter(space=cast["space"])
    assert not everything.filter(documents_visible_to(Decision(False))).exists()
    holder_view = everything.filter(documents_visible_to(Decision(True, Basis.HOLDER)))
    assert set(holder_view) == {masked}
    attending = decide(cast["attending"], Action.VIEW_SPACE, cast["space"])
    assert set(everything.filter(documents_visible_to(attending))) == {hidden, masked}
    other = decide(cast["other"], Action.VIEW_SPACE, cast["space"])
    assert set(everything.filter(documents_visible_to(other))) == {hidden}


def test_a_written_document_may_mention_html_words(client):
    space = factories.SpaceFactory()
    sign_in(client, space.holder.user)
    text = "Mes directives : ne pas confondre <script> et ordonnance."
    client.post(
        reverse("dossier:write", args=[space.public_id]),
        {
            "type_code": "42348-3",
            "title": "Directives",
            "act_date": "2026-01-10",
            "text": text,
        },
    )
    document = Document.objects.get(space=space)
    assert document.content_type == "text/plain"
    assert services.read_content(document).decode() == text


def test_a_wrong_date_filter_keeps_the_title_search(client):
    space = factories.SpaceFactory()
    make_document(space, title="Bilan lipidique")
    make_document(space, title="Radio du genou", type_code="18748-4")
    sign_in(client, space.holder.user)
    body = client.get(
        reverse("dossier:list", args=[space.public_id]), {"q": "genou", "start": "pas-une-date"}
    ).content.decode()
    assert "Radio du genou" in body and "Bilan lipidique" not in body


def test_a_professionals_first_document_read_of_the_day_is_told_to_the_patient(
    client, django_capture_on_commit_callbacks
):
    from espace_sante.models import Notification

    relation = factories.CareRelationFactory(basis=CareRelation.Basis.AUTHORISED)
    factories.TOTPDeviceFactory(user=relation.professional.user)
    document = make_document(relation.space, title="Radio du genou")
    sign_in(client, relation.professional.user)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.get(_url("download", document)).getvalue() == PDF_BYTES
        client.get(_url("download", document))
    told = Notification.objects.filter(recipient=relation.space.holder.user, kind="space_accessed")
    assert told.count() == 1
    assert_email_left(relation.space.holder.user.email, without=("Radio du genou",))


def test_full_download_holds_the_decrypted_documents_the_downloader_may_see():
    import io
    import zipfile

    from espace_sante.export import build_archive

    parent = factories.UserFactory()
    space = factories.MinorSpaceFactory()
    factories.LegalRepresentativeFactory(space=space, user=parent)
    pro = factories.ProfessionalFactory()
    make_document(space, by_user=parent, title="Carnet", data=b"%PDF-1.4 carnet")
    make_document(space, professional=pro, title="Secret", invisible_to_representatives=True)
    make_document(space, professional=pro, title="Pas encore annonce", invisible_to_patient=True)
    archive = zipfile.ZipFile(io.BytesIO(build_archive(space)))
    documents = [n for n in archive.namelist() if n.startswith("documents/")]
    assert len(documents) == 1 and "carnet" in documents[0]
    assert archive.read(documents[0]) == b"%PDF-1.4 carnet"


def test_history_names_document_actions_in_french(client):
    space = factories.SpaceFactory()
    document = make_document(space)
    sign_in(client, space.holder.user)
    client.get(_url("download", document))
    client.post(_url("mask", document), {"masked": "1"})
    history = reverse("espace_sante:history", args=[space.public_id])
    body = client.get(history, {"qui": "moi"}).content.decode()  # the holder's own actions
    assert "Consultation d&#x27;un document" in body or "Consultation d'un document" in body
    assert "Document masqué aux professionnels" in body
    assert "view_document" not in body
