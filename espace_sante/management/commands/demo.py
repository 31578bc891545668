"""Load demo data through the project's own services, so the history pages have content."""

import base64
import hashlib
from datetime import date

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django.test.utils import override_settings
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from acces import services as acces_services
from acces.models import CareRelation, Professional
from acces.policy import Action
from acces.validators import luhn_complete
from espace_sante import lifecycle, services
from espace_sante.actions import SpaceAction
from espace_sante.identity import with_key
from espace_sante.models import Patient, Space, User
from espace_sante.tracing import Actor, trace

DOMAIN = "demo.monespacesante.fr"

PATIENTS = [
    # key, nir13, last name, first names, birth date, sex, Carte Vitale serial, email
    (
        "camille",
        "2850475056123",
        "Durand",
        "Camille Marie",
        date(1985, 4, 12),
        "F",
        "1002003004",
        f"camille.durand@{DOMAIN}",
    ),
    (
        "marc",
        "1720169123045",
        "Lefebvre",
        "Marc",
        date(1972, 1, 30),
        "M",
        "1002003005",
        f"marc.lefebvre@{DOMAIN}",
    ),
    # Born in Ajaccio (2A): the NIR key handles the Corsican department.
    ("leo", "115062A004077", "Durand", "Léo", date(2015, 6, 3), "M", "1002003006", ""),
    # 52 in 2026: the organised breast and colorectal screenings (agenda.prevention).
    (
        "nathalie",
        "2740644109124",
        "Moreau",
        "Nathalie",
        date(1974, 6, 1),
        "F",
        "1002003020",
        f"nathalie.moreau@{DOMAIN}",
    ),
]

LIFECYCLE_PEOPLE = [
    # key, nir13, last name, first names, birth date, sex, serial, state, journey (printed)
    (
        "julien.martin",
        "1900344109101",
        "Martin",
        "Julien",
        date(1990, 3, 8),
        "M",
        "1002003007",
        Space.State.CREATED,
        "Activer : /activer/",
    ),
    (
        "sophie.girard",
        "2950744109102",
        "Girard",
        "Sophie",
        date(1995, 7, 21),
        "F",
        "1002003008",
        Space.State.ANNOUNCED,
        "S'opposer : /opposition/",
    ),
    (
        "paul.renaud",
        "1680144109103",
        "Renaud",
        "Paul",
        date(1968, 1, 15),
        "M",
        "1002003009",
        Space.State.CLOSED,
        "Réactiver : /reactiver/",
    ),
]

PROFESSIONALS = [
    # key, first name, last name, RPPS prefix (10 digits), profession, specialty, town
    ("generaliste", "Martin", "Bernard", "1000000001", "medecin", "medecine_generale", "Nantes"),
    ("cardiologue", "Sophie", "Lambert", "1000000002", "medecin", "cardiologie", "Nantes"),
    ("infirmier", "Julie", "Moreau", "1000000003", "infirmier", "", "Rezé"),
    ("pharmacien", "Thomas", "Petit", "1000000004", "pharmacien", "", "Nantes"),
    ("urgentiste", "Karim", "Benali", "1000000005", "medecin", "medecine_urgence", "Toulouse"),
    ("medecin-travail", "Anne", "Roux", "1000000006", "medecin", "medecine_travail", "Nantes"),
]


def demo_totp_key(email: str) -> str:
    """A fixed TOTP secret per demo account, so reruns print the same one."""
    return hashlib.sha256(f"demo-totp:{email}".encode()).digest()[:20].hex()


def ensure_totp(user: User) -> str:
    key = demo_totp_key(user.email)
    TOTPDevice.objects.update_or_create(
        user=user, name="application", defaults={"key": key, "confirmed": True}
    )
    return base64.b32encode(bytes.fromhex(key)).decode()


class Command(BaseCommand):
    help = "Load the demo data (idempotent) and print every demo login."

    def handle(self, *args, **options):
        password = settings.DEMO_PASSWORD
        system = Actor.system()
        # The demo's own notifications are real outbox rows, but their emails stay quiet:
        # the console is for the sign-in codes a tester needs.
        with (
            override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"),
            transaction.atomic(),
        ):
            first_load = not Patient.objects.filter(nir=with_key(PATIENTS[0][1])).exists()
            spaces, accounts, pros = {}, [], {}
            for key, nir13, last, first, born, sex, serial, email in PATIENTS:
                patient = Patient.objects.filter(nir=with_key(nir13)).first()
                if patient is None:
                    space = services.enrol_person(
                        nir=with_key(nir13),
                        last_name=last,
                        first_names=first,
                        birth_date=born,
                        sex=sex,
                        carte_vitale_serial=serial,
                        email=email,
                        postal_address="12 rue de la Paix\n44000 Nantes",
                        announce=False,
                        by=system,
                    )
                    if email:
                        services.open_account(
                            space=space, email=email, password=password, by=system
                        )
                    patient = space.holder
                spaces[key] = Space.objects.get(holder=patient)  # as the services left it
                if email:
                    accounts.append(("Patient", f"{first} {last}", email, ""))
            camille = User.objects.get(email=PATIENTS[0][7])
            services.add_legal_representative(space=spaces["leo"], user=camille, by=system)

            for key, first, last, prefix, profession, specialty, town in PROFESSIONALS:
                email = f"{key}@{DOMAIN}"
                professional = Professional.objects.filter(user__email=email).first()
                if professional is None:
                    professional = acces_services.register_professional(
                        email=email,
                        first_name=first,
                        last_name=last,
                        rpps=luhn_complete(prefix),
                        profession=profession,
                        specialty=specialty,
                        practice_name=f"Cabinet {last}",
                        practice_town=town,
                        password=password,
                        by=system,
                    )
                pros[key] = professional
                secret = ensure_totp(professional.user)
                accounts.append(("Professionnel", professional.title, email, secret))

            acces_services.designate_attending_physician(
                space=spaces["camille"], professional=pros["generaliste"], by=system
            )
            acces_services.designate_attending_physician(
                space=spaces["leo"], professional=pros["generaliste"], by=system
            )
            acces_services.grant_access(
                space=spaces["camille"],
                professional=pros["cardiologue"],
                basis=CareRelation.Basis.AUTHORISED,
                by=system,
            )
            acces_services.grant_access(
                space=spaces["camille"],
                professional=pros["infirmier"],
                basis=CareRelation.Basis.CARE_TEAM,
                by=system,
            )

            agent_email = f"agent.cpam@{DOMAIN}"
            agent = User.objects.filter(email=agent_email).first()
            if agent is None:
                agent = acces_services.create_agent(
                    email=agent_email,
                    first_name="Nadia",
                    last_name="Garnier",
                    password=password,
                    by=system,
                )
            accounts.append(("Agent CPAM", agent.get_full_name(), agent_email, ensure_totp(agent)))

            if first_load:
                self._simulate_activity(spaces, pros)
            self._messages(spaces["camille"], pros)
            self._agenda(spaces, pros)
            accounts.append(self._catalogue(system, password))
            journeys = self._lifecycle_people(system, password, first_load)
            journeys += self._minor_to_activate(spaces["leo"], system)

        self._print(accounts, password)
        self._print_journeys(journeys)

    def _simulate_activity(self, spaces, pros):
        """A filled DMP, a pharmacist who declared consent, the sample directory, and a few
        consultations, allowed and refused, as the history pages would show them."""
        from acces import directory
        from dossier import demo as dossier_demo  # the demo is glue, like urls.py

        dossier_demo.load(spaces["camille"], pros)
        pharmacist = pros["pharmacien"]
        acces_services.declare_consent(
            space=spaces["camille"],
            professional=pharmacist,
            by=Actor(user=pharmacist.user, role=pharmacist.user.kind, ip="192.0.2.10"),
        )
        directory.import_file(
            settings.BASE_DIR / "docs" / "exemples" / "professionnels.csv", by=Actor.system()
        )
        for key, space in [
            ("generaliste", spaces["camille"]),
            ("cardiologue", spaces["camille"]),
            ("pharmacien", spaces["camille"]),
            ("urgentiste", spaces["camille"]),  # no basis: refused, as the history shows
            ("generaliste", spaces["leo"]),
        ]:
            user = pros[key].user
            acces_services.check_and_trace(
                actor=Actor(user=user, role=user.kind, ip="192.0.2.10"),
                space=space,
                action=Action.VIEW_SPACE,
            )

    def _messages(self, space, pros):
        """Camille's conversations with her GP and her pharmacy (once, even on a demo
        database loaded before the messaging existed)."""
        from messagerie import demo as messagerie_demo  # the demo is glue, like urls.py

        messagerie_demo.load(Space.objects.get(pk=space.pk), pros)

    def _agenda(self, spaces, pros):
        """Appointments, a history of care and prevention reminders (idempotent)."""
        from agenda import demo as agenda_demo  # the demo is glue, like urls.py

        agenda_demo.load(spaces, pros)

    def _catalogue(self, system, password):
        """The three referenced demo services and a referencing staff account (idempotent)."""
        from catalogue.directory import demo as catalogue_demo  # glue, like urls.py

        catalogue_demo.load()
        staff = catalogue_demo.load_staff(
            email=f"referencement@{DOMAIN}", password=password, by=system
        )
        return (
            "Référencement des services",
            staff.get_full_name(),
            staff.email,
            ensure_totp(staff),
        )

    def _lifecycle_people(self, system, password, first_load):
        """People at other points of the lifecycle, each with a fresh code to try the journeys.

        Codes are stored hashed, so each run issues new ones (the old ones stop working);
        a person whose journey was tried is put back at its start first.
        """
        journeys = []
        for key, nir13, last, first, born, sex, serial, state, purpose in LIFECYCLE_PEOPLE:
            nir = with_key(nir13)
            patient = Patient.objects.filter(nir=nir).first()
            if patient is None:
                space = services.enrol_person(
                    nir=nir,
                    last_name=last,
                    first_names=first,
                    birth_date=born,
                    sex=sex,
                    carte_vitale_serial=serial,
                    email=f"{key}@{DOMAIN}",
                    postal_address="3 place du Commerce\n44000 Nantes",
                    announce=False,
                    by=system,
                )
                if state == Space.State.CREATED:
                    lifecycle.sweep_announced(now=space.opposition_deadline)
                elif state == Space.State.CLOSED:
                    services.open_account(
                        space=space, email=f"{key}@{DOMAIN}", password=password, by=system
                    )
                    lifecycle.close(
                        space=Space.objects.get(pk=space.pk), by=system, reason="démonstration"
                    )
                patient = Patient.objects.get(nir=nir)
            space = Space.objects.get(holder=patient)
            self._back_to_start(space, state, key=key, password=password, by=system)
            patient = Patient.objects.select_related("user").get(pk=patient.pk)
            code = lifecycle.issue_code(space=space, channel="email", by=system)
            account = f"  (compte : {patient.user.email})" if patient.user_id else ""
            journeys.append((purpose, f"{first} {last}", nir, serial, f"{code}{account}"))
        return journeys

    def _back_to_start(self, space, state, *, key, password, by):
        """Put a lifecycle person back where their journey starts, if an earlier try moved
        them on (activated, opposed, reactivated…), so every run offers the three journeys.

        Demo glue only: the space is set directly to its starting state and the trail says
        so; an account opened by the journey is retired (kept for the trail, unusable).
        """
        patient = space.holder
        email = f"{key}@{DOMAIN}"
        if state == Space.State.CLOSED:
            user = patient.user
            if user.email != email or not user.check_password(password) or not user.is_active:
                user.email, user.is_active = email, True
                user.set_password(password)
                user.save(update_fields=["email", "is_active", "password"])
            if space.state == Space.State.CLOSED and not space.deletion_due_at:
                return
            if space.state in (Space.State.ACTIVE, Space.State.CREATED, Space.State.SUSPENDED):
                lifecycle.close(space=space, by=by, reason="démonstration")
                return
        elif space.state == state and patient.user_id is None:
            return
        if state != Space.State.CLOSED and patient.user_id:
            retired = patient.user
            Patient.objects.filter(pk=patient.pk).update(user=None)
            retired.email = f"compte-retire-{retired.pk}@demo-retire.invalid"
            retired.is_active = False
            retired.set_unusable_password()
            retired.save(update_fields=["email", "is_active", "password"])
        now = timezone.now()
        previous = space.state
        Space.objects.filter(pk=space.pk).update(
            state=state,
            state_changed_at=now,
            opposition_deadline=(
                lifecycle.announce_deadline(now)
                if state == Space.State.ANNOUNCED
                else space.opposition_deadline
            ),
            closed_at=now if state == Space.State.CLOSED else None,
            retention_until=(
                lifecycle.retention_end(patient, closed_on=timezone.localdate(now))
                if state == Space.State.CLOSED
                else None
            ),
            deletion_due_at=None,
        )
        trace(
            actor=by,
            action=SpaceAction.DEMO_RESET,
            space=space,
            target=space,
            detail={"from": previous, "to": state},
        )

    def _minor_to_activate(self, space, system):
        """Léo's space, not activated yet: Camille, signed in, activates it with this code."""
        space.refresh_from_db()
        if space.holder.user_id or space.state not in (Space.State.ANNOUNCED, Space.State.CREATED):
            return []
        code = lifecycle.issue_code(space=space, channel="letter", by=system)
        holder = space.holder
        return [
            (
                "Activer l'espace d'un enfant (connecté comme Camille) : "
                + reverse("espace_sante:space", args=[space.public_id]),
                holder.display_name,
                holder.nir,
                holder.carte_vitale_serial,
                code,
            )
        ]

    def _print_journeys(self, journeys):
        if not journeys:
            return
        out = self.stdout
        out.write("")
        out.write("Parcours du cycle de vie (NIR, n° de série de carte Vitale, code provisoire) :")
        for purpose, name, nir, serial, code in journeys:
            out.write(f"  {purpose:<34} {name:<20} NIR {nir}  carte {serial}  code {code}")

    def _print(self, accounts, password):
        out = self.stdout
        out.write(self.style.SUCCESS("Données de démonstration prêtes."))
        out.write(f"Mot de passe de tous les comptes de démonstration : {password}")
        out.write("(les patients reçoivent un code par e-mail, affiché dans cette console ;")
        out.write(" les professionnels et l'agent saisissent le code TOTP de leur secret,")
        out.write(" ou `python manage.py totp_code EMAIL` l'affiche)")
        out.write("")
        for role, name, email, secret in accounts:
            line = f"  {role:<14} {name:<48} {email}"
            if secret:
                line += f"   TOTP : {secret}"
            out.write(line)
        out.write("")
        site = settings.SITE_URL.rstrip("/")  # `make run PORT=…` sets it to what it serves
        out.write(f"Patient : {site}/   Professionnel : {site}/pro/   Agent : {site}/admin/")
        _key, nir13, last, first, born = PATIENTS[1][:5]
        out.write(
            f"Recherche d'un patient par un professionnel (/pro/patients/recherche/) : {first} "
            f"{last}, INS {with_key(nir13)}, né le {born:%d/%m/%Y}"
        )
