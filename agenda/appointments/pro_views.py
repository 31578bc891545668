"""The pro portal's appointment page: a professional with a basis on the space adds an
appointment to the patient's agenda (ADD_APPOINTMENT); the patient is told."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from acces.access import get_space_for
from acces.decorators import professional_required
from acces.policy import Action
from acces.principal import Principal
from agenda.appointments import services
from agenda.appointments.forms import ProAppointmentForm
from espace_sante.tracing import Actor


@professional_required
def add(request, space_id):
    space, decision = get_space_for(request, space_id, Action.ADD_APPOINTMENT)
    professional = request.user.professional
    form = ProAppointmentForm(request.POST or None, professional=professional)
    if request.method == "POST" and form.is_valid():
        try:
            services.add_by_professional(
                space=space,
                data=form.appointment_data(),
                by=Actor.from_request(request),
                principal=Principal.from_request(request),
            )
        except services.AgendaError as exc:
            field = {"starts_at": "day"}.get(exc.field, exc.field)
            form.add_error(field if field in form.fields else None, str(exc))
        else:
            messages.success(
                request, _("Le rendez-vous est ajouté à l'agenda du patient, qui en est prévenu.")
            )
            return redirect("pro:patient", space.public_id)
    return render(
        request,
        "agenda/appointments/pro/add.html",
        {"space": space, "holder": space.holder, "form": form, "decision": decision},
    )
