"""The lifecycle of a space in the CPAM agents' admin: its history and its actions.

The history is read from the audit trail through `espace_sante.tracing.read_trail`
(the trail lives in `acces`, which registers the reader). Agents see identities,
states, dates and the lifecycle events of a space; never a professional's
consultation nor anything that could reveal care. Every action goes through
`espace_sante.lifecycle`, which checks the transition and traces it with the agent
as actor. `SpaceAdmin` (`espace_sante.admin`) shows both.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from espace_sante import actions, lifecycle
from espace_sante.forms import CloseForm as PatientCloseForm
from espace_sante.french import de
from espace_sante.models import Space, SpaceError, User
from espace_sante.tracing import Actor, read_trail

# --- The lifecycle history -----------------------------------------------------------------

ROLE_LABELS = {
    **{kind.value: kind.label for kind in User.Kind},
    Actor.SYSTEM: _("Système"),
    Actor.ANONYMOUS: _("Personne non connectée"),
}

# The codes of the patient's own closing form, read back as its labels.
PATIENT_CLOSING_REASONS = {value: label for value, label in PatientCloseForm.REASONS if value}

CHANNEL_LABELS = {
    "email": _("par e-mail"),
    "letter": _("par courrier"),
    "agent": _("par un agent CPAM"),
    "online": _("en ligne"),
    "system": _("automatiquement"),
}


@dataclass(frozen=True)
class HistoryRow:
    occurred_at: Any
    actor_label: str
    role: str
    action: str
    outcome: str
    remarks: str


def lifecycle_history(space: Space) -> list[HistoryRow]:
    """The space's lifecycle events, newest first, in one query (read from the trail).

    Only whitelisted details are shown: states, channel, due date, and the reason of
    the action (chosen from a list, or typed by an agent under a warning to write
    nothing about health; a patient's own closing reason is one of their form's choices).
    The actions an agent may read are those their vocabulary words for agents.
    """
    agent_wording = {member.value: member.agent_label for member in actions.agent_actions()}
    return [
        HistoryRow(
            occurred_at=event.occurred_at,
            actor_label=event.actor_label,
            role=str(ROLE_LABELS.get(event.role, event.role)),
            action=str(agent_wording[event.action]),
            outcome=event.outcome_label,
            remarks=_remarks(event.detail),
        )
        for event in read_trail(space=space, actions=agent_wording)
    ]


def _state_label(value: Any) -> str:
    try:
        return str(Space.State(value).label)
    except ValueError:
        return ""


def _remarks(detail: dict) -> str:
    parts = []
    before, after = _state_label(detail.get("from")), _state_label(detail.get("to"))
    if before and after:
        parts.append(f"{before} → {after}")
    elif before:
        parts.append(gettext("depuis : %(state)s") % {"state": before})
    if detail.get("by") == "legal_representative":
        parts.append(gettext("par un représentant légal"))
    channel = CHANNEL_LABELS.get(detail.get("channel"))
    if channel:
        parts.append(str(channel))
    due = detail.get("due")
    if isinstance(due, str):
        with contextlib.suppress(ValueError):
            day = short_day(date.fromisoformat(due))
            parts.append(gettext("échéance : %(date)s") % {"date": day})
    reason = detail.get("reason")
    if isinstance(reason, str) and reason:
        reason = str(PATIENT_CLOSING_REASONS.get(reason, reason))
        parts.append(gettext("motif : %(reason)s") % {"reason": reason})
    return " · ".join(parts)


def short_day(value: date | None) -> str:
    """A date as agents read it (31/12/2025), or a dash."""
    return date_format(value, "d/m/Y") if value else "—"


# --- The lifecycle actions -----------------------------------------------------------------


# Every lifecycle action's reason is shown in the space's lifecycle history.
REASON_WARNING = _(
    "Le motif s'affiche dans l'historique du cycle de vie, que lisent les agents : "
    "n'y écrivez aucune information sur la santé de la personne."
)
OTHER_REASON = "autre"


class ActionForm(forms.Form):
    """What an action asks before it runs: its page is the confirmation, and every action
    gives a reason, chosen from `REASONS` or typed ("Autre motif"), kept in the trail."""

    REASONS: list[tuple[str, Any]] = []

    reason = forms.ChoiceField(label=_("Motif"), widget=forms.RadioSelect)
    reason_other = forms.CharField(
        label=_("Autre motif"),
        max_length=200,
        required=False,
        help_text=REASON_WARNING,
        widget=forms.TextInput(attrs={"size": 80}),
    )

    def __init__(self, *args, space: Space, **kwargs):
        super().__init__(*args, **kwargs)
        self.space = space
        self.fields["reason"].choices = [
            *self.REASONS,
            (OTHER_REASON, _("Autre motif, précisé ci-dessous")),
        ]

    def clean(self):
        data = super().clean()
        if data.get("reason") == OTHER_REASON:
            typed = (data.get("reason_other") or "").strip()
            if typed:
                data["reason"] = typed
            else:
                self.add_error("reason_other", _("Précisez le motif."))
        return data


class ReactivateForm(ActionForm):
    REASONS = [
        ("demande du titulaire par téléphone", _("demande du titulaire par téléphone")),
        ("demande du titulaire au guichet", _("demande du titulaire au guichet")),
        ("demande du titulaire par courrier", _("demande du titulaire par courrier")),
        ("clôture faite par erreur", _("clôture faite par erreur")),
    ]


class SendCodeForm(ActionForm):
    REASONS = [
        ("code perdu ou non reçu", _("code perdu ou non reçu")),
        ("code expiré", _("code expiré")),
        ("coordonnées corrigées", _("coordonnées corrigées")),
    ]


class LiftSuspensionForm(ActionForm):
    REASONS = [
        ("fraude non confirmée", _("fraude non confirmée")),
        ("contestation du titulaire acceptée", _("contestation du titulaire acceptée")),
    ]


class OppositionForm(ActionForm):
    REASONS = [
        ("opposition par téléphone", _("opposition par téléphone")),
        ("opposition au guichet", _("opposition au guichet")),
        ("opposition par courrier", _("opposition par courrier")),
    ]


class CloseForm(ActionForm):
    REASONS = [
        ("demande par téléphone", _("demande par téléphone")),
        ("demande au guichet", _("demande au guichet")),
        ("demande par courrier", _("demande par courrier")),
    ]


class SuspendForm(ActionForm):
    REASONS = [
        ("usurpation d'identité suspectée", _("usurpation d'identité suspectée")),
        ("carte Vitale signalée perdue ou volée", _("carte Vitale signalée perdue ou volée")),
        ("doublon d'identité", _("doublon d'identité")),
    ]


class DeathForm(ActionForm):
    field_order = ["death_date", "reason", "reason_other"]
    REASONS = [
        ("acte de décès reçu", _("acte de décès reçu")),
        ("signalement de l'état civil", _("signalement de l'état civil")),
        ("déclaration d'un proche", _("déclaration d'un proche")),
    ]

    death_date = forms.DateField(
        label=_("Date du décès"),
        input_formats=["%d/%m/%Y"],
        help_text=_("Au format JJ/MM/AAAA."),
        widget=forms.DateInput(format="%d/%m/%Y", attrs={"size": 10}),
    )

    def clean_death_date(self) -> date:
        day = self.cleaned_data["death_date"]
        if day > timezone.localdate():
            raise forms.ValidationError(_("La date du décès ne peut pas être dans le futur."))
        if day < self.space.holder.birth_date:
            raise forms.ValidationError(
                _("La date du décès ne peut pas précéder la date de naissance.")
            )
        return day


def _name(space: Space) -> str:
    return str(space.holder)


def _close(space: Space, by: Actor, data: dict) -> str:
    space = lifecycle.close(space=space, by=by, reason=data["reason"], channel="agent")
    return gettext(
        "L'espace santé %(of_name)s est clôturé. Il est archivé jusqu'au %(until)s et peut être "
        "réactivé jusque-là."
    ) % {"of_name": de(_name(space)), "until": short_day(space.retention_until)}


def _reactivate(space: Space, by: Actor, data: dict) -> str:
    space = lifecycle.reactivate(space=space, by=by, reason=data["reason"])
    if space.state == Space.State.ACTIVE:
        return gettext("L'espace santé %(of_name)s est réactivé.") % {"of_name": de(_name(space))}
    return gettext(
        "L'espace santé %(of_name)s est réactivé. Un code provisoire est envoyé au titulaire "
        "pour qu'il l'active."
    ) % {"of_name": de(_name(space))}


# States in which a new provisional code serves: to activate, to oppose, or to reactivate.
_CODE_STATES = {Space.State.ANNOUNCED, Space.State.CREATED, Space.State.OPPOSED, Space.State.CLOSED}


def _send_new_code(space: Space, by: Actor, data: dict) -> str:
    # `send_new_code` has no guard of its own: a code is useless to an active,
    # suspended or destroyed space, so the admin refuses it here.
    if space.state not in _CODE_STATES:
        raise SpaceError(
            gettext(
                "Un code provisoire ne sert qu'à activer un espace, à s'opposer à sa création ou "
                "à réactiver un espace clôturé : cet espace est « %(state)s »."
            )
            % {"state": space.get_state_display()}
        )
    channel = lifecycle.send_new_code(space=space, by=by, reason=data["reason"])
    return gettext("Un nouveau code provisoire est envoyé à %(name)s %(channel)s.") % {
        "name": _name(space),
        "channel": CHANNEL_LABELS.get(channel, channel),
    }


def _record_opposition(space: Space, by: Actor, data: dict) -> str:
    space = lifecycle.record_opposition(space=space, by=by, reason=data["reason"])
    return gettext(
        "L'opposition %(of_name)s est enregistrée : son espace santé ne sera pas créé."
    ) % {"of_name": de(_name(space))}


def _suspend(space: Space, by: Actor, data: dict) -> str:
    space = lifecycle.suspend(space=space, by=by, reason=data["reason"])
    return gettext(
        "L'espace santé %(of_name)s est suspendu. Sans contestation dans les six semaines, "
        "il sera clôturé."
    ) % {"of_name": de(_name(space))}


def _lift_suspension(space: Space, by: Actor, data: dict) -> str:
    space = lifecycle.lift_suspension(space=space, by=by, reason=data["reason"])
    return gettext("La suspension de l'espace santé %(of_name)s est levée.") % {
        "of_name": de(_name(space))
    }


def _record_death(space: Space, by: Actor, data: dict) -> str:
    space = lifecycle.record_death(
        space=space, death_date=data["death_date"], by=by, reason=data["reason"]
    )
    return gettext(
        "Le décès %(of_name)s est enregistré. Son espace santé est clôturé et archivé jusqu'au "
        "%(until)s."
    ) % {"of_name": de(_name(space)), "until": short_day(space.retention_until)}


def _opposition_open(space: Space) -> bool:
    deadline = space.opposition_deadline
    return space.state == Space.State.ANNOUNCED and (deadline is None or deadline > timezone.now())


def _reactivable(space: Space) -> bool:
    return space.state in (Space.State.CLOSED, Space.State.OPPOSED) and (
        space.retention_until is None or space.retention_until >= timezone.localdate()
    )


@dataclass(frozen=True)
class LifecycleAction:
    """One button of the space's page: its URL, what it asks, which states show it."""

    name: str  # URL name suffix
    path: str
    label: Any
    available: Callable[[Space], bool]
    perform: Callable[[Space, Actor, dict], str]
    form_class: type[ActionForm] = ActionForm
    destructive: bool = False  # shown as such on the space's page; every action confirms
    explanation: Any = ""

    @property
    def url_name(self) -> str:
        return f"espace_sante_space_{self.name}"


ACTIONS = [
    LifecycleAction(
        name="reactivate",
        path="reactiver",
        label=_("Réactiver"),
        available=_reactivable,
        perform=_reactivate,
        form_class=ReactivateForm,
        explanation=_(
            "L'espace retrouve toutes ses données. Si le titulaire n'a pas encore de compte, "
            "un code provisoire lui est envoyé pour l'activer."
        ),
    ),
    LifecycleAction(
        name="send_code",
        path="nouveau-code",
        label=_("Renvoyer un code provisoire"),
        available=lambda space: space.state in _CODE_STATES,
        perform=_send_new_code,
        form_class=SendCodeForm,
        explanation=_(
            "Le code est envoyé à l'adresse e-mail connue, ou par courrier à défaut ; "
            "les codes précédents ne sont plus valables."
        ),
    ),
    LifecycleAction(
        name="lift_suspension",
        path="lever-suspension",
        label=_("Lever la suspension"),
        available=lambda space: space.state == Space.State.SUSPENDED,
        perform=_lift_suspension,
        form_class=LiftSuspensionForm,
        explanation=_("L'espace redevient accessible à son titulaire et aux professionnels."),
    ),
    LifecycleAction(
        name="close",
        path="cloturer",
        label=_("Clôturer (demande par téléphone ou au guichet)"),
        available=lambda space: (
            space.state in (Space.State.ACTIVE, Space.State.CREATED, Space.State.SUSPENDED)
        ),
        perform=_close,
        form_class=CloseForm,
        destructive=True,
        explanation=_(
            "L'espace sera archivé pendant dix ans, invisible de tous les professionnels, et "
            "pourra être réactivé pendant cette durée. Proposez d'abord à la personne de "
            "télécharger ses données depuis son espace."
        ),
    ),
    LifecycleAction(
        name="record_opposition",
        path="opposition",
        label=_("Enregistrer une opposition"),
        available=_opposition_open,
        perform=_record_opposition,
        form_class=OppositionForm,
        destructive=True,
        explanation=_(
            "La personne refuse la création de son espace santé. Son code provisoire est "
            "annulé ; elle pourra plus tard demander la réactivation."
        ),
    ),
    LifecycleAction(
        name="suspend",
        path="suspendre",
        label=_("Suspendre (suspicion de fraude)"),
        available=lambda space: space.state in (Space.State.ACTIVE, Space.State.CREATED),
        perform=_suspend,
        form_class=SuspendForm,
        destructive=True,
        explanation=_(
            "Personne ne peut plus accéder à l'espace. Sans contestation dans les six semaines, "
            "il sera clôturé automatiquement."
        ),
    ),
    LifecycleAction(
        name="record_death",
        path="deces",
        label=_("Enregistrer un décès"),
        available=lambda space: (
            space.state
            in (Space.State.ACTIVE, Space.State.CREATED, Space.State.SUSPENDED, Space.State.CLOSED)
        ),
        perform=_record_death,
        form_class=DeathForm,
        destructive=True,
        explanation=_(
            "L'espace est clôturé et archivé pendant dix ans à compter de la date du décès."
        ),
    ),
]


def may_act_on_spaces(user) -> bool:
    """CPAM agents (and technical administrators) with access to the spaces."""
    return (
        user.is_authenticated
        and user.kind in (User.Kind.AGENT, User.Kind.ADMIN)
        and user.has_perm("espace_sante.view_space")
    )
