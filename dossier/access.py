"""The getter every document view uses: the space and the document, as the policy allows."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404

from acces.models import AuditEvent
from acces.policy import Action, Principal
from acces.services import check_and_trace
from dossier.models import Document
from espace_sante.tracing import Actor, trace


def get_document_for(request, space_id, document_id, action: Action) -> Document:
    """The document if the policy allows `action` on it, traced either way; else 403/404.

    The document must belong to the space named in the URL: another space's id
    with this document's id is a 404, traced in the actor's chain.
    """
    actor = Actor.from_request(request)
    document = (
        Document.objects.select_related("space__holder", "type", "data_key")
        .filter(public_id=document_id, space__public_id=space_id)
        .first()
    )
    if document is None:
        with transaction.atomic():
            trace(
                actor=actor,
                action=str(action),
                target=("dossier.document", document_id),
                outcome=AuditEvent.Outcome.DENIED,
                detail={"reason": "not_found"},
            )
        raise Http404("Document introuvable")
    decision = check_and_trace(
        actor=actor,
        space=document.space,
        action=action,
        target=document,
        principal=Principal.from_request(request),
    )
    if not decision:
        raise PermissionDenied("Accès refusé")
    request.access = decision
    request.access_space = document.space  # the navigation's space, with no query of its own
    return document


def document_view(action: Action):
    """Decorate a view taking `space_id` and `document_id`: it receives the document."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapper(request, space_id, document_id, *args, **kwargs):
            document = get_document_for(request, space_id, document_id, action)
            return view(request, document, *args, **kwargs)

        return wrapper

    return decorator
