"""The pro portal: my patients, finding a patient, consent, a patient's page, emergencies."""

from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from acces import selectors, services
from acces.access import get_space_for, trace_refusal
from acces.decorators import professional_required
from acces.models import EmergencyAccess
from acces.policy import BASIS_LABELS, Action, Basis, ConsentDeclaration, Principal, decide
from acces.pro_forms import ConsentForm, EmergencyForm, PatientIdentityForm
from espace_sante.models import Space
from espace_sante.tracing import Actor

PAGE_SIZE = 25
# Exact-match searches a professional may run per window: enough for a day of consultations,
# too few to walk the population.
SEARCHES_PER_WINDOW = 60
SEARCH_WINDOW_SECONDS = 3600
# The spaces a professional found by a search, which they may declare consent for.
FOUND_SESSION_KEY = "pro_found_spaces"


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
            "recent": selectors.recent_patients(request.user),
        },
    )


def _search_allowed(request) -> bool:
    key = f"pro-search:{request.user.pk}"
    cache.add(key, 0, SEARCH_WINDOW_SECONDS)
    return cache.incr(key) <= SEARCHES_PER_WINDOW


def _remember_found(request, space: Space) -> None:
    found = [str(space.public_id)] + [
        s for s in request.session.get(FOUND_SESSION_KEY, []) if s != str(space.public_id)
    ]
    request.session[FOUND_SESSION_KEY] = found[:20]


@professional_required
def find_patient(request):
    """INS + birth name + birth date, exactly; then the record, or the consent first."""
    form = PatientIdentityForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if not _search_allowed(request):
            form.add_error(None, _("Trop de recherches en peu de temps : réessayez plus tard."))
        else:
            space = services.find_space(actor=Actor.from_request(request), **form.cleaned_data)
            if space is None:
                form.add_error(
                    None,
                    _(
                        "Aucun dossier accessible ne correspond exactement à ces informations. "
                        "Vérifiez l'INS, le nom de naissance et la date de naissance sur la "
                        "carte Vitale ou la pièce d'identité du patient."
                    ),
                )
            else:
                _remember_found(request, space)
                if decide(Principal.from_request(request), Action.VIEW_SPACE, space):
                    return redirect("pro:patient", space_id=space.public_id)
                return redirect("pro:consent", space_id=space.public_id)
    return render(request, "acces/pro/find.html", {"form": form})


@professional_required
def consent(request, space_id):
    """Before a first access, the professional declares that the patient consented."""
    principal = Principal.from_request(request)
    space = Space.objects.select_related("holder").filter(public_id=space_id).first()
    found = str(space_id) in request.session.get(FOUND_SESSION_KEY, [])
    current = decide(principal, Action.VIEW_SPACE, space) if space else None
    declaration = ConsentDeclaration(space=space, found_by_search=found) if space else None
    eligible = decide(principal, Action.DECLARE_CONSENT, declaration) if space else None
    if not current and (eligible is None or eligible.reason == "not_searched"):
        # Only a space found by an exact search opens the consent: an id alone proves nothing.
        # The patient's trail says when it was a professional they blocked who tried.
        blocked = current is not None and current.reason == "blocked"
        reason = "blocked" if blocked else "not_searched"
        trace_refusal(request, space_id, Action.VIEW_SPACE, reason=reason)
        raise PermissionDenied("Recherchez d'abord le patient.")
    if current:
        # It shows the patient's name: a read of the space, asked and traced like any other.
        space, _decision = get_space_for(request, space_id, Action.VIEW_SPACE)
        return render(
            request,
            "acces/pro/consent.html",
            {"space": space, "holder": space.holder, "already": True},
        )
    occupational = request.user.professional.is_occupational_physician
    form = ConsentForm(request.POST or None, occupational=occupational)
    if request.method == "POST" and form.is_valid():
        try:
            services.declare_consent(
                space=space,
                professional=request.user.professional,
                by=Actor.from_request(request),
                found_by_search=found,
            )
        except services.AccessError as error:
            return render(
                request,
                "acces/pro/consent.html",
                {"space": space, "refused": str(error)},
                status=403,
            )
        else:
            messages.success(
                request,
                _(
                    "Votre déclaration est enregistrée : vous accédez au volet santé au travail "
                    "de ce patient."
                )
                if occupational
                else _(
                    "Votre déclaration est enregistrée : vous faites partie de l'équipe de soins."
                ),
            )
            return redirect("pro:patient", space_id=space.public_id)
    # The professional found this space by an exact search (INS, birth name, birth date) in
    # this session: the page names who was found, so that the declaration is about the
    # patient in front of them. An id alone never gets here.
    return render(
        request,
        "acces/pro/consent.html",
        {"space": space, "holder": space.holder, "form": form, "occupational": occupational},
    )


@professional_required
def patient(request, space_id):
    space, decision = get_space_for(request, space_id, Action.VIEW_SPACE)
    professional = request.user.professional
    emergency = None
    if decision.basis in (Basis.EMERGENCY, Basis.SAMU):
        emergency = services.live_emergency_access(space, professional)
    return render(
        request,
        "acces/pro/patient.html",
        {
            "space": space,
            "holder": space.holder,
            "basis": decision.basis,
            "basis_label": BASIS_LABELS[decision.basis],
            "decision": decision,
            "emergency": emergency,
            "care_team": selectors.care_team(space),
            "may_view_profile": bool(
                decide(Principal.from_request(request), Action.VIEW_PROFILE, space)
            ),
            "may_view_care_history": bool(
                decide(Principal.from_request(request), Action.VIEW_CARE_HISTORY, space)
            ),
        },
    )


@professional_required
def patient_history(request, space_id):
    """The entries of the patient's trail that concern this professional."""
    space, decision = get_space_for(request, space_id, Action.VIEW_HISTORY)
    events = selectors.history_for(space, request.user, decision)
    page = selectors.trail_page(events, request.GET, PAGE_SIZE)
    selectors.name_subjects(page.object_list)
    return render(
        request,
        "acces/pro/history.html",
        {"space": space, "holder": space.holder, "page": page, "decision": decision},
    )


@professional_required
def emergency(request):
    """Break the glass, or open the SAMU's regulation access: reason, time limit, patient told.

    Only the modes the professional may open are offered; one who may open none (the
    occupational physician, a pharmacist…) is told so, and no form is shown.
    """
    modes = request.user.professional.emergency_modes
    if not modes:
        return render(request, "acces/pro/emergency.html", {"form": None})
    form = EmergencyForm(request.POST or None, modes=modes)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        actor = Actor.from_request(request)
        if not _search_allowed(request):
            form.add_error(None, _("Trop de recherches en peu de temps : réessayez plus tard."))
            return render(request, "acces/pro/emergency.html", {"form": form, "modes": modes})
        space = services.find_space(
            actor=actor,
            nir=data["nir"],
            last_name=data["last_name"],
            birth_date=data["birth_date"],
        )
        if space is None:
            form.add_error(
                None, _("Aucun dossier accessible ne correspond exactement à ces informations.")
            )
        else:
            try:
                access = services.open_emergency_access(
                    space=space,
                    professional=request.user.professional,
                    mode=data["mode"],
                    reason=data["reason"],
                    by=actor,
                )
            except services.AccessError as error:
                form.add_error(None, str(error))
            else:
                messages.warning(
                    request,
                    _(
                        "Accès en urgence ouvert jusqu'à %(until)s. Le patient en est informé "
                        "et lira votre motif dans l'historique des accès."
                    )
                    % {"until": date_format(timezone.localtime(access.expires_at), "H:i")},
                )
                return redirect("pro:patient", space_id=space.public_id)
    return render(
        request,
        "acces/pro/emergency.html",
        {
            "form": form,
            "modes": modes,
            "duration_hours": int(EmergencyAccess.DURATION.total_seconds() // 3600),
        },
    )
