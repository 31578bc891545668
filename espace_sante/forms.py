from django import forms
from django.contrib.auth import password_validation
from django.utils.translation import gettext_lazy as _

from espace_sante import lifecycle
from espace_sante.identity import normalise_nir, validate_carte_vitale_serial, validate_nir
from espace_sante.models import User


class TokenForm(forms.Form):
    token = forms.CharField(
        label=_("Code à usage unique"),
        help_text=_("6 chiffres."),
        min_length=6,
        max_length=8,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )

    def clean_token(self):
        token = self.cleaned_data["token"].replace(" ", "")
        if not token.isdigit():
            raise forms.ValidationError(_("Le code ne contient que des chiffres."))
        return token


# --- Lifecycle journeys ------------------------------------------------------------------
# The forms only check what the person typed; whether it matches a space is the service's
# business (lifecycle), which answers with one message that never says if a NIR exists.


def _nir_field():
    return forms.CharField(
        label=_("Numéro de sécurité sociale"),
        help_text=_("15 caractères, clé comprise, tels qu'ils figurent sur votre carte Vitale."),
        max_length=21,  # room for the spaces people type between the groups
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )


def _serial_field():
    return forms.CharField(
        label=_("Numéro de série de la carte Vitale"),
        help_text=_("De 10 à 12 chiffres, au dos de la carte."),
        max_length=14,
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "numeric"}),
    )


class IdentityForm(forms.Form):
    """NIR and Carte Vitale serial: who the person says they are."""

    nir = _nir_field()
    carte_vitale_serial = _serial_field()

    def clean_nir(self):
        nir = normalise_nir(self.cleaned_data["nir"])
        validate_nir(nir)
        return nir

    def clean_carte_vitale_serial(self):
        serial = self.cleaned_data["carte_vitale_serial"].replace(" ", "")
        validate_carte_vitale_serial(serial)
        return serial


class ClaimForm(IdentityForm):
    """NIR, Carte Vitale serial and provisional code."""

    code = forms.CharField(
        label=_("Code provisoire"),
        help_text=_(
            "12 caractères, reçus par courrier ou par e-mail (par exemple ABCD-EFGH-JKLM)."
        ),
        max_length=20,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}
        ),
    )

    def clean_code(self):
        code = lifecycle.normalise_code(self.cleaned_data["code"])
        if len(code) != lifecycle.CODE_LENGTH:
            raise forms.ValidationError(
                _("Le code provisoire compte %(length)d lettres et chiffres.")
                % {"length": lifecycle.CODE_LENGTH}
            )
        return code

    def claim(self) -> lifecycle.Claim:
        data = self.cleaned_data
        return lifecycle.Claim(
            nir=data["nir"], carte_vitale_serial=data["carte_vitale_serial"], code=data["code"]
        )


class NewAccountFields(forms.Form):
    """Email (the identifier) and a password chosen twice, checked by Django's validators."""

    email_required = True

    email = forms.EmailField(
        label=_("Adresse e-mail"),
        help_text=_("Elle sera votre identifiant de connexion. Format attendu : nom@domaine.fr"),
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    password1 = forms.CharField(
        label=_("Mot de passe"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label=_("Confirmation du mot de passe"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("email", "password1", "password2"):
            self.fields[name].required = self.email_required
        self.fields[
            "password1"
        ].help_text = password_validation.password_validators_help_text_html()

    def clean_email(self):
        return self.cleaned_data["email"].strip().lower()

    def clean(self):
        cleaned = super().clean()
        email = cleaned.get("email")
        password1, password2 = cleaned.get("password1"), cleaned.get("password2")
        wants_account = self.email_required or email or password1 or password2
        if not wants_account:
            return cleaned
        if not self.email_required:
            for name in ("email", "password1", "password2"):
                if not cleaned.get(name) and name not in self.errors:
                    self.add_error(name, _("Complétez ce champ pour créer votre compte."))
        if password1 and password2 and password1 != password2:
            self.add_error("password2", _("Les deux mots de passe ne sont pas identiques."))
        elif password1:
            try:
                password_validation.validate_password(
                    password1, User(email=email or "", kind=User.Kind.PATIENT)
                )
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return cleaned


_CLAIM_THEN_ACCOUNT = ["nir", "carte_vitale_serial", "code", "email", "password1", "password2"]


class ActivationForm(ClaimForm, NewAccountFields):
    field_order = _CLAIM_THEN_ACCOUNT


class ReactivationForm(ClaimForm, NewAccountFields):
    email_required = False
    field_order = _CLAIM_THEN_ACCOUNT

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].help_text = _(
            "Seulement si vous n'avez jamais eu de compte : elle deviendra votre identifiant."
        )


class OppositionForm(ClaimForm):
    confirm = forms.BooleanField(
        label=_("Je confirme m'opposer à la création de mon espace"),
        help_text=_(
            "Votre espace ne sera pas créé ; vous pourrez le réactiver plus tard si vous "
            "changez d'avis."
        ),
        error_messages={
            "required": _("Cochez cette case pour confirmer votre opposition."),
        },
    )


class MinorActivationForm(forms.Form):
    """The provisional code sent for a child, typed by a representative signed in."""

    code = ClaimForm.base_fields["code"]
    clean_code = ClaimForm.clean_code


class FranceConnectActivationForm(NewAccountFields):
    """The provisional code and the account's email and password: FranceConnect's identity
    stands for the NIR and the Carte Vitale serial."""

    code = ClaimForm.base_fields["code"]
    clean_code = ClaimForm.clean_code
    field_order = ["code", "email", "password1", "password2"]


class LostCodeForm(IdentityForm):
    channel = forms.ChoiceField(
        label=_("Recevoir le code"),
        choices=[
            ("email", _("Par e-mail, à l'adresse enregistrée (par courrier à défaut)")),
            ("letter", _("Par courrier, à l'adresse postale enregistrée")),
        ],
        initial="email",
        required=False,
        widget=forms.RadioSelect,
    )

    def clean_channel(self) -> str:
        return self.cleaned_data.get("channel") or "email"


class ReauthenticationForm(forms.Form):
    """The signed-in person types their password again and ticks a confirmation."""

    confirm_label = ""

    password = forms.CharField(
        label=_("Votre mot de passe actuel"),
        help_text=_("Pour votre sécurité, saisissez à nouveau le mot de passe de votre compte."),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    confirm = forms.BooleanField(
        error_messages={"required": _("Cochez cette case pour confirmer.")},
    )

    def __init__(self, *args, user: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["confirm"].label = self.confirm_label

    def clean_password(self):
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError(_("Mot de passe incorrect."))
        return password


class CloseForm(ReauthenticationForm):
    confirm_label = _("Je confirme vouloir clôturer cet espace")

    REASONS = [
        ("", _("Je préfère ne pas le dire")),
        ("not_used", _("Je n'utilise pas ce service")),
        ("privacy", _("Je ne souhaite pas que mes données de santé soient conservées en ligne")),
        ("other", _("Une autre raison")),
    ]
    reason = forms.ChoiceField(
        label=_("Pourquoi clôturez-vous cet espace ? (facultatif)"),
        choices=REASONS,
        required=False,
    )
    field_order = ["reason", "password", "confirm"]


class DeletionForm(ReauthenticationForm):
    confirm_label = _(
        "Je confirme demander la suppression définitive de cet espace et de toutes ses données"
    )


class HistoryFilterForm(forms.Form):
    """Filters of the trail page: who, what kind of action, outcome, dates."""

    # By default the holder's (or representative's) own page views and actions are left out:
    # they would flood what the patient came for, the accesses and actions of others.
    WHO = [
        ("", _("Les autres : professionnels, agents, représentants, système")),
        ("moi", _("Vous seul : vos propres consultations et actions")),
        ("tous", _("Tout le monde, vous compris")),
        ("professional", _("Professionnels de santé")),
        ("patient", _("Vous et vos représentants")),
        ("agent", _("Agents de l'Assurance Maladie")),
        ("system", _("Système")),
    ]
    KINDS = [
        ("", _("Toutes les actions")),
        ("consultations", _("Consultations")),
        ("documents", _("Documents")),
        ("profil", _("Profil médical")),
        ("acces", _("Gestion des accès")),
        ("urgences", _("Accès en urgence")),
        ("espace", _("Vie de l'espace et connexions")),
    ]
    OUTCOMES = [
        ("", _("Autorisés et refusés")),
        ("allowed", _("Autorisés")),
        ("denied", _("Refusés")),
    ]

    qui = forms.ChoiceField(label=_("Qui"), choices=WHO, required=False)
    type = forms.ChoiceField(label=_("Type d'action"), choices=KINDS, required=False)
    resultat = forms.ChoiceField(label=_("Résultat"), choices=OUTCOMES, required=False)
    du = forms.DateField(
        label=_("Du"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    au = forms.DateField(
        label=_("Au"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
