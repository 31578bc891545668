"""The history of care pages: the patient's timeline and the professional's view of it.

Both take the space through `acces.access.space_view`, which asks `acces.policy` and traces
the access (`view_agenda` for the patient and a minor's legal representatives;
`view_care_history` for a professional with a basis, the occupational physician refused).
What each reader sees of it is filtered by `agenda.history.selectors`.
"""

from __future__ import annotations

from django.shortcuts import render

from acces.access import space_view
from acces.decorators import professional_required
from acces.policy import Action
from agenda.history import selectors
from agenda.history.forms import HistoryFilterForm, requested_year


def _timeline_context(request, space, *, pro: bool) -> dict:
    decision = request.access
    kind = request.GET.get("kind", "")
    year = requested_year(request.GET)
    timeline = selectors.timeline(
        space, decision, kind=kind, year=year, page=request.GET.get("page"), pro=pro
    )
    kind = kind if kind in timeline.kinds else ""
    years = timeline.years if year is None or year in timeline.years else [year, *timeline.years]
    form = HistoryFilterForm(request.GET or None, kinds=timeline.kinds, years=sorted(years)[::-1])
    if request.GET:
        form.is_valid()  # shows why a value is not applied
    return {
        "space": space,
        "holder": space.holder,
        "decision": decision,
        "basis": decision.basis,
        "timeline": timeline,
        "page": timeline.page,
        "entries": timeline.entries,
        "form": form,
        "kind": kind,
        "year": year,
        "filtered": bool(kind or year),
        "agenda_url": "" if pro else selectors.agenda_home_url(space),
    }


@space_view(Action.VIEW_AGENDA)
def history(request, space):
    return render(
        request, "agenda/history/timeline.html", _timeline_context(request, space, pro=False)
    )


@professional_required
@space_view(Action.VIEW_CARE_HISTORY)
def pro_history(request, space):
    return render(
        request, "agenda/history/pro_timeline.html", _timeline_context(request, space, pro=True)
    )
