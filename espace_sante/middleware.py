from django.shortcuts import redirect
from django.urls import reverse

# Reachable while signed in with the password only (the second factor is pending).
_OPEN_PREFIXES = (
    "/static/",
    "/connexion/verification/",
    "/connexion/totp/",
    "/comptes/logout/",
    "/favicon.ico",
)


class SecondFactorRequiredMiddleware:
    """No page past sign-in until the second factor is verified.

    Professionals and staff must have verified with a TOTP device, patients
    with their email code or their optional TOTP.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if (
            user.is_authenticated
            and not self._verified(user)
            and not request.path.startswith(_OPEN_PREFIXES)
        ):
            return redirect(f"{reverse('espace_sante:verify')}?next={request.get_full_path()}")
        return self.get_response(request)

    @staticmethod
    def _verified(user) -> bool:
        if not user.is_verified():
            return False
        if user.needs_totp:
            return user.otp_device.persistent_id.startswith("otp_totp.")
        return True
