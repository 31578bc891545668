"""The anonymous lifecycle journeys: activation, opposition, lost code, reactivation.

They prove who the person is with NIR + Carte Vitale serial + code; the services
answer every failure with one message that never says whether a NIR exists. They
are shown to signed-in users too.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from espace_sante import forms, lifecycle, lostcode
from espace_sante.models import SpaceError
from espace_sante.tracing import Actor

LOST_CODE_NEUTRAL = _lazy(
    "Si ces informations correspondent à un espace, un nouveau code vient d'être envoyé à "
    "l'adresse e-mail enregistrée ou par courrier."
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
        lostcode.request_new_code(
            nir=form.cleaned_data["nir"],
            carte_vitale_serial=form.cleaned_data["carte_vitale_serial"],
            by_letter=form.cleaned_data.get("channel") == "letter",
            by=Actor.from_request(request),
        )
        messages.info(request, LOST_CODE_NEUTRAL)
        return redirect("espace_sante:lost_code")
    return render(request, "espace_sante/lost_code.html", {"form": form})


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
