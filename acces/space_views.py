"""The patient portal's pages of a space, guarded by the policy: the home page's list of
spaces, a space's page, its trail, the activation of a minor's space by a legal
representative, the full download, closure and the deletion request.

They are the space core's pages (URL names `espace_sante:...`, templates under
`espace_sante/`), but they ask the policy and read the trail, so they live here;
`espace_sante/urls.py`, the project's glue, mounts them.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_POST

from acces import selectors
from acces.access import space_view, trace_refusal
from acces.policy import Action, Basis
from espace_sante import auth, export, forms, labels, lifecycle, parts, public_cache
from espace_sante.models import ExportJob, Notification, Space, SpaceError, User
from espace_sante.tracing import Actor

PAGE_SIZE = 25


def home(request):
    if not request.user.is_authenticated:
        return public_cache.render_anonymous(request, "espace_sante/landing.html")
    if request.user.kind != User.Kind.PATIENT:
        return redirect(auth.home_url_for(request.user))
    spaces = selectors.spaces_for_patient(request.user)
    return render(
        request,
        "espace_sante/home.html",
        {
            "spaces": spaces,
            "has_totp": auth.has_totp(request.user),
            "unread": Notification.objects.filter(
                recipient=request.user, read_at__isnull=True
            ).count(),
        },
    )


@space_view(Action.VIEW_SPACE)
def space_home(request, space: Space):
    return render(
        request,
        "espace_sante/space.html",
        {
            "space": space,
            "holder": space.holder,
            "basis": request.access.basis,
            # The occupational physician sees only the occupational part: not who else cares.
            "care_team": selectors.care_team(space)
            if request.access.basis != Basis.OCCUPATIONAL
            else [],
            "representatives": selectors.representatives(space),
            "counts": parts.counts(space, request.access),
        },
    )


@require_POST
@space_view(Action.VIEW_SPACE)
def space_activate_for_minor(request, space: Space):
    """A legal representative activates the child's space with the code sent for the child."""
    if request.access.basis != Basis.LEGAL_REPRESENTATIVE:
        trace_refusal(request, space.public_id, Action.VIEW_SPACE, "not_a_representative")
        raise PermissionDenied("Réservé aux représentants légaux")
    form = forms.MinorActivationForm(request.POST)
    if form.is_valid():
        try:
            lifecycle.activate_for_minor(
                space=space, code=form.cleaned_data["code"], by=Actor.from_request(request)
            )
        except SpaceError as error:
            messages.error(request, str(error))
        else:
            messages.success(
                request,
                _(
                    "L'espace %(of)s est activé. Vous décidez ici quels professionnels "
                    "de santé peuvent consulter son dossier."
                )
                % {"of": labels.of_name(space.holder.first_names.split(" ")[0])},
            )
    else:
        messages.error(request, " ".join(form.errors["code"]))
    return redirect("espace_sante:space", space_id=space.public_id)


@space_view(Action.VIEW_HISTORY)
def space_history(request, space: Space):
    """The trail of the space, filterable; a professional reads only what concerns them."""
    events = selectors.history_for(space, request.user, request.access)
    filters = forms.HistoryFilterForm(request.GET or None)
    data = {}
    if filters.is_bound:
        filters.is_valid()  # a wrong date drops that filter only
        data = filters.cleaned_data
    # The holder and representatives first see what others did; their own under a filter.
    patient_side = request.access.basis in (Basis.HOLDER, Basis.LEGAL_REPRESENTATIVE)
    events = selectors.filter_history(events, data, reader=request.user if patient_side else None)
    filtered = any(data.values())
    page = selectors.trail_page(events, request.GET, PAGE_SIZE)
    selectors.name_subjects(page.object_list)
    return render(
        request,
        "espace_sante/history.html",
        {
            "space": space,
            "page": page,
            "filters": filters,
            "filtered": filtered,
            "own_left_out": patient_side and not data.get("qui"),
        },
    )


@space_view(Action.EXPORT_SPACE)
def space_export(request, space: Space):
    """GET shows what the archive holds and the user's latest one; POST queues a new one.

    The archive is built by a task; the page then follows its progress.
    """
    back = _export_back(request, space)
    if request.method == "POST":
        job = export.request_archive(space=space, by=Actor.from_request(request))
        url = reverse("espace_sante:export_job", args=[space.public_id, job.public_id])
        return redirect(f"{url}?retour={back['key']}" if back else url)
    latest = (
        ExportJob.objects.filter(space=space, requested_by=request.user)
        .order_by("-created_at")
        .first()
    )
    return render(
        request,
        "espace_sante/export.html",
        {"space": space, "latest": latest, "back": back, "now": timezone.now()},
    )


@space_view(Action.EXPORT_SPACE)
def export_job(request, space: Space, job_id):
    """The progress of an archive being built, then its download link (JSON for the script)."""
    job = _export_job_for(request, space, job_id)
    if request.GET.get("format") == "json":
        response = JsonResponse(
            {
                "state": job.state,
                "label": str(job.get_state_display()),
                "done": job.done,
                "total": job.total,
                "percent": job.percent,
            }
        )
        response["Cache-Control"] = "no-store"
        return response
    return render(
        request,
        "espace_sante/export_job.html",
        {"space": space, "job": job, "back": _export_back(request, space), "now": timezone.now()},
    )


@space_view(Action.EXPORT_SPACE)
def export_download(request, space: Space, job_id):
    job = _export_job_for(request, space, job_id)
    try:
        chunks = export.open_archive(job=job, by=Actor.from_request(request))
    except ValueError:
        messages.error(
            request,
            _("Cette archive n'est plus disponible : préparez-en une nouvelle."),
        )
        return redirect("espace_sante:export", space_id=space.public_id)
    # Streamed, decrypted chunk by chunk: an archive of gigabytes never sits in memory.
    response = StreamingHttpResponse(chunks, content_type="application/zip")
    response["Content-Length"] = str(job.size)
    filename = export.archive_filename(timezone.localdate(job.created_at))
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


def _export_job_for(request, space: Space, job_id) -> ExportJob:
    """The user's own job on this space: another's id is a traced 404."""
    job = (
        ExportJob.objects.select_related("data_key")
        .filter(space=space, public_id=job_id, requested_by=request.user)
        .first()
    )
    if job is None:
        trace_refusal(request, space.public_id, Action.EXPORT_SPACE, "export_not_found")
        raise Http404("Archive introuvable")
    return job


# Where the archive's pages lead back to: the closure and deletion pages offer it first.
_EXPORT_BACK = {
    "cloture": ("espace_sante:close", _lazy("Revenir à la clôture de l'espace")),
    "suppression": ("espace_sante:deletion", _lazy("Revenir à la demande de suppression")),
}


def _export_back(request, space: Space) -> dict | None:
    key = request.POST.get("retour") or request.GET.get("retour") or ""
    if key not in _EXPORT_BACK:
        return None
    name, label = _EXPORT_BACK[key]
    return {"key": key, "url": reverse(name, args=[space.public_id]), "label": label}


@space_view(Action.CLOSE_SPACE)
def space_close(request, space: Space):
    form = forms.CloseForm(request.POST or None, user=request.user)
    can_close = space.state in _CLOSABLE_STATES
    if request.method == "POST" and can_close and form.is_valid():
        try:
            space = lifecycle.close(
                space=space,
                by=Actor.from_request(request),
                reason=form.cleaned_data["reason"],
                channel="online",
            )
        except SpaceError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request,
                _(
                    "Cet espace est clôturé. Il est archivé jusqu'au %(date)s, invisible pour "
                    "tous les professionnels de santé, et peut être réactivé d'ici là."
                )
                % {"date": date_format(space.retention_until, "j F Y")},
            )
            return redirect("espace_sante:space", space_id=space.public_id)
    return render(
        request,
        "espace_sante/close.html",
        {"space": space, "form": form, "can_close": can_close},
    )


_CLOSABLE_STATES = (Space.State.ACTIVE, Space.State.CREATED, Space.State.SUSPENDED)


@space_view(Action.REQUEST_DELETION)
def space_deletion(request, space: Space):
    form = forms.DeletionForm(request.POST or None, user=request.user)
    can_request = space.deletion_due_at is None
    if request.method == "POST" and can_request and form.is_valid():
        try:
            space = lifecycle.request_deletion(space=space, by=Actor.from_request(request))
        except SpaceError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request,
                _(
                    "Votre demande de suppression définitive est enregistrée. L'espace est "
                    "clôturé et sera détruit le %(date)s ; d'ici là, une réactivation annule "
                    "la demande."
                )
                % {"date": date_format(timezone.localtime(space.deletion_due_at), "j F Y")},
            )
            return redirect("espace_sante:space", space_id=space.public_id)
    return render(
        request,
        "espace_sante/deletion.html",
        {
            "space": space,
            "form": form,
            "can_request": can_request,
            "due_if_now": timezone.now() + Space.DELETION_DELAY,
        },
    )
