"""Sign-in: where to land, the admin's door, and the second factor (email code or TOTP)."""

import base64
from io import BytesIO

import qrcode
import qrcode.image.svg
from allauth.socialaccount.providers.openid_connect import views as openid_connect
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_otp.plugins.otp_totp.models import TOTPDevice

from espace_sante import assurance, auth, franceconnect, identity_providers
from espace_sante.actions import SpaceAction
from espace_sante.forms import FranceConnectActivationForm, TokenForm
from espace_sante.models import SpaceError
from espace_sante.tracing import Actor, trace


@login_required
def after_login(request):
    return redirect(auth.home_url_for(request.user))


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
            trace(
                actor=Actor.from_request(request),
                action=SpaceAction.SIGN_IN_SECOND_FACTOR,
                outcome="allowed" if device else "denied",
                detail={"device": device.persistent_id.split("/")[0]} if device else {},
            )
        if device is not None:
            assurance.second_factor_passed(request, device)
            messages.success(request, _("Connexion réussie."))
            # A FranceConnect identity waiting for this account's own sign-in is linked now.
            franceconnect.complete_pending_link(request)
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


def identity_provider_login(request, provider_id):
    """allauth's start of an OpenID Connect sign-in, with our `nonce` and nothing the
    query could add (`identity_providers.prepare_authorization`); 404 when it is off."""
    if provider_id in identity_providers.PROVIDERS and identity_providers.is_configured(
        provider_id
    ):
        identity_providers.prepare_authorization(request, provider_id)
    return openid_connect.login(request, provider_id)


def franceconnect_activate(request):
    """Activation of a space after FranceConnect: the provisional code, then the account."""
    holder = franceconnect.pending_holder(request)
    if holder is None:
        messages.error(request, _("Votre identification FranceConnect a expiré : recommencez-la."))
        return redirect("account_login")
    form = FranceConnectActivationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = franceconnect.activate(
                request,
                code=form.cleaned_data["code"],
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password1"],
            )
        except (SpaceError, ValidationError) as error:
            if isinstance(error, ValidationError):
                form.add_error("password1", error)
            else:
                form.add_error(None, str(error))
        else:
            messages.success(request, _("Votre espace est activé. Bienvenue !"))
            return redirect(auth.home_url_for(user))
    return render(
        request,
        "espace_sante/franceconnect_activate.html",
        {"form": form, "first_name": holder.first_names.split(" ")[0]},
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
                trace(actor=Actor.from_request(request), action=SpaceAction.TOTP_ENROLLED)
            assurance.second_factor_passed(request, device)
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
