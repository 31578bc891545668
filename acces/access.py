"""The one getter every patient-data view uses: resolve, ask the policy, trace, or refuse."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404

from acces.models import AuditEvent
from acces.policy import Action, Decision, Principal
from acces.services import check_and_trace
from espace_sante.models import Space
from espace_sante.tracing import Actor, trace


def get_space_for(request, public_id, action: Action) -> tuple[Space, Decision]:
    """The space `public_id` if the policy lets the user do `action` on it.

    Allowed or denied, the attempt is traced in the space's chain in the same
    transaction; a refusal raises PermissionDenied (403) and shows nothing.
    An unknown id is a 404, traced in the actor's own chain.
    """
    actor = Actor.from_request(request)
    space = Space.objects.select_related("holder").filter(public_id=public_id).first()
    if space is None:
        with transaction.atomic():
            trace(
                actor=actor,
                action=str(action),
                target=("espace_sante.space", public_id),
                outcome=AuditEvent.Outcome.DENIED,
                detail={"reason": "not_found"},
            )
        raise Http404("Espace introuvable")
    decision = check_and_trace(
        actor=actor, space=space, action=action, principal=Principal.from_request(request)
    )
    if not decision:
        raise PermissionDenied("Accès refusé")
    return space, decision


def trace_refusal(request, public_id, action: Action, reason: str) -> None:
    """Trace, in the space's chain, a request refused before the policy was asked."""
    space = Space.objects.filter(public_id=public_id).first()
    with transaction.atomic():
        trace(
            actor=Actor.from_request(request),
            action=str(action),
            space=space,
            target=("espace_sante.space", public_id),
            outcome=AuditEvent.Outcome.DENIED,
            detail={"reason": reason},
        )


def space_view(action: Action):
    """Decorate a view taking `space_id`: it receives the space the policy allowed instead."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapper(request, space_id, *args, **kwargs):
            space, decision = get_space_for(request, space_id, action)
            request.access = decision
            request.access_space = space  # the navigation's space, with no query of its own
            return view(request, space, *args, **kwargs)

        wrapper.space_action = action
        return wrapper

    return decorator
