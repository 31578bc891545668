"""The pages every public service has (linked from the footer)."""

from django.conf import settings
from django.shortcuts import render

from espace_sante.context_processors import ACCESSIBILITY_STATUS
from espace_sante.db import replica_reads


def _site(request) -> dict:
    return {
        "publisher": settings.SITE_PUBLISHER,
        "publication_director": settings.SITE_PUBLICATION_DIRECTOR,
        "host": settings.SITE_HOST,
        "contact_email": settings.SITE_CONTACT_EMAIL,
        "dpo_email": settings.SITE_DPO_EMAIL,
        "site_url": settings.SITE_URL,
        "accessibility_status": ACCESSIBILITY_STATUS,
    }


@replica_reads
def accessibility(request):
    return render(request, "espace_sante/pages/accessibility.html", {"site": _site(request)})


@replica_reads
def legal_notices(request):
    return render(request, "espace_sante/pages/legal.html", {"site": _site(request)})


@replica_reads
def personal_data(request):
    return render(request, "espace_sante/pages/personal_data.html", {"site": _site(request)})
