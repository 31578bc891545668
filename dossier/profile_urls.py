from django.urls import path

from dossier import profile_views as views
from dossier.profile import ENTRY_PARTS, SINGLE_PARTS

app_name = "profil"

urlpatterns = [
    path("", views.profile, name="profile"),
    path("courbes/", views.measurements, name="measurements"),
    path("historique/", views.history, name="changes"),
    path("synthese.pdf", views.summary_pdf, name="summary_pdf"),
    path("carte-urgence.pdf", views.emergency_card_pdf, name="emergency_card_pdf"),
    *(
        path(f"{p.slug}/", views.edit_single, {"part": p.key}, name=p.key)
        for p in SINGLE_PARTS.values()
    ),
    *(
        path(f"{p.slug}/", views.edit_entry, {"part": p.key}, name=p.key)
        for p in ENTRY_PARTS.values()
    ),
]
