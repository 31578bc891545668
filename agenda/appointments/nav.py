"""The « Agenda » entry of the patient's navigation (registered with `espace_sante.nav`)."""

from __future__ import annotations

from django.db.models import Case, Value, When
from django.urls import reverse
from django.utils.translation import gettext as _

from acces.policy import spaces_visible_to
from espace_sante.models import Space, User
from espace_sante.nav import NavEntry


def _space_of_page(request):
    match = getattr(request, "resolver_match", None)
    return match.kwargs.get("space_id") if match else None


def patient_entry(request) -> NavEntry | None:
    """The agenda of the page's space if the patient may see it, else of their own space
    (else of the first one they represent). One query."""
    user = request.user
    verified = getattr(user, "is_verified", None)  # set by django-otp's middleware
    if not user.is_authenticated or user.kind != User.Kind.PATIENT or not (verified and verified()):
        return None
    order = [Case(When(holder__user=user, then=Value(0)), default=Value(1)), "pk"]
    current = _space_of_page(request)
    if current is not None:
        order.insert(0, Case(When(public_id=current, then=Value(0)), default=Value(1)))
    space = Space.objects.filter(spaces_visible_to(user)).order_by(*order).only("public_id").first()
    if space is None:
        return None
    url = reverse("agenda:home", args=[space.public_id])
    return NavEntry(label=_("Agenda"), url=url, current_prefix=url)
