"""The patient's control page, "Qui a accès à mon dossier": who sees the record and why,
the attending physician, authorisations, blocks, and the emergency switches.

Every view asks MANAGE_ACCESS (the holder, or a minor's legal representatives) through
`space_view`; every change goes through a service that traces it and tells the patient.
"""

from django import forms
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_POST

from acces import selectors, services
from acces.access import space_view, trace_refusal
from acces.directory import DirectorySearchForm
from acces.models import Block, CareRelation, EmergencyAccess, Professional
from acces.policy import OCCUPATIONAL_SPECIALTY, Action
from espace_sante.french import de
from espace_sante.labels import reader_words
from espace_sante.models import Space
from espace_sante.tracing import Actor

SEARCH_RESULTS = 20


class EmergencySettingsForm(forms.Form):
    emergency_access = forms.BooleanField(
        label=_lazy("Autoriser l'accès en urgence (bris de glace)"),
        help_text=_lazy(
            "Un professionnel face à une urgence vitale peut ouvrir votre dossier sans votre "
            "accord, en donnant un motif écrit, pour quelques heures. Vous en êtes informé."
        ),
        required=False,
    )
    samu_access = forms.BooleanField(
        label=_lazy("Autoriser l'accès du médecin régulateur du SAMU (centre 15)"),
        help_text=_lazy(
            "Pendant un appel au 15, le médecin régulateur peut consulter votre dossier."
        ),
        required=False,
    )

    def __init__(self, *args, words: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if words is not None and not words["own"]:
            # A parent manages the child's switches: speak of the child's record.
            self.fields["emergency_access"].help_text = _(
                "Un professionnel face à une urgence vitale peut ouvrir %(record)s sans votre "
                "accord, en donnant un motif écrit, pour quelques heures. Vous en êtes informé."
            ) % {"record": words["the_record"]}
            self.fields["samu_access"].help_text = _(
                "Pendant un appel au 15, le médecin régulateur peut consulter %(record)s."
            ) % {"record": words["the_record"]}


def _redirect(space: Space):
    return redirect("acces_patient:page", space_id=space.public_id)


def _professional(request, space: Space, rpps: str | None) -> Professional:
    professional = (
        Professional.objects.select_related("user").filter(rpps=rpps or "").first()
        if rpps
        else None
    )
    if professional is None:
        trace_refusal(request, space.public_id, Action.MANAGE_ACCESS, "professional_not_found")
        raise Http404("Professionnel introuvable")
    return professional


@space_view(Action.MANAGE_ACCESS)
def access_page(request, space: Space):
    relations = list(selectors.care_team(space))
    added = selectors.documents_added_by_professionals(
        space, hidden_from=selectors.hidden_from_reader(request.access)
    )
    for relation in relations:
        relation.documents_added = added.get(relation.professional_id, 0)
    search = DirectorySearchForm(request.GET or None)
    results = (
        list(search.results(limit=SEARCH_RESULTS).select_related("user")) if search.is_bound else []
    )
    # Each result says on what basis the professional already has access, so the page offers
    # only what changes something.
    for professional in results:
        held = [r for r in relations if r.professional_id == professional.pk]
        professional.current_relations = held
        professional.is_attending = any(r.basis == CareRelation.Basis.ATTENDING for r in held)
        professional.is_occupational = professional.specialty == OCCUPATIONAL_SPECIALTY
    settings = services.settings_of(space)
    return render(
        request,
        "acces/patient/access.html",
        {
            "space": space,
            "relations": relations,
            "attending": next((r for r in relations if r.basis == "attending"), None),
            "blocks": Block.objects.active()
            .filter(space=space)
            .select_related("professional__user")
            .order_by("-created_at"),
            "emergencies": EmergencyAccess.objects.filter(space=space)
            .select_related("professional__user")
            .order_by("-started_at")[:10],
            "settings": settings,
            "settings_form": EmergencySettingsForm(
                words=reader_words(space, request.user),
                initial={
                    "emergency_access": settings.emergency_access,
                    "samu_access": settings.samu_access,
                },
            ),
            "search": search,
            "results": results,
            "blocked_ids": {b.professional_id for b in Block.objects.active().filter(space=space)},
            # What other apps control here (messaging: the senders the patient refuses).
            "sections": selectors.access_page_sections(request, space, request.access),
        },
    )


@require_POST
@space_view(Action.MANAGE_ACCESS)
def authorise(request, space: Space):
    professional = _professional(request, space, request.POST.get("rpps"))
    try:
        services.authorise(space=space, professional=professional, by=Actor.from_request(request))
    except services.AccessError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            _("%(name)s peut désormais consulter %(record)s.")
            % {
                "name": professional.title,
                "record": reader_words(space, request.user)["the_record"],
            },
        )
    return _redirect(space)


@require_POST
@space_view(Action.MANAGE_ACCESS)
def designate(request, space: Space):
    professional = _professional(request, space, request.POST.get("rpps"))
    try:
        services.designate_attending_physician(
            space=space, professional=professional, by=Actor.from_request(request)
        )
    except services.AccessError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            _("%(name)s est désormais %(attending)s.")
            % {
                "name": professional.title,
                "attending": reader_words(space, request.user)["attending"],
            },
        )
    return _redirect(space)


@space_view(Action.MANAGE_ACCESS)
def revoke(request, space: Space, relation_id: int):
    """Withdraw one basis (confirmation first: the professional loses access at once)."""
    relation = (
        CareRelation.objects.live()
        .select_related("professional__user")
        .filter(space=space, pk=relation_id)
        .first()
    )
    if relation is None:
        trace_refusal(request, space.public_id, Action.MANAGE_ACCESS, "relation_not_found")
        raise Http404("Accès introuvable")
    if request.method == "POST" and request.POST.get("confirm") == "1":
        services.revoke(relation=relation, by=Actor.from_request(request))
        messages.success(
            request,
            _("L'accès %(of_name)s est retiré.") % {"of_name": de(relation.professional.title)},
        )
        return _redirect(space)
    return render(
        request,
        "acces/patient/confirm.html",
        {
            "space": space,
            "kind": "revoke",
            "professional": relation.professional,
            "relation": relation,
        },
    )


@space_view(Action.MANAGE_ACCESS)
def block(request, space: Space, rpps: str):
    """Block a professional (confirmation first): a block beats every other basis."""
    professional = _professional(request, space, rpps)
    if request.method == "POST" and request.POST.get("confirm") == "1":
        services.block(space=space, professional=professional, by=Actor.from_request(request))
        messages.success(
            request,
            _("Accès bloqué pour %(name)s : plus aucun accès %(record)s, même en urgence.")
            % {
                "name": professional.title,
                "record": reader_words(space, request.user)["to_the_record"],
            },
        )
        return _redirect(space)
    return render(
        request,
        "acces/patient/confirm.html",
        {"space": space, "kind": "block", "professional": professional},
    )


@require_POST
@space_view(Action.MANAGE_ACCESS)
def unblock(request, space: Space):
    blocked = (
        Block.objects.active()
        .select_related("professional__user")
        .filter(space=space, pk=_int(request.POST.get("block")))
        .first()
    )
    if blocked is None:
        trace_refusal(request, space.public_id, Action.MANAGE_ACCESS, "block_not_found")
        raise Http404("Blocage introuvable")
    services.unblock(blocked=blocked, by=Actor.from_request(request))
    messages.success(
        request, _("Blocage levé pour %(name)s.") % {"name": blocked.professional.title}
    )
    return _redirect(space)


@require_POST
@space_view(Action.MANAGE_ACCESS)
def emergency_settings(request, space: Space):
    form = EmergencySettingsForm(request.POST)
    form.is_valid()  # two checkboxes: always valid
    services.set_emergency_settings(
        space=space,
        by=Actor.from_request(request),
        emergency_access=form.cleaned_data["emergency_access"],
        samu_access=form.cleaned_data["samu_access"],
    )
    messages.success(request, _("Vos réglages d'accès en urgence sont enregistrés."))
    return _redirect(space)


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
