"""Sign-ins and sign-outs are traced like every other action (in the actor's own chain)."""

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from acces.models import AuditEvent
from espace_sante.actions import SpaceAction
from espace_sante.identity_providers import signing_in_with
from espace_sante.tracing import Actor, client_ip, trace


@receiver(user_logged_in)
def trace_sign_in(sender, request, user, **kwargs):
    if request is not None and signing_in_with(request):
        return  # traced as a sign-in through the identity provider, with its `acr`
    trace(
        actor=Actor(user=user, role=user.kind, ip=client_ip(request)),
        action=SpaceAction.SIGN_IN_PASSWORD,
    )


@receiver(user_logged_out)
def trace_sign_out(sender, request, user, **kwargs):
    if user is not None:
        trace(
            actor=Actor(user=user, role=user.kind, ip=client_ip(request)),
            action=SpaceAction.SIGN_OUT,
        )


@receiver(user_login_failed)
def trace_failed_sign_in(sender, credentials, request=None, **kwargs):
    # The typed identifier is not stored: it may be someone else's address, or a password.
    ip = client_ip(request) if request is not None else None
    trace(
        actor=Actor(user=None, role=Actor.ANONYMOUS, ip=ip),
        action=SpaceAction.SIGN_IN_PASSWORD,
        outcome=AuditEvent.Outcome.DENIED,
    )
