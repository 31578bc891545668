from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied

from acces.access import trace_refusal
from acces.policy import Action
from espace_sante.models import User


def professional_required(view):
    """The pro portal: signed-in professionals only (the TOTP is enforced by middleware)."""

    @wraps(view)
    @login_required
    def wrapper(request, *args, **kwargs):
        if request.user.kind != User.Kind.PROFESSIONAL or not hasattr(request.user, "professional"):
            if "space_id" in kwargs:
                trace_refusal(
                    request, kwargs["space_id"], Action.VIEW_SPACE, reason="not_a_professional"
                )
            raise PermissionDenied("Réservé aux professionnels de santé")
        return view(request, *args, **kwargs)

    return wrapper
