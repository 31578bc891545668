"""The pro portal."""

from django.core.paginator import Paginator
from django.shortcuts import render

from acces import selectors
from acces.access import get_space_for
from acces.decorators import professional_required
from acces.policy import BASIS_LABELS, Action

PAGE_SIZE = 25


@professional_required
def dashboard(request):
    page = Paginator(selectors.patients_of(request.user), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "acces/pro/dashboard.html",
        {
            "professional": request.user.professional,
            "page": page,
        },
    )


@professional_required
def patient(request, space_id):
    space, decision = get_space_for(request, space_id, Action.VIEW_SPACE)
    return render(
        request,
        "acces/pro/patient.html",
        {
            "space": space,
            "holder": space.holder,
            "basis_label": BASIS_LABELS[decision.basis],
            "care_team": selectors.care_team(space),
        },
    )
