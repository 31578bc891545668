"""factory_boy factories: a valid identity, a space, accounts of each kind."""

import itertools
from datetime import date

import factory
from django_otp.plugins.otp_totp.models import TOTPDevice

from acces.models import CareRelation, Professional
from acces.validators import luhn_complete
from espace_sante.identity import with_key
from espace_sante.models import LegalRepresentative, Patient, Space, User

PASSWORD = "Un-mot-de-passe-solide-2026"
_nir_counter = itertools.count(1)
_rpps_counter = itertools.count(1)


def next_nir(sex="2", born=date(1980, 5, 17), department="44") -> str:
    # Thirteen digits whatever the count: the birth order (001-999) rolls over into the
    # commune (109 onwards), so a long run of the suite never makes a 14-digit NIR.
    count = next(_nir_counter) - 1
    commune, order = 109 + count // 999, count % 999 + 1
    nir13 = f"{sex}{born:%y}{born:%m}{department}{commune:03d}{order:03d}"
    return with_key(nir13)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"personne{n}@exemple.fr")
    first_name = "Alice"
    last_name = factory.Sequence(lambda n: f"Nom{n}")
    kind = User.Kind.PATIENT
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def persist_password(obj, create, extracted, **kwargs):
        if create:
            obj.save(update_fields=["password"])


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    nir = factory.LazyFunction(next_nir)
    last_name = factory.Sequence(lambda n: f"Titulaire{n}")
    first_names = "Alice Jeanne"
    birth_date = date(1980, 5, 17)
    sex = Patient.Sex.FEMALE
    carte_vitale_serial = factory.Sequence(lambda n: f"{1000000000 + n}")
    email = factory.LazyAttribute(lambda o: f"{o.last_name.lower()}@exemple.fr")
    user = factory.SubFactory(
        UserFactory,
        email=factory.LazyAttribute(lambda o: o.factory_parent.email),
        last_name=factory.LazyAttribute(lambda o: o.factory_parent.last_name),
    )


class SpaceFactory(factory.django.DjangoModelFactory):
    """An active space (the state is set directly here only: tests need a starting point)."""

    class Meta:
        model = Space

    holder = factory.SubFactory(PatientFactory)
    state = Space.State.ACTIVE


class MinorSpaceFactory(SpaceFactory):
    holder = factory.SubFactory(
        PatientFactory, birth_date=date(2016, 2, 1), user=None, email="", first_names="Enfant"
    )


class LegalRepresentativeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LegalRepresentative

    space = factory.SubFactory(MinorSpaceFactory)
    user = factory.SubFactory(UserFactory)


class ProfessionalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Professional

    user = factory.SubFactory(
        UserFactory,
        kind=User.Kind.PROFESSIONAL,
        first_name="Paul",
        email=factory.Sequence(lambda n: f"pro{n}@exemple.fr"),
    )
    rpps = factory.LazyFunction(lambda: luhn_complete(f"{2000000000 + next(_rpps_counter)}"))
    profession = "medecin"
    specialty = "medecine_generale"
    practice_town = "Nantes"


class CareRelationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CareRelation

    space = factory.SubFactory(SpaceFactory)
    professional = factory.SubFactory(ProfessionalFactory)
    basis = CareRelation.Basis.AUTHORISED


class AgentFactory(UserFactory):
    kind = User.Kind.AGENT
    is_staff = True
    email = factory.Sequence(lambda n: f"agent{n}@cpam.exemple.fr")


class TOTPDeviceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TOTPDevice

    user = factory.SubFactory(UserFactory)
    name = "application"
    confirmed = True


PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def make_document(space, *, by_user=None, professional=None, type_code="11502-2", **flags):
    """A stored, encrypted document through the service (as real use would create it)."""
    from datetime import date

    from dossier.services import add_document
    from espace_sante.tracing import Actor

    user = by_user or (professional.user if professional else space.holder.user)
    title = flags.pop("title", "Bilan sanguin")
    masked = flags.pop("masked", False)
    document = add_document(
        space=space,
        type_code=type_code,
        title=title,
        act_date=date(2026, 1, 15),
        data=flags.pop("data", PDF_BYTES),
        by=Actor(user=user, role=user.kind),
        author_professional=professional,
        **flags,
    )
    if masked:
        document.masked = True
        document.save(update_fields=["masked"])
    return document
