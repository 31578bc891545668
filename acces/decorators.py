from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied

from espace_sante.models import User


def professional_required(view):
    """The pro portal: signed-in professionals only (the TOTP is enforced by middleware)."""

    @wraps(view)
    @login_required
    def wrapper(request, *args, **kwargs):
        if request.user.kind != User.Kind.PROFESSIONAL or not hasattr(request.user, "professional"):
            raise PermissionDenied("Réservé aux professionnels de santé")
        return view(request, *args, **kwargs)

    return wrapper
