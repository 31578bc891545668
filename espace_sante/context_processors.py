from django.conf import settings


def portal(request):
    """Which front door the page belongs to, for the header and navigation."""
    return {
        "portal": "pro" if request.path.startswith("/pro/") else "patient",
        "DEBUG": settings.DEBUG,
    }
