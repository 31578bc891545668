"""The forms of the appointments' pages. They only shape input: the services decide and
refuse with French messages."""

from __future__ import annotations

from datetime import datetime

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from acces.directory import search_professionals
from acces.models import Professional
from acces.validators import validate_rpps
from agenda.appointments.sealing import Details
from agenda.appointments.services import MAX_DURATION, MAX_LENGTHS, MIN_DURATION, AppointmentData
from agenda.models import Appointment


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, **kwargs):
        super().__init__(format="%H:%M", **kwargs)


class AppointmentForm(forms.Form):
    with_kind = forms.ChoiceField(
        label=_("Avec qui ?"), choices=Appointment.WithKind.choices, initial="practitioner"
    )
    rpps = forms.CharField(
        label=_("Numéro RPPS du professionnel"),
        help_text=_("Si le rendez-vous est avec un professionnel de l'annuaire : 11 chiffres."),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    name = forms.CharField(
        label=_("Nom du professionnel ou de l'établissement"),
        help_text=_(
            "Si vous le saisissez librement, par exemple « Dr Martin » ou « CHU de Nantes »."
        ),
        max_length=MAX_LENGTHS["name"],
        required=False,
    )
    day = forms.DateField(label=_("Date"), widget=DateInput())
    time = forms.TimeField(label=_("Heure"), widget=TimeInput())
    duration_minutes = forms.IntegerField(
        label=_("Durée (minutes)"), min_value=MIN_DURATION, max_value=MAX_DURATION, initial=30
    )
    place = forms.CharField(
        label=_("Lieu"),
        help_text=_("Adresse du cabinet ou du service"),
        max_length=MAX_LENGTHS["place"],
        required=False,
    )
    specialty = forms.CharField(
        label=_("Spécialité"), max_length=MAX_LENGTHS["specialty"], required=False
    )
    reason = forms.CharField(label=_("Motif"), max_length=MAX_LENGTHS["reason"], required=False)
    comment = forms.CharField(
        label=_("Commentaire"),
        max_length=MAX_LENGTHS["comment"],
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def __init__(self, *args, with_status: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if with_status:
            self.fields["status"] = forms.ChoiceField(
                label=_("Statut"),
                choices=[
                    (Appointment.Status.PLANNED, _("Prévu")),
                    (Appointment.Status.DONE, _("Effectué")),
                ],
            )

    def clean_rpps(self):
        rpps = "".join(self.cleaned_data["rpps"].split())
        if not rpps:
            return None
        validate_rpps(rpps)
        professional = search_professionals(query=rpps).first()
        if professional is None:
            raise forms.ValidationError(_("Aucun professionnel de l'annuaire n'a ce numéro RPPS."))
        return professional

    def clean(self):
        data = super().clean()
        if data.get("with_kind") == Appointment.WithKind.DIRECTORY and not data.get("rpps"):
            if "rpps" not in self.errors:
                self.add_error("rpps", _("Indiquez le numéro RPPS du professionnel."))
        elif data.get("with_kind") in ("practitioner", "establishment") and not data.get("name"):
            self.add_error("name", _("Indiquez le nom du professionnel ou de l'établissement."))
        return data

    def appointment_data(self) -> AppointmentData:
        data = self.cleaned_data
        starts_at = timezone.make_aware(datetime.combine(data["day"], data["time"]))
        return AppointmentData(
            starts_at=starts_at,
            duration_minutes=data["duration_minutes"],
            with_kind=data["with_kind"],
            professional=data.get("rpps"),
            details=Details(
                name=data.get("name", ""),
                place=data.get("place", ""),
                specialty=data.get("specialty", ""),
                reason=data.get("reason", ""),
                comment=data.get("comment", ""),
            ),
        )

    @classmethod
    def initial_for(cls, row) -> dict:
        appointment, details = row.appointment, row.details
        local = timezone.localtime(appointment.starts_at)
        return {
            "with_kind": appointment.with_kind,
            "rpps": appointment.professional.rpps if appointment.professional else "",
            "name": details.name,
            "day": local.date(),
            "time": local.time().replace(second=0, microsecond=0),
            "duration_minutes": appointment.duration_minutes,
            "place": details.place,
            "specialty": details.specialty,
            "reason": details.reason,
            "comment": details.comment,
            "status": appointment.status,
        }


class ProAppointmentForm(AppointmentForm):
    """The pro portal's: by default the appointment is with the professional themself."""

    def __init__(self, *args, professional: Professional, **kwargs):
        super().__init__(*args, **kwargs)
        self.professional = professional
        self.fields["with_kind"].initial = Appointment.WithKind.DIRECTORY
        self.fields["rpps"].initial = professional.rpps


class FeedDetailsForm(forms.Form):
    include_details = forms.BooleanField(
        label=_("Inclure les détails des rendez-vous dans mon agenda"),
        help_text=_(
            "Avec qui, le lieu, la spécialité, le motif et le commentaire apparaîtront dans "
            "l'application d'agenda où vous avez ajouté le flux. Sans cette case, chaque "
            "rendez-vous y apparaît seulement comme « Rendez-vous santé » avec son heure."
        ),
        required=False,
    )


class ConfirmForm(forms.Form):
    confirm = forms.BooleanField(
        required=True, error_messages={"required": _("Cochez la case pour confirmer.")}
    )
