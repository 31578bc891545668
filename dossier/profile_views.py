"""The medical profile's pages: read everything, change one part at a time, history.

Reading asks VIEW_PROFILE, changing asks MANAGE_DOCUMENT (the holder and, for a
minor, the legal representatives); the PDFs (summary, emergency card) are taken
away, so they ask EXPORT_SPACE. Entries are named by a query parameter
(`?entree=` to edit, `?supprimer=` to confirm a removal), so each part has one
route that shows its form to the holder.
"""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from acces.access import space_view
from acces.decorators import professional_required
from acces.policy import Action, Basis
from dossier import profile_services as services
from dossier import summary
from dossier.models import Measurement, ProfileChange
from dossier.profile import (
    ENTRY_PARTS,
    PART_LABELS,
    SINGLE_PARTS,
    bmi_of,
    charts,
    describe,
    entries_of,
    latest_by_kind,
    profile_of,
    profile_page,
)
from dossier.profile_forms import ENTRY_FORMS, SINGLE_FORMS, RemoveForm
from espace_sante.tracing import Actor

HISTORY_PAGE_SIZE = 25


def _can_edit(request) -> bool:
    return request.access.basis in (Basis.HOLDER, Basis.LEGAL_REPRESENTATIVE)


def _back(space, anchor: str):
    response = redirect("profil:profile", space_id=space.public_id)
    response["Location"] += f"#{anchor}"
    return response


def _portal(pro: bool) -> dict:
    """What the profile's templates need to know of the portal they are shown in: a
    professional reads the profile inside the pro portal (its header, breadcrumb, links)."""
    return {"pro": pro, "profile_ns": "pro_profil" if pro else "profil"}


@space_view(Action.VIEW_PROFILE)
def profile(request, space):
    return _profile(request, space, pro=False)


@professional_required
@space_view(Action.VIEW_PROFILE)
def pro_profile(request, space):
    """The same profile, through the same policy and trail, in the pro portal."""
    return _profile(request, space, pro=True)


def _profile(request, space, *, pro: bool):
    context = profile_page(space, request.user, request.access)
    context |= _portal(pro) | {
        "holder": space.holder,
        "space": space,
        "basis": request.access.basis,
        "can_edit": _can_edit(request),
        # The PDFs ask EXPORT_SPACE, which the policy grants on these same bases.
        "can_download": _can_edit(request),
        "single_parts": SINGLE_PARTS,
        "entry_parts": ENTRY_PARTS,
        "history_groups": [
            (_("Antécédents personnels"), context["personal_history"]),
            (_("Antécédents familiaux"), context["family_history"]),
        ],
    }
    return render(request, "dossier/profile/profile.html", context)


def _pdf_response(pdf: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


@space_view(Action.EXPORT_SPACE)
def summary_pdf(request, space):
    """The printable summary of the profile, for the holder or a legal representative."""
    pdf = summary.download_summary(
        space=space, by=Actor.from_request(request), decision=request.access
    )
    return _pdf_response(pdf, summary.filename(summary.SUMMARY_FILENAME))


@space_view(Action.EXPORT_SPACE)
def emergency_card_pdf(request, space):
    """The emergency card to cut out and carry, for the holder or a legal representative."""
    pdf = summary.download_emergency_card(
        space=space, by=Actor.from_request(request), decision=request.access
    )
    return _pdf_response(pdf, summary.filename(summary.EMERGENCY_CARD_FILENAME))


@space_view(Action.VIEW_PROFILE)
def measurements(request, space):
    return _measurements(request, space, pro=False)


@professional_required
@space_view(Action.VIEW_PROFILE)
def pro_measurements(request, space):
    return _measurements(request, space, pro=True)


def _measurements(request, space, *, pro: bool):
    rows = list(space.profile_measurements.all())
    return render(
        request,
        "dossier/profile/measurements.html",
        _portal(pro)
        | {
            "holder": space.holder,
            "space": space,
            "basis": request.access.basis,
            "can_edit": _can_edit(request),
            "charts": charts(rows),
            "bmi": bmi_of(latest_by_kind(rows)),
            "part": ENTRY_PARTS["measurement"],
        },
    )


@space_view(Action.VIEW_PROFILE)
def history(request, space):
    return _history(request, space, pro=False)


@professional_required
@space_view(Action.VIEW_PROFILE)
def pro_history(request, space):
    return _history(request, space, pro=True)


def _history(request, space, *, pro: bool):
    changes = ProfileChange.objects.filter(space=space)
    page = Paginator(changes, HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [
        (change, PART_LABELS.get(change.part, change.part), describe(change)) for change in page
    ]
    return render(
        request,
        "dossier/profile/history.html",
        _portal(pro)
        | {
            "holder": space.holder,
            "space": space,
            "basis": request.access.basis,
            "page": page,
            "rows": rows,
        },
    )


@space_view(Action.MANAGE_DOCUMENT)
def edit_single(request, space, part):
    spec = SINGLE_PARTS[part]
    current = profile_of(space)
    form = SINGLE_FORMS[part](request.POST or None, instance=current)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_profile(
                space=space,
                part=part,
                values=form.cleaned_data,
                by=Actor.from_request(request),
            )
        except services.ProfileError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("« %(part)s » est mis à jour.") % {"part": spec.label})
            return _back(space, part)
    return render(
        request,
        "dossier/profile/edit.html",
        {"space": space, "form": form, "title": spec.label, "anchor": part},
    )


def _entry(space, part, raw):
    try:
        pk = int(raw)
    except (TypeError, ValueError):
        raise Http404("Entrée introuvable") from None
    entry = entries_of(space, part).filter(pk=pk).first()
    if entry is None:
        raise Http404("Entrée introuvable")
    return entry


@space_view(Action.MANAGE_DOCUMENT)
def edit_entry(request, space, part):
    """Add an entry, edit one (`entree`), or confirm and remove one (`supprimer`)."""
    spec = ENTRY_PARTS[part]
    data = request.POST if request.method == "POST" else request.GET
    by = Actor.from_request(request)
    if "supprimer" in data:
        entry = _entry(space, spec, data["supprimer"])
        form = RemoveForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                services.remove_entry(entry=entry, by=by)
            except services.ProfileError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, _("L'entrée est supprimée de votre profil."))
                return _back(space, part)
        return render(
            request,
            "dossier/profile/remove.html",
            {"space": space, "form": form, "part": spec, "entry": entry, "anchor": part},
        )

    entry = _entry(space, spec, data["entree"]) if "entree" in data else None
    form = ENTRY_FORMS[part](request.POST or None, instance=entry)
    if request.method == "POST" and form.is_valid():
        try:
            if entry is None:
                services.add_entry(space=space, part=part, values=form.cleaned_data, by=by)
            else:
                services.change_entry(entry=entry, values=form.cleaned_data, by=by)
        except services.ProfileError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request,
                _("L'entrée est ajoutée à votre profil.")
                if entry is None
                else _("L'entrée est modifiée."),
            )
            if part == "measurement":
                return redirect("profil:measurements", space_id=space.public_id)
            return _back(space, part)
    return render(
        request,
        "dossier/profile/edit.html",
        {
            "space": space,
            "form": form,
            "title": spec.add_label if entry is None else _("Modifier : %s") % spec.label,
            "entry": entry,
            "anchor": part,
            "is_measurement": spec.model is Measurement,
        },
    )
