"""The patient portal: home, sign-in second factor, notifications, the space and its trail."""

import base64
from io import BytesIO

import qrcode
import qrcode.image.svg
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from acces import audit, selectors
from acces.access import space_view
from acces.models import AuditEvent
from acces.policy import Action
from espace_sante import auth, notifications
from espace_sante.forms import TokenForm
from espace_sante.models import Notification, Space, User
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
        device = _match(devices, form.cleaned_data["token"])
        with transaction.atomic():
            audit.record(
                actor=Actor.from_request(request),
                action="sign_in_second_factor",
                outcome=AuditEvent.Outcome.ALLOWED if device else AuditEvent.Outcome.DENIED,
                detail={"device": device.persistent_id.split("/")[0]} if device else {},
            )
        if device is not None:
            otp_login(request, device)
            return redirect(_safe_next(request, auth.home_url_for(user)))
        form.add_error(
            "token", _("Code incorrect ou expiré. Vérifiez-le ou demandez-en un nouveau.")
        )
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
    auth.send_email_code(request.user)
    messages.info(request, _("Un nouveau code vient d'être envoyé à votre adresse e-mail."))
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
                audit.record(actor=Actor.from_request(request), action="totp_enrolled")
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
            "secret": base64.b32encode(device.bin_key).decode(),
        },
    )


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
            "care_team": selectors.care_team(space),
            "representatives": selectors.representatives(space),
        },
    )


@space_view(Action.VIEW_HISTORY)
def space_history(request, space: Space):
    page = Paginator(selectors.history(space), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "espace_sante/history.html", {"space": space, "page": page})
