from django.conf import settings


def portal(request):
    """Which front door the page belongs to, for the header and navigation."""
    path = request.path
    if path.startswith("/pro/"):
        portal_name = "pro"
    else:
        portal_name = "patient"
    return {"portal": portal_name, "DEBUG": settings.DEBUG}
