"""The patient's prevention page and the person's answers (holder or legal representative).

Reading is `VIEW_AGENDA`, every answer or choice `MANAGE_AGENDA` (`space_view` asks the
policy and traces the access; the services trace what changed). Destructive answers (take
back a mark, "ne me concerne pas", turn a programme off) go through a confirmation page.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from acces.access import space_view, trace_refusal
from acces.policy import Action
from agenda.models import PreventionMark, PreventionRule
from agenda.models.prevention import Programme
from agenda.prevention import selectors, services
from agenda.prevention.conditions import CONDITIONS
from agenda.prevention.forms import ConditionsForm, DoneForm
from espace_sante.tracing import Actor


def _who(request):
    return {"by": Actor.from_request(request), "decision": request.access}


def _back(space):
    return redirect(reverse("agenda:prevention", args=[space.public_id]))


def _rule(code):
    rule = PreventionRule.objects.filter(code=code, active=True).first()
    if rule is None:
        raise Http404("Rappel introuvable")
    return rule


@space_view(Action.VIEW_AGENDA)
def prevention(request, space):
    overview = selectors.overview(space)
    return render(
        request,
        "agenda/prevention/index.html",
        {
            "space": space,
            "basis": request.access.basis,
            "overview": overview,
            "programmes": [
                (value, label, value in overview.programmes_off)
                for value, label in Programme.choices
            ],
            "conditions": [str(CONDITIONS[c]) for c in overview.conditions if c in CONDITIONS],
            "today": timezone.localdate(),
            "can_manage": space.is_open,
        },
    )


@space_view(Action.MANAGE_AGENDA)
def mark_done(request, space, code):
    rule = _rule(code)
    form = DoneForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.mark_done(
                space=space,
                code=rule.code,
                day=form.cleaned_data["day"],
                user=request.user,
                **_who(request),
            )
        except ValidationError as error:
            form.add_error("day", error)
        else:
            messages.success(request, _("C'est noté : « %s » est indiqué comme fait.") % rule.label)
            return _back(space)
    return render(
        request, "agenda/prevention/done.html", {"space": space, "rule": rule, "form": form}
    )


@space_view(Action.MANAGE_AGENDA)
def decline(request, space, code):
    rule = _rule(code)
    if request.method == "POST":
        services.decline(space=space, code=rule.code, user=request.user, **_who(request))
        messages.success(request, _("Ce rappel ne vous sera plus proposé."))
        return _back(space)
    return render(
        request,
        "agenda/prevention/confirm.html",
        {
            "space": space,
            "title": _("Ce rappel ne vous concerne pas ?"),
            "subject": rule.label,
            "explanation": _(
                "Le rappel ne sera plus affiché ni notifié. Vous pourrez revenir sur ce choix "
                "depuis la page des rappels de prévention."
            ),
            "button": _("Confirmer : ne me concerne pas"),
            "action": reverse("agenda:prevention_decline", args=[space.public_id, rule.code]),
        },
    )


@space_view(Action.MANAGE_AGENDA)
def remove_mark(request, space, mark_id):
    mark = PreventionMark.objects.filter(space=space, pk=mark_id).first()
    if mark is None:
        trace_refusal(request, space.public_id, Action.MANAGE_AGENDA, "mark_not_found")
        raise Http404("Réponse introuvable")
    rule = PreventionRule.objects.filter(code=mark.rule_code).order_by("-version").first()
    label = rule.label if rule else mark.rule_code
    if request.method == "POST":
        services.remove_mark(space=space, mark_id=mark.pk, **_who(request))
        messages.success(request, _("Votre réponse est retirée."))
        return _back(space)
    done = mark.kind == PreventionMark.Kind.DONE
    return render(
        request,
        "agenda/prevention/confirm.html",
        {
            "space": space,
            "title": _("Retirer la date indiquée ?")
            if done
            else _("Proposer de nouveau ce rappel ?"),
            "subject": label,
            "explanation": _(
                "Le rappel sera de nouveau calculé d'après votre âge et vos vaccinations, "
                "documents et soins."
            ),
            "button": _("Retirer ma réponse"),
            "action": reverse("agenda:prevention_remove", args=[space.public_id, mark.pk]),
        },
    )


@space_view(Action.MANAGE_AGENDA)
def programme(request, space, programme):
    if programme not in Programme.values:
        raise Http404("Programme introuvable")
    label = Programme(programme).label
    turn_on = request.POST.get("on") == "1" if request.method == "POST" else False
    if request.method == "POST":
        services.set_programme(space=space, programme=programme, on=turn_on, **_who(request))
        if turn_on:
            messages.success(request, _("Les rappels « %s » sont réactivés.") % label)
        else:
            messages.success(request, _("Les rappels « %s » sont désactivés.") % label)
        return _back(space)
    return render(
        request,
        "agenda/prevention/confirm.html",
        {
            "space": space,
            "title": _("Désactiver ces rappels ?"),
            "subject": label,
            "explanation": _(
                "Vous ne verrez plus ces rappels et ne serez plus notifié. Vous pourrez les "
                "réactiver à tout moment."
            ),
            "button": _("Désactiver les rappels"),
            "action": reverse("agenda:prevention_programme", args=[space.public_id, programme]),
            "hidden": {"on": "0"},
        },
    )


@space_view(Action.MANAGE_AGENDA)
def conditions(request, space):
    from agenda.models import PreventionPreference

    current = (
        PreventionPreference.objects.filter(space=space)
        .values_list("conditions", flat=True)
        .first()
    )
    form = ConditionsForm(request.POST or None, initial={"conditions": current or []})
    if request.method == "POST" and form.is_valid():
        services.declare_conditions(
            space=space, conditions=form.cleaned_data["conditions"], **_who(request)
        )
        messages.success(request, _("Vos situations sont enregistrées."))
        return _back(space)
    return render(request, "agenda/prevention/conditions.html", {"space": space, "form": form})
