"""French labels of the codes the audit trail stores, for every page and export that shows them.

The actions' labels are declared by each app (`espace_sante.actions`). An unknown code is
shown as it is, so a new action is never hidden from the patient.
"""

from django.utils.translation import gettext_lazy as _

from espace_sante import actions

ROLE_LABELS = {
    "patient": _("Patient"),
    "professional": _("Professionnel de santé"),
    "agent": _("Agent CPAM"),
    "admin": _("Administrateur technique"),
    "system": _("Système"),
    "anonymous": _("Non connecté"),
    "calendar_feed": _("Flux iCalendar"),
}

BASIS_LABELS = {
    "holder": _("Titulaire"),
    "legal_representative": _("Représentant légal"),
    "attending": _("Médecin traitant"),
    "authorised": _("Autorisation du patient"),
    "care_team": _("Équipe de soins"),
    "occupational": _("Médecine du travail"),
    "emergency": _("Accès en urgence (bris de glace)"),
    "samu": _("Régulation du SAMU"),
    "correspondent": _("Correspondant de la messagerie"),
}

OUTCOME_LABELS = {"allowed": _("autorisé"), "denied": _("refusé")}


def action_label(code: str) -> str:
    """The French label of an audit code, from the apps' registered vocabularies."""
    return actions.label(code)


def role_label(code: str) -> str:
    return str(ROLE_LABELS.get(code, code))


def basis_label(code: str) -> str:
    return str(BASIS_LABELS.get(code, code or "—"))


# --- Words for the reader of a space's pages ------------------------------------------------

_VOWELS = "AEIOUYÀÂÄÉÈÊËÎÏÔÖÛÜaeiouyàâäéèêëîïôöûü"


def of_name(name: str) -> str:
    """« de Léo », « d'Élodie »: the French preposition before a first name."""
    from django.utils.translation import gettext

    if name[:1] and name[:1] in _VOWELS:
        return gettext("d'%(name)s") % {"name": name}
    return gettext("de %(name)s") % {"name": name}


def reader_words(space, user) -> dict[str, str]:
    """The words of a space's pages for who reads them: « mon dossier » for the holder,
    « le dossier de Léo » for a legal representative (or anyone else on the holder's side).

    One rule for every page that speaks to the patient side, so a parent on a child's
    space is never addressed as the child.
    """
    from django.utils.translation import gettext

    holder = space.holder
    if user is not None and holder.user_id is not None and holder.user_id == user.pk:
        return {
            "own": True,
            "first_name": holder.first_names.split(" ")[0],
            "of_holder": of_name(holder.first_names.split(" ")[0]),
            "access_title": gettext("Qui a accès à mon dossier"),
            "the_record": gettext("votre dossier"),
            "to_the_record": gettext("à votre dossier"),
            "of_the_record": gettext("de votre dossier"),
            "attending": gettext("votre médecin traitant"),
            "attending_title": gettext("Votre médecin traitant"),
            "pros_with_access": gettext("Professionnels qui ont accès à mon dossier"),
        }
    of = of_name(holder.first_names.split(" ")[0])
    return {
        "own": False,
        "access_title": gettext("Qui a accès au dossier %(of)s") % {"of": of},
        "the_record": gettext("le dossier %(of)s") % {"of": of},
        "to_the_record": gettext("au dossier %(of)s") % {"of": of},
        "of_the_record": gettext("du dossier %(of)s") % {"of": of},
        "first_name": holder.first_names.split(" ")[0],
        "of_holder": of,
        "attending": gettext("le médecin traitant %(of)s") % {"of": of},
        "attending_title": gettext("Le médecin traitant %(of)s") % {"of": of},
        "pros_with_access": gettext("Professionnels qui ont accès au dossier %(of)s") % {"of": of},
    }
