"""The medical profile in the pro portal: read only, through the same policy and trail."""

from django.urls import path

from dossier import profile_views as views

app_name = "pro_profil"

urlpatterns = [
    path("", views.pro_profile, name="profile"),
    path("courbes/", views.pro_measurements, name="measurements"),
    path("historique/", views.pro_history, name="changes"),
]
