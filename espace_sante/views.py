"""The patient portal: home, sign-in second factor, notifications, the space and its trail,
and the lifecycle journeys (activation, opposition, lost code, reactivation, download,
closure, deletion request)."""

import base64
from datetime import timedelta
from io import BytesIO

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from acces import audit, selectors
from acces.access import space_view, trace_refusal
from acces.models import AuditEvent
from acces.policy import Action, Basis
from espace_sante import auth, export, forms, labels, lifecycle, notifications
from espace_sante.actions import SpaceAction
from espace_sante.context_processors import ACCESSIBILITY_STATUS
from espace_sante.forms import TokenForm
from espace_sante.models import ExportJob, Notification, Space, SpaceError, User
from espace_sante.tracing import Actor

PAGE_SIZE = 25


def home(request):
    if not request.user.is_authenticated:
        return render(request, "espace_sante/landing.html")
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


@login_required
def after_login(request):
    return redirect(auth.home_url_for(request.user))


# --- The pages every public service has (linked from the footer) -----------------------


def _site(request) -> dict:
    return {
        "publisher": settings.SITE_PUBLISHER,
        "publication_director": settings.SITE_PUBLICATION_DIRECTOR,
        "host": settings.SITE_HOST,
        "contact_email": settings.SITE_CONTACT_EMAIL,
        "dpo_email": settings.SITE_DPO_EMAIL,
        "site_url": settings.SITE_URL,
        "accessibility_status": ACCESSIBILITY_STATUS,
    }


def accessibility(request):
    return render(request, "espace_sante/pages/accessibility.html", {"site": _site(request)})


def legal_notices(request):
    return render(request, "espace_sante/pages/legal.html", {"site": _site(request)})


def personal_data(request):
    return render(request, "espace_sante/pages/personal_data.html", {"site": _site(request)})


def admin_login(request):
    """The admin's sign-in goes through the portal's door (and its second factor).

    Someone already signed in who is not staff would otherwise bounce between the
    admin's login and the portal's, which sends them back to the admin: they get the
    403 page instead.
    """
    if not request.user.is_authenticated:
        query = request.META.get("QUERY_STRING", "")
        return redirect(reverse("account_login") + (f"?{query}" if query else ""))
    if request.user.is_active and request.user.is_staff:
        return redirect(_safe_next(request, reverse("admin:index")))
    raise PermissionDenied


def _safe_next(request, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


@login_required
def verify(request):
    """Second factor: TOTP for professionals and staff; email code (or TOTP) for patients."""
    user = request.user
    if user.needs_totp and not auth.has_totp(user):
        return redirect("espace_sante:totp_setup")
    devices = auth.allowed_devices(user)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        throttled = any(not d.verify_is_allowed()[0] for d in devices)
        device = _match(devices, form.cleaned_data["token"])
        with transaction.atomic():
            audit.record(
                actor=Actor.from_request(request),
                action=SpaceAction.SIGN_IN_SECOND_FACTOR,
                outcome=AuditEvent.Outcome.ALLOWED if device else AuditEvent.Outcome.DENIED,
                detail={"device": device.persistent_id.split("/")[0]} if device else {},
            )
        if device is not None:
            otp_login(request, device)
            messages.success(request, _("Connexion réussie."))
            return redirect(_safe_next(request, auth.home_url_for(user)))
        if throttled:
            error = _(
                "Trop d'essais rapprochés : patientez quelques secondes avant de saisir "
                "de nouveau le code."
            )
        else:
            error = _("Code incorrect ou expiré. Vérifiez-le ou demandez-en un nouveau.")
        form.add_error("token", error)
    return render(
        request,
        "espace_sante/verify.html",
        {
            "form": form,
            "uses_totp": user.needs_totp or auth.has_totp(user),
            "can_use_email": not user.needs_totp,
            "next": _safe_next(request, ""),
        },
    )


def _match(devices, token):
    for device in devices:
        allowed, _info = device.verify_is_allowed()
        if allowed and device.verify_token(token):
            return device
    return None


@login_required
@require_POST
def resend_code(request):
    if request.user.needs_totp:
        return redirect("espace_sante:verify")
    if auth.send_email_code(request.user):
        messages.info(request, _("Un nouveau code vient d'être envoyé à votre adresse e-mail."))
    else:
        messages.warning(
            request,
            _(
                "Un code vous a été envoyé il y a moins d'une minute : il "
                "reste valable. Patientez avant d'en demander un autre."
            ),
        )
    return redirect("espace_sante:verify")


@login_required
def totp_setup(request):
    """Register an authenticator app (first sign-in of a professional, or a patient's choice)."""
    user = request.user
    has_confirmed = auth.has_totp(user)
    if not user.is_verified() and (has_confirmed or not user.needs_totp):
        # Only a professional without any device may enrol before the second factor.
        return redirect("espace_sante:verify")
    if has_confirmed:
        messages.info(request, _("Une application d'authentification est déjà enregistrée."))
        return redirect(auth.home_url_for(user))
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="application", confirmed=False)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["token"]):
            with transaction.atomic():
                device.confirmed = True
                device.save(update_fields=["confirmed"])
                audit.record(actor=Actor.from_request(request), action=SpaceAction.TOTP_ENROLLED)
            otp_login(request, device)
            messages.success(request, _("Votre application d'authentification est enregistrée."))
            return redirect(auth.home_url_for(user))
        form.add_error(
            "token",
            _(
                "Ce code ne correspond pas. Vérifiez l'heure de votre "
                "téléphone et saisissez le code affiché."
            ),
        )
    return render(
        request,
        "espace_sante/totp_setup.html",
        {
            "form": form,
            "qr_svg": _qr_svg(device.config_url),
            "secret_groups": _groups_of_four(base64.b32encode(device.bin_key).decode()),
            # Before the second factor (a professional's first sign-in) the only way out is
            # to sign out; a signed-in patient goes back home.
            "cancel_url": auth.home_url_for(user) if user.is_verified() else None,
        },
    )


def _groups_of_four(secret: str) -> list[str]:
    """The secret as groups of four characters, easier to read out and to type."""
    return [secret[i : i + 4] for i in range(0, len(secret), 4)]


def _qr_svg(data: str) -> str:
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = BytesIO()
    image.save(buffer)
    return buffer.getvalue().decode()


@login_required
def notification_list(request):
    page = Paginator(
        Notification.objects.filter(recipient=request.user).only(
            "subject", "body", "link", "created_at", "read_at"
        ),
        PAGE_SIZE,
    ).get_page(request.GET.get("page"))
    return render(request, "espace_sante/notifications.html", {"page": page})


@login_required
@require_POST
def notification_read(request):
    raw = request.POST.get("notification")
    notification_id = int(raw) if raw and raw.isdigit() else None
    count = notifications.mark_read(user=request.user, notification_id=notification_id)
    if notification_id is None:
        messages.success(request, _("Toutes vos notifications sont marquées comme lues."))
    elif not count:
        messages.info(request, _("Cette notification était déjà lue."))
    return redirect("espace_sante:notifications")


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
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = list(page.object_list)  # named once, shown as named
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


# --- Lifecycle journeys --------------------------------------------------------------------
# Anonymous journeys (activation, opposition, lost code, reactivation) prove who the person
# is with NIR + Carte Vitale serial + code; the services answer every failure with one
# message that never says whether a NIR exists. They are shown to signed-in users too.

LOST_CODE_PER_SPACE = 3  # per LOST_CODE_SPACE_WINDOW
LOST_CODE_SPACE_WINDOW = timedelta(hours=24)
LOST_CODE_PER_IP = 10  # per hour
LOST_CODE_NEUTRAL = _lazy(
    "Si ces informations correspondent à un espace, un nouveau code vient d'être envoyé à "
    "l'adresse e-mail enregistrée ou par courrier."
)
# A lost code can be sent for a space that can still be activated or reactivated.
_CODE_STATES = (
    Space.State.ANNOUNCED,
    Space.State.CREATED,
    Space.State.OPPOSED,
    Space.State.CLOSED,
)


def _refuse_in_form(form, error: Exception) -> None:
    if not isinstance(error, ValidationError):
        form.add_error(None, str(error))
    elif not form.cleaned_data.get("password1"):
        # Reactivation of a space whose holder never had an account: they must choose one.
        form.add_error(
            None,
            _(
                "Vous n'avez pas encore de compte : choisissez ci-dessous l'adresse e-mail qui "
                "sera votre identifiant et un mot de passe."
            ),
        )
    else:  # the password validators, run again by the service
        form.add_error("password1", error)


def activate(request):
    form = forms.ActivationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            lifecycle.activate(
                claim=form.claim(),
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password1"],
                by=Actor.from_request(request),
            )
        except (SpaceError, ValidationError) as error:
            _refuse_in_form(form, error)
        else:
            messages.success(
                request,
                _(
                    "Votre espace est activé. Connectez-vous avec votre adresse e-mail et le mot "
                    "de passe que vous venez de choisir."
                ),
            )
            return redirect("account_login")
    return render(request, "espace_sante/activate.html", {"form": form})


def oppose(request):
    form = forms.OppositionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            lifecycle.oppose(claim=form.claim(), by=Actor.from_request(request))
        except SpaceError as error:
            _refuse_in_form(form, error)
        else:
            messages.success(request, _("Votre opposition est enregistrée."))
            return redirect("espace_sante:oppose_done")
    return render(request, "espace_sante/oppose.html", {"form": form})


def oppose_done(request):
    return render(request, "espace_sante/oppose_done.html")


def lost_code(request):
    """Ask for a new code: the answer is the same whatever happened, and it is rate-limited."""
    form = forms.LostCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        _send_new_code_if_allowed(request, form.cleaned_data)
        messages.info(request, LOST_CODE_NEUTRAL)
        return redirect("espace_sante:lost_code")
    return render(request, "espace_sante/lost_code.html", {"form": form})


def _send_new_code_if_allowed(request, data: dict) -> None:
    actor = Actor.from_request(request)
    if not _ip_allowance(actor.ip):
        return
    space = (
        Space.objects.select_related("holder__user")
        .filter(
            holder__nir=data["nir"],
            holder__carte_vitale_serial=data["carte_vitale_serial"],
            state__in=_CODE_STATES,
        )
        .first()
    )
    if space is None:
        return
    with transaction.atomic():
        space = (
            Space.objects.select_for_update(of=("self",))
            .select_related("holder__user")
            .get(pk=space.pk)
        )
        recent = AuditEvent.objects.filter(
            space=space,
            action=SpaceAction.CODE_REQUESTED,
            outcome=AuditEvent.Outcome.ALLOWED,
            occurred_at__gte=timezone.now() - LOST_CODE_SPACE_WINDOW,
        ).count()
        if recent >= LOST_CODE_PER_SPACE:
            audit.record(
                actor=actor,
                action=SpaceAction.CODE_REQUESTED,
                space=space,
                target=space,
                outcome=AuditEvent.Outcome.DENIED,
                detail={"reason": "rate_limited"},
            )
            return
        try:
            lifecycle.send_new_code(
                space=space, by=actor, by_letter=data.get("channel") == "letter"
            )
        except SpaceError:
            return


def _ip_allowance(ip: str | None) -> bool:
    """At most LOST_CODE_PER_IP valid requests an hour from one address (a fixed window)."""
    key = f"lost-code:ip:{ip or 'unknown'}"
    cache.add(key, 0, timeout=3600)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=3600)
        count = 1
    return count <= LOST_CODE_PER_IP


def reactivate(request):
    form = forms.ReactivationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            lifecycle.reactivate_with_code(
                claim=form.claim(),
                email=form.cleaned_data.get("email") or "",
                password=form.cleaned_data.get("password1") or "",
                by=Actor.from_request(request),
            )
        except (SpaceError, ValidationError) as error:
            _refuse_in_form(form, error)
        else:
            messages.success(
                request,
                _(
                    "Votre espace est réactivé, avec toutes ses données. Connectez-vous avec "
                    "votre adresse e-mail et votre mot de passe."
                ),
            )
            return redirect("account_login")
    return render(request, "espace_sante/reactivate.html", {"form": form})


# --- Managing one's space: download, closure, deletion -----------------------------------


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
