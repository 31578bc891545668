"""Who the policy decides for: a person, with the assurance of their sign-in, or an app
or a professional's software acting for that person within the scopes it was granted."""

from __future__ import annotations

from dataclasses import dataclass, field

from espace_sante.assurance import AssuranceLevel, acr_of, level_of, required_level
from espace_sante.models import User


@dataclass(frozen=True)
class Principal:
    user: User | None
    # How strongly the sign-in proved it is them (`espace_sante.assurance`).
    assurance: AssuranceLevel = AssuranceLevel.PASSWORD
    acr: str = ""
    # The OAuth2 client acting for the person (a catalogue app, a professional's software),
    # and the scopes the person granted it; empty when the person acts themself.
    app_id: str = ""
    scopes: frozenset[str] = field(default_factory=frozenset)
    # For an app: whether the person let it see the documents masked from professionals
    # (`catalogue.models.Connection.shows_masked_documents`).
    shows_masked: bool = False

    @property
    def is_app(self) -> bool:
        return bool(self.app_id)

    @classmethod
    def of_user(cls, user: User | None, assurance: AssuranceLevel | None = None) -> Principal:
        """`user` acting themself. Without a level given, the one their kind needs to reach
        any page (the middleware holds every request to it): what code outside a request,
        and callers that pass a bare User to the policy, may assume."""
        return cls(user=user, assurance=_assumed(user, assurance))

    @classmethod
    def from_request(cls, request) -> Principal:
        """The signed-in person, at the level this session's sign-in reached."""
        user = request.user if request.user.is_authenticated else None
        level = level_of(request) or AssuranceLevel.PASSWORD
        return cls(user=user, assurance=level, acr=acr_of(request))

    @classmethod
    def app_for(
        cls,
        user: User,
        app_id: str,
        scopes,
        assurance: AssuranceLevel | None = None,
        acr: str = "",
        shows_masked: bool = False,
    ) -> Principal:
        """The app or software `app_id` acting for `user` with the `scopes` they granted."""
        if not app_id:
            raise ValueError("An app principal needs its client id.")
        return cls(
            user=user,
            assurance=_assumed(user, assurance),
            acr=acr,
            app_id=app_id,
            scopes=frozenset(scopes),
            shows_masked=shows_masked,
        )


def _assumed(user: User | None, assurance: AssuranceLevel | None) -> AssuranceLevel:
    if assurance is not None:
        return assurance
    if user is None or not user.is_authenticated:
        return AssuranceLevel.PASSWORD
    return required_level(user)


def principal_of(actor: Principal | User | None) -> Principal:
    """`actor` as a principal: a bare User (or None) is wrapped, for older callers."""
    return actor if isinstance(actor, Principal) else Principal.of_user(actor)
